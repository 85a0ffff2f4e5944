import {
  type Activation,
  align,
  type BufferDtype,
  type BufferRef,
  type CsrKernel,
  type DenseKernel,
  type Conv2dLayerHeader,
  type DenseLayerHeader,
  FORMAT,
  FORMAT_VERSION,
  HEADER_PREFIX_BYTES,
  type LayerHeader,
  type SparseHeader,
} from './format.js';
import { toFloat16 } from './float16.js';

/** A fully connected layer to store, as lth holds it. */
export interface DenseLayerInput {
  name: string;
  inputs: number;
  units: number;
  activation: Activation;
  /** [inputs, units], row-major. */
  kernel: Float32Array;
  /** 1 = kept, 0 = pruned, per kernel entry; without it, the non-zero entries are kept. */
  mask?: Uint8Array;
  bias: Float32Array;
}

/** A 2D convolution to store (NHWC), as lth holds it: kernel [kh, kw, channels, filters], row-major. */
export interface Conv2dLayerInput {
  type: 'conv2d';
  name: string;
  filters: number;
  kernelSize: [number, number];
  stride?: number;
  activation: Activation;
  kernel: Float32Array;
  mask?: Uint8Array;
  bias?: Float32Array;
}

/** Max-pooling over size × size windows at stride size. */
export interface MaxPoolLayerInput {
  type: 'maxpool';
  size: number;
}

/** A layer to store: dense (the default when `type` is absent), conv2d or maxpool. */
export type LayerInput = (DenseLayerInput & { type?: 'dense' }) | Conv2dLayerInput | MaxPoolLayerInput;

export interface EncodeOptions {
  /**
   * `auto` (default): CSR where it is smaller than the dense kernel, else dense; `csr` or `dense`
   * for every layer.
   */
  layout?: 'auto' | 'csr' | 'dense';
  /** Kernel values as `float32` (default) or `float16` (half the bytes; biases stay float32). */
  values?: 'float32' | 'float16';
}

/** Buffers laid out one after the other in the data section, each 8-aligned. */
class DataWriter {
  readonly parts: { at: number; bytes: Uint8Array }[] = [];
  size = 0;
  /** Kernel values in the chosen precision. */
  constructor(readonly half: boolean) {}
  addValues(values: Float32Array): BufferRef {
    return this.half ? this.add('F16', Uint16Array.from(values, toFloat16)) : this.add('F32', values);
  }
  add(dtype: BufferDtype, data: Float32Array | Uint16Array | Uint32Array): BufferRef {
    const at = align(this.size);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.parts.push({ at, bytes });
    this.size = at + bytes.byteLength;
    return { dtype, offsets: [at, this.size] };
  }
}

type KernelInput = Pick<DenseLayerInput, 'inputs' | 'units' | 'kernel' | 'mask'>;

const kept = (layer: KernelInput, i: number) => (layer.mask ? layer.mask[i] === 1 : layer.kernel[i] !== 0);

/** CSR over output units (the transpose of [inputs, units]): indices are input positions. */
function csr(layer: KernelInput, data: DataWriter): CsrKernel {
  const { inputs, units, kernel } = layer;
  const rowPtr = new Uint32Array(units + 1);
  for (let i = 0; i < inputs; i++) for (let o = 0; o < units; o++) if (kept(layer, i * units + o)) rowPtr[o + 1]!++;
  for (let o = 0; o < units; o++) rowPtr[o + 1]! += rowPtr[o]!;
  const nnz = rowPtr[units]!;
  const indices = inputs <= 65536 ? new Uint16Array(nnz) : new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  const next = rowPtr.slice(0, units);
  // Row by row of the stored kernel, so the indices of each output unit come out ascending.
  for (let i = 0; i < inputs; i++) {
    for (let o = 0; o < units; o++) {
      if (!kept(layer, i * units + o)) continue;
      const at = next[o]!++;
      indices[at] = i;
      values[at] = kernel[i * units + o]!;
    }
  }
  return {
    layout: 'csr',
    shape: [units, inputs],
    nnz,
    rowPtr: data.add('U32', rowPtr),
    indices: data.add(indices instanceof Uint16Array ? 'U16' : 'U32', indices),
    values: data.addValues(values),
  };
}

function dense(layer: KernelInput, data: DataWriter): DenseKernel {
  const values = layer.kernel.map((v, i) => (kept(layer, i) ? v : 0));
  let nnz = 0;
  for (let i = 0; i < values.length; i++) if (kept(layer, i)) nnz++;
  return { layout: 'dense', shape: [layer.inputs, layer.units], nnz, values: data.addValues(values) };
}

/** Bytes of a CSR kernel with `nnz` entries, to choose the smaller layout. */
function csrBytes(layer: KernelInput, nnz: number, valueBytes: number): number {
  return (layer.units + 1) * 4 + nnz * ((layer.inputs <= 65536 ? 2 : 4) + valueBytes) + 2 * 8;
}

function check(layer: DenseLayerInput): void {
  const size = layer.inputs * layer.units;
  if (layer.kernel.length !== size) throw new Error(`layer ${layer.name}: kernel has ${layer.kernel.length} values, not ${layer.inputs}x${layer.units}`);
  if (layer.mask && layer.mask.length !== size) throw new Error(`layer ${layer.name}: mask has ${layer.mask.length} entries, not ${size}`);
  if (layer.bias.length !== layer.units) throw new Error(`layer ${layer.name}: bias has ${layer.bias.length} values, not ${layer.units}`);
}

