import {
  type Activation,
  ALIGN,
  type BufferRef,
  type CsrKernel,
  type DenseKernel,
  DTYPE_BYTES,
  FORMAT,
  FORMAT_VERSION,
  HEADER_PREFIX_BYTES,
  type LayerHeader,
  type SparseHeader,
  SparseFormatError,
} from './format.js';
import { convOutputShape } from './encode.js';
import { fromFloat16 } from './float16.js';
import { type WasmLayer, WasmSpmm, wasmSimdAvailable } from './wasm-kernel.js';

/** A layer ready to run: typed views of its buffers, checked once at load. */
type Kernel =
  | { layout: 'csr'; rowPtr: Uint32Array; indices: Uint16Array | Uint32Array; values: Float32Array }
  | { layout: 'dense'; values: Float32Array };

type Shape3 = [number, number, number];

interface DenseLayer {
  type: 'dense';
  /** The CSR kernel's copy in the WebAssembly kernel's memory, when that kernel is in use. */
  wasm?: WasmLayer;
  name: string;
  inputs: number;
  units: number;
  /** Features out per example (= units). */
  outputs: number;
  activation: Activation;
  kernel: Kernel;
  bias: Float32Array;
}

/** A convolution: its kernel is a dense layer's over inputs kh·kw·c and units = filters. */
interface ConvLayer {
  type: 'conv2d';
  name: string;
  in: Shape3;
  out: Shape3;
  kernelSize: [number, number];
  stride: number;
  outputs: number;
  activation: Activation;
  kernel: Kernel;
  bias?: Float32Array;
}

interface PoolLayer {
  type: 'maxpool';
  name: string;
  in: Shape3;
  out: Shape3;
  size: number;
  outputs: number;
}

type Layer = DenseLayer | ConvLayer | PoolLayer;

const fail = (message: string): never => {
  throw new SparseFormatError(`lth sparse model: ${message}`);
};

function parseHeader(bytes: Uint8Array): { header: SparseHeader; dataStart: number } {
  if (bytes.byteLength < HEADER_PREFIX_BYTES) fail(`the file has ${bytes.byteLength} bytes, fewer than the 8 of the header length (truncated, or not an lth sparse model)`);
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (length > BigInt(bytes.byteLength - HEADER_PREFIX_BYTES)) fail(`the header length (${length} bytes) runs past the end of the file (${bytes.byteLength} bytes): truncated, or not an lth sparse model`);
  const dataStart = HEADER_PREFIX_BYTES + Number(length);
  let header: SparseHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER_PREFIX_BYTES, dataStart))) as SparseHeader;
  } catch (error) {
    return fail(`the header is not JSON (${(error as Error).message}); the file is damaged or not an lth sparse model`);
  }
  if (header?.format !== FORMAT) fail(`the header's format is ${JSON.stringify(header?.format)}, not "${FORMAT}"`);
  if (header.version !== FORMAT_VERSION) fail(`format version ${header.version} is not supported (this runtime reads version ${FORMAT_VERSION})`);
  if (!Array.isArray(header.inputShape) || !header.inputShape.every((d) => Number.isInteger(d) && d > 0)) fail('inputShape must be an array of positive integers');
  if (!Array.isArray(header.layers) || header.layers.length === 0) fail('the header lists no layers');
  return { header, dataStart };
}

/** A typed view of one buffer (a copy where the file's bytes are not aligned for it). */
function view<T extends Float32Array | Uint16Array | Uint32Array>(bytes: Uint8Array, dataStart: number, ref: BufferRef | undefined, what: string, count: number): T {
  if (!ref || !Array.isArray(ref.offsets) || !(ref.dtype in DTYPE_BYTES)) return fail(`${what}: a buffer needs "dtype" (F32, U16, U32) and "offsets" [start, end]`);
  const [start, end] = ref.offsets;
  const size = DTYPE_BYTES[ref.dtype];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) fail(`${what}: offsets [${start}, ${end}] are not a byte range`);
  if (dataStart + end > bytes.byteLength) fail(`${what}: offsets [${start}, ${end}] run past the end of the data (${bytes.byteLength - dataStart} bytes): the file is truncated`);
  if (end - start !== count * size) fail(`${what}: ${end - start} bytes, but ${count} ${ref.dtype} values take ${count * size}`);
  const at = bytes.byteOffset + dataStart + start;
  const copy = at % ALIGN === 0 ? bytes.buffer : bytes.slice(dataStart + start, dataStart + end).buffer;
  const offset = copy === bytes.buffer ? at : 0;
  switch (ref.dtype) {
    case 'F32':
      return new Float32Array(copy, offset, count) as T;
    case 'U16':
    case 'F16':
      return new Uint16Array(copy, offset, count) as T;
    default:
      return new Uint32Array(copy, offset, count) as T;
  }
}

/** Kernel values as float32: F32 in place, F16 widened once at load. */
function kernelValues(bytes: Uint8Array, dataStart: number, ref: BufferRef | undefined, what: string, count: number): Float32Array {
  if (ref?.dtype === 'F16') return Float32Array.from(view<Uint16Array>(bytes, dataStart, ref, what, count), fromFloat16);
  if (ref?.dtype !== 'F32') return fail(`${what}: dtype must be F32 or F16, not ${JSON.stringify(ref?.dtype)}`);
  return view<Float32Array>(bytes, dataStart, ref, what, count);
}

/** A kernel stored like a dense layer's ([inputs, units]; CSR over units), checked. */
function readKernel(bytes: Uint8Array, dataStart: number, k: CsrKernel | DenseKernel | undefined, inputs: number, units: number, what: string): Kernel {
  if (k?.layout === 'dense') return { layout: 'dense', values: kernelValues(bytes, dataStart, k.values, `${what} kernel values`, inputs * units) };
  if (k?.layout !== 'csr') return fail(`${what}: kernel layout ${JSON.stringify((k as { layout?: unknown } | undefined)?.layout)} is not csr or dense`);
  if (k.rowPtr?.dtype !== 'U32' || (k.indices?.dtype !== 'U16' && k.indices?.dtype !== 'U32')) fail(`${what} kernel: rowPtr must be U32, indices U16 or U32`);
  const rowPtr = view<Uint32Array>(bytes, dataStart, k.rowPtr, `${what} kernel rowPtr`, units + 1);
  const nnz = rowPtr[units]!;
  if (rowPtr[0] !== 0 || nnz !== k.nnz) fail(`${what} kernel: rowPtr must run from 0 to nnz (${k.nnz}), runs from ${rowPtr[0]} to ${nnz}`);
  for (let o = 0; o < units; o++) if (rowPtr[o + 1]! < rowPtr[o]!) fail(`${what} kernel: rowPtr decreases at unit ${o}`);
  const indices = view<Uint16Array | Uint32Array>(bytes, dataStart, k.indices, `${what} kernel indices`, nnz);
  for (let j = 0; j < nnz; j++) if (indices[j]! >= inputs) fail(`${what} kernel: index ${indices[j]} at entry ${j} is not below ${inputs} inputs`);
  return { layout: 'csr', rowPtr, indices, values: kernelValues(bytes, dataStart, k.values, `${what} kernel values`, nnz) };
}

const positive = (n: unknown) => Number.isInteger(n) && (n as number) > 0;

/**
 * One layer, checked against what the layer before it gives: `inputs` features per example, and
 * `shape` ([h, w, c]) while the input is still an image (before the first dense layer).
 */