/** The kernel in the smaller layout (or the one asked for). */
function storeKernel(layer: KernelInput, data: DataWriter, options: EncodeOptions): CsrKernel | DenseKernel {
  const valueBytes = options.values === 'float16' ? 2 : 4;
  let nnz = 0;
  for (let i = 0; i < layer.kernel.length; i++) if (kept(layer, i)) nnz++;
  const layout = options.layout ?? 'auto';
  const useCsr = layout === 'csr' || (layout === 'auto' && csrBytes(layer, nnz, valueBytes) < layer.kernel.length * valueBytes);
  return useCsr ? csr(layer, data) : dense(layer, data);
}

/** Output [height, width, channels] of a convolution or pooling on `shape`. */
export function convOutputShape(shape: [number, number, number], kernelSize: [number, number], stride: number, filters: number): [number, number, number] {
  const out = (n: number, k: number) => Math.floor((n + 2 * Math.floor((k - 1) / 2) - k) / stride) + 1;
  return [out(shape[0], kernelSize[0]), out(shape[1], kernelSize[1]), filters];
}

/**
 * The bytes of an lth sparse model file: layers input side first (dense, or conv2d and maxpool
 * on NHWC inputs before the first dense layer) with only the kept weights stored. `metadata` is
 * recorded in the header as given.
 */
export function encodeSparseModel(
  model: { inputShape: number[]; layers: LayerInput[]; metadata?: Record<string, unknown> },
  options: EncodeOptions = {},
): Uint8Array {
  const data = new DataWriter(options.values === 'float16');
  // An image's [h, w, c] until the first dense layer flattens it.
  let shape: [number, number, number] | undefined = model.inputShape.length === 3 ? (model.inputShape as [number, number, number]) : undefined;
  let inputs = model.inputShape.reduce((a, b) => a * b, 1);
  const layers: LayerHeader[] = model.layers.map((layer): LayerHeader => {
    if (layer.type === 'conv2d' || layer.type === 'maxpool') {
      const name = layer.type === 'conv2d' ? layer.name : 'maxpool';
      if (!shape) throw new Error(`layer ${name}: a ${layer.type} layer needs an [height, width, channels] input, and the layer before it gives ${inputs} features`);
      const inputShape = shape;
      if (layer.type === 'maxpool') {
        shape = [Math.floor(shape[0] / layer.size), Math.floor(shape[1] / layer.size), shape[2]];
        inputs = shape[0] * shape[1] * shape[2];
        return { type: 'maxpool', inputShape, size: layer.size };
      }
      const stride = layer.stride ?? 1;
      const k = { inputs: layer.kernelSize[0] * layer.kernelSize[1] * shape[2], units: layer.filters, kernel: layer.kernel, mask: layer.mask };
      if (layer.kernel.length !== k.inputs * k.units) throw new Error(`layer ${layer.name}: kernel has ${layer.kernel.length} values, not ${layer.kernelSize.join('x')}x${shape[2]}x${layer.filters}`);
      if (layer.mask && layer.mask.length !== layer.kernel.length) throw new Error(`layer ${layer.name}: mask has ${layer.mask.length} entries, not ${layer.kernel.length}`);
      if (layer.bias && layer.bias.length !== layer.filters) throw new Error(`layer ${layer.name}: bias has ${layer.bias.length} values, not ${layer.filters}`);
      shape = convOutputShape(shape, layer.kernelSize, stride, layer.filters);
      inputs = shape[0] * shape[1] * shape[2];
      const header: Conv2dLayerHeader = { type: 'conv2d', name: layer.name, inputShape, filters: layer.filters, kernelSize: layer.kernelSize, stride, activation: layer.activation, kernel: storeKernel(k, data, options) };
      if (layer.bias) header.bias = data.add('F32', layer.bias);
      return header;
    }
    check(layer);
    if (layer.inputs !== inputs) throw new Error(`layer ${layer.name} takes ${layer.inputs} inputs, but the layer before it gives ${inputs}`);
    inputs = layer.units;
    shape = undefined;
    const header: DenseLayerHeader = { type: 'dense', name: layer.name, inputs: layer.inputs, units: layer.units, activation: layer.activation, kernel: storeKernel(layer, data, options), bias: data.add('F32', layer.bias) };
    return header;
  });
  const header: SparseHeader = { format: FORMAT, version: FORMAT_VERSION, inputShape: model.inputShape, layers, metadata: model.metadata ?? {} };
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = align(HEADER_PREFIX_BYTES + json.byteLength) - HEADER_PREFIX_BYTES;
  const text = new Uint8Array(padded).fill(0x20);
  text.set(json);
  json = text;
  const out = new Uint8Array(HEADER_PREFIX_BYTES + json.byteLength + data.size);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, HEADER_PREFIX_BYTES);
  const base = HEADER_PREFIX_BYTES + json.byteLength;
  for (const p of data.parts) out.set(p.bytes, base + p.at);
  return out;
}