function readLayer(bytes: Uint8Array, dataStart: number, h: LayerHeader, inputs: number, shape: Shape3 | undefined, index: number): Layer {
  const what = `layer ${index} (${(h as { name?: string })?.name ?? h?.type})`;
  if (h?.type === 'conv2d' || h?.type === 'maxpool') {
    if (!shape) return fail(`${what}: a ${h.type} layer needs an image input, but the layer before it gives ${inputs} features`);
    if (!Array.isArray(h.inputShape) || h.inputShape.join() !== shape.join()) fail(`${what} takes inputs of shape ${JSON.stringify(h.inputShape)}, but the layer before it gives ${shape.join('x')}`);
    if (h.type === 'maxpool') {
      if (!positive(h.size)) fail(`${what}: size must be a positive integer`);
      const out: Shape3 = [Math.floor(shape[0] / h.size), Math.floor(shape[1] / h.size), shape[2]];
      return { type: 'maxpool', name: 'maxpool', in: shape, out, size: h.size, outputs: out[0] * out[1] * out[2] };
    }
    if (!positive(h.filters) || !Array.isArray(h.kernelSize) || !h.kernelSize.every(positive) || !positive(h.stride)) fail(`${what}: filters, kernelSize and stride must be positive integers`);
    if (h.activation !== 'relu' && h.activation !== 'linear') fail(`${what}: activation ${JSON.stringify(h.activation)} is not relu or linear`);
    const out = convOutputShape(shape, h.kernelSize, h.stride, h.filters);
    if (!out.every((d) => d > 0)) fail(`${what}: a ${h.kernelSize.join('x')} kernel at stride ${h.stride} leaves no output of a ${shape.join('x')} input`);
    if (h.bias !== undefined && h.bias?.dtype !== 'F32') fail(`${what} bias: dtype must be F32`);
    const bias = h.bias ? view<Float32Array>(bytes, dataStart, h.bias, `${what} bias`, h.filters) : undefined;
    const kernel = readKernel(bytes, dataStart, h.kernel, h.kernelSize[0] * h.kernelSize[1] * shape[2], h.filters, what);
    return { type: 'conv2d', name: h.name, in: shape, out, kernelSize: h.kernelSize, stride: h.stride, outputs: out[0] * out[1] * out[2], activation: h.activation, kernel, bias };
  }
  if (h?.type !== 'dense') return fail(`${what}: type ${JSON.stringify((h as { type?: unknown } | undefined)?.type)} is not supported (this runtime runs "dense", "conv2d" and "maxpool" layers)`);
  if (h.inputs !== inputs) fail(`${what} takes ${h.inputs} inputs, but the layer before it gives ${inputs}`);
  if (!positive(h.units)) fail(`${what}: units must be a positive integer`);
  if (h.activation !== 'relu' && h.activation !== 'linear') fail(`${what}: activation ${JSON.stringify(h.activation)} is not relu or linear`);
  if (h.bias?.dtype !== 'F32') fail(`${what} bias: dtype must be F32`);
  const bias = view<Float32Array>(bytes, dataStart, h.bias, `${what} bias`, h.units);
  const kernel = readKernel(bytes, dataStart, h.kernel, h.inputs, h.units, what);
  return { type: 'dense', name: h.name, inputs: h.inputs, units: h.units, outputs: h.units, activation: h.activation, kernel, bias };
}

/**
 * One layer on a batch held feature-major (x[i * stride + b] is input i of example b; columns
 * past the batch are padding), so the inner loop runs over the batch contiguously. The JS
 * kernels accumulate in float64; the WebAssembly one (CSR only) in float32, 4 examples at once.
 */
function runLayer(layer: Layer, x: Float32Array, stride: number, wasm: WasmSpmm | undefined): Float32Array {
  if (layer.type === 'conv2d') return runConv(layer, x, stride);
  if (layer.type === 'maxpool') return runPool(layer, x, stride);
  const { units, inputs, kernel, bias } = layer;
  let acc: Float64Array | Float32Array;
  if (kernel.layout === 'csr' && wasm && layer.wasm) {
    acc = wasm.run(layer.wasm, x, stride);
  } else if (kernel.layout === 'csr') {
    acc = new Float64Array(units * stride);
    const { rowPtr, indices, values } = kernel;
    for (let o = 0; o < units; o++) {
      const row = o * stride;
      for (let j = rowPtr[o]!, end = rowPtr[o + 1]!; j < end; j++) {
        const v = values[j]!;
        const col = indices[j]! * stride;
        for (let b = 0; b < stride; b++) acc[row + b]! += v * x[col + b]!;
      }
    }
  } else {
    acc = new Float64Array(units * stride);
    const w = kernel.values;
    for (let i = 0; i < inputs; i++) {
      const col = i * stride;
      for (let o = 0; o < units; o++) {
        const v = w[i * units + o]!;
        if (v === 0) continue;
        const row = o * stride;
        for (let b = 0; b < stride; b++) acc[row + b]! += v * x[col + b]!;
      }
    }
  }
  const out = new Float32Array(units * stride);
  const relu = layer.activation === 'relu';
  for (let o = 0; o < units; o++) {
    for (let b = 0; b < stride; b++) {
      const z = acc[o * stride + b]! + bias[o]!;
      out[o * stride + b] = relu && z < 0 ? 0 : z;
    }
  }
  return out;
}

/**
 * Which kernel multiplies CSR kernels: `js` (plain JavaScript, float64 sums), `wasm`
 * (WebAssembly SIMD, float32 sums, 4 examples per instruction; faster at every batch size
 * measured, docs/sparse-format.md), or `auto` (default): wasm where the engine has WebAssembly
 * SIMD, else js.
 */
export type KernelChoice = 'auto' | 'js' | 'wasm';

export interface ReadOptions {
  kernel?: KernelChoice;
}

/** A loaded lth sparse model: `predict` gives logits, `classify` the arg max. */
export class SparseModel {
  readonly inputSize: number;
  readonly outputSize: number;

  private constructor(
    readonly header: SparseHeader,
    private readonly layers: Layer[],
    /** The WebAssembly kernel, when in use (it then multiplies every CSR kernel). */
    private readonly wasm: WasmSpmm | undefined,
  ) {
    this.inputSize = header.inputShape.reduce((a, b) => a * b, 1);
    this.outputSize = layers[layers.length - 1]!.outputs;
  }

  /** Reads and checks a model file's bytes; a malformed file throws a SparseFormatError naming the problem. */
  static read(bytes: Uint8Array, options: ReadOptions = {}): SparseModel {
    const kernel = options.kernel ?? 'auto';
    if (kernel === 'wasm' && !wasmSimdAvailable()) throw new Error('this JavaScript engine has no WebAssembly SIMD; read the model with { kernel: "js" }');
    const { header, dataStart } = parseHeader(bytes);
    let inputs = header.inputShape.reduce((a, b) => a * b, 1);
    let shape = header.inputShape.length === 3 ? (header.inputShape as Shape3) : undefined;
    const layers = header.layers.map((h, i) => {
      const layer = readLayer(bytes, dataStart, h, inputs, shape, i);
      inputs = layer.outputs;
      shape = layer.type === 'dense' ? undefined : layer.out;
      return layer;
    });
    const wasm = kernel !== 'js' && wasmSimdAvailable() ? new WasmSpmm() : undefined;
    if (wasm) for (const l of layers) if (l.type === 'dense' && l.kernel.layout === 'csr') l.wasm = wasm.addLayer(l.kernel.rowPtr, l.kernel.indices, l.kernel.values, l.inputs);
    return new SparseModel(header, layers, wasm);
  }

  get metadata(): Record<string, unknown> {
    return this.header.metadata;
  }

  /** Kernel weights per layer that survived pruning: stored values (CSR), non-zero values (dense). */
  storedWeights(): Record<string, number> {
    return Object.fromEntries(
      this.layers.flatMap((l) => (l.type === 'maxpool' ? [] : [[l.name, l.kernel.layout === 'csr' ? l.kernel.values.length : l.kernel.values.filter((v) => v !== 0).length]])),
    );
  }

  /** Logits [batch, outputSize], row-major, for inputs [batch, ...inputShape], row-major. */
  predict(x: Float32Array, batch = 1): Float32Array {
    const n = this.inputSize;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, not ${batch}`);
    if (x.length !== batch * n) throw new RangeError(`inputs have ${x.length} values; a batch of ${batch} takes ${batch * n} (${batch} x ${n})`);
    const wasm = this.wasm;
    // The WebAssembly kernel takes 4 examples at a time: pad the batch with zero columns.
    const stride = wasm ? Math.ceil(batch / 4) * 4 : batch;
    let h = toFeatureMajor(x, batch, n, stride);
    for (const layer of this.layers) h = runLayer(layer, h, stride, wasm);
    return toExampleMajor(h, this.outputSize, batch, stride);
  }

  /** The class of each example (the first of equal maxima, as tf.argMax). */
  classify(x: Float32Array, batch = 1): Int32Array {
    return argmax(this.predict(x, batch), this.outputSize);
  }
}

/**
 * A convolution on the feature-major batch (feature (y, x, c) of NHWC is row (y·W + x)·C + c):
 * each stored weight (filter o, offset dy, dx, channel c) adds its multiple of the shifted input
 * plane to filter o's output plane, so pruned weights cost nothing. Sums in float64.
 */
function runConv(layer: ConvLayer, x: Float32Array, stride: number): Float32Array {
  const [H, W, C] = layer.in;
  const [OH, OW, F] = layer.out;
  const [kh, kw] = layer.kernelSize;
  const s = layer.stride;
  const [pt, pl] = [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2)];
  const acc = new Float64Array(layer.outputs * stride);
  const add = (o: number, k: number, v: number) => {
    const c = k % C;
    const dx = Math.floor(k / C) % kw;
    const dy = Math.floor(k / (C * kw));
    for (let oy = 0; oy < OH; oy++) {
      const iy = oy * s + dy - pt;
      if (iy < 0 || iy >= H) continue;
      for (let ox = 0; ox < OW; ox++) {
        const ix = ox * s + dx - pl;
        if (ix < 0 || ix >= W) continue;
        const src = ((iy * W + ix) * C + c) * stride;
        const dst = ((oy * OW + ox) * F + o) * stride;
        for (let b = 0; b < stride; b++) acc[dst + b]! += v * x[src + b]!;
      }
    }
  };
  const { kernel } = layer;
  if (kernel.layout === 'csr') {
    for (let o = 0; o < F; o++) for (let j = kernel.rowPtr[o]!, end = kernel.rowPtr[o + 1]!; j < end; j++) add(o, kernel.indices[j]!, kernel.values[j]!);
  } else {
    const K = kh * kw * C;
    for (let k = 0; k < K; k++) for (let o = 0; o < F; o++) if (kernel.values[k * F + o] !== 0) add(o, k, kernel.values[k * F + o]!);
  }
  const out = new Float32Array(layer.outputs * stride);
  const relu = layer.activation === 'relu';
  for (let p = 0; p < OH * OW; p++) {
    for (let o = 0; o < F; o++) {
      const row = (p * F + o) * stride;
      const bias = layer.bias ? layer.bias[o]! : 0;
      for (let b = 0; b < stride; b++) {
        const z = acc[row + b]! + bias;
        out[row + b] = relu && z < 0 ? 0 : z;
      }
    }
  }
  return out;
}

/** Max-pooling on the feature-major batch. */
function runPool(layer: PoolLayer, x: Float32Array, stride: number): Float32Array {
  const [, W, C] = layer.in;
  const [OH, OW] = layer.out;
  const k = layer.size;
  const out = new Float32Array(layer.outputs * stride).fill(-Infinity);
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      for (let c = 0; c < C; c++) {
        const dst = ((oy * OW + ox) * C + c) * stride;
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) {
            const src = (((oy * k + i) * W + ox * k + j) * C + c) * stride;
            for (let b = 0; b < stride; b++) if (x[src + b]! > out[dst + b]!) out[dst + b] = x[src + b]!;
          }
        }
      }
    }
  }
  return out;
}

/** [batch, features] → [features, stride] (columns past the batch are 0). */
function toFeatureMajor(x: Float32Array, batch: number, features: number, stride: number): Float32Array {
  const out = new Float32Array(features * stride);
  for (let b = 0; b < batch; b++) for (let f = 0; f < features; f++) out[f * stride + b] = x[b * features + f]!;
  return out;
}

/** [features, stride] → [batch, features], dropping the padding columns. */
function toExampleMajor(h: Float32Array, features: number, batch: number, stride: number): Float32Array {
  const out = new Float32Array(batch * features);
  for (let b = 0; b < batch; b++) for (let f = 0; f < features; f++) out[b * features + f] = h[f * stride + b]!;
  return out;
}

/** Index of the largest value in each row of [rows, classes] (the first on ties). */
export function argmax(logits: Float32Array, classes: number): Int32Array {
  const rows = logits.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** Row-wise softmax of [rows, classes] logits (max-subtracted, so large logits do not overflow). */
export function softmax(logits: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const max = Math.max(...row);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[r * classes + c] = Math.exp(row[c]! - max);
    for (let c = 0; c < classes; c++) out[r * classes + c]! /= sum;
  }
  return out;
}
