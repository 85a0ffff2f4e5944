import {
  type Activation,
  ALIGN,
  type BufferRef,
  type DenseLayerHeader,
  DTYPE_BYTES,
  FORMAT,
  FORMAT_VERSION,
  HEADER_PREFIX_BYTES,
  type SparseHeader,
  SparseFormatError,
} from './format.js';
import { fromFloat16 } from './float16.js';
import { type WasmLayer, WasmSpmm, wasmSimdAvailable } from './wasm-kernel.js';

/** A layer ready to run: typed views of its buffers, checked once at load. */
type Kernel =
  | { layout: 'csr'; rowPtr: Uint32Array; indices: Uint16Array | Uint32Array; values: Float32Array }
  | { layout: 'dense'; values: Float32Array };

interface Layer {
  /** The CSR kernel's copy in the WebAssembly kernel's memory, when that kernel is in use. */
  wasm?: WasmLayer;
  name: string;
  inputs: number;
  units: number;
  activation: Activation;
  kernel: Kernel;
  bias: Float32Array;
}

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

function readLayer(bytes: Uint8Array, dataStart: number, h: DenseLayerHeader, inputs: number, index: number): Layer {
  const what = `layer ${index} (${h?.name})`;
  if (h?.type !== 'dense') fail(`${what}: type ${JSON.stringify(h?.type)} is not supported (this runtime runs "dense" layers)`);
  if (h.inputs !== inputs) fail(`${what} takes ${h.inputs} inputs, but the layer before it gives ${inputs}`);
  if (!Number.isInteger(h.units) || h.units <= 0) fail(`${what}: units must be a positive integer`);
  if (h.activation !== 'relu' && h.activation !== 'linear') fail(`${what}: activation ${JSON.stringify(h.activation)} is not relu or linear`);
  if (h.bias?.dtype !== 'F32') fail(`${what} bias: dtype must be F32`);
  const bias = view<Float32Array>(bytes, dataStart, h.bias, `${what} bias`, h.units);
  const k = h.kernel;
  if (k?.layout === 'dense') {
    return { ...h, bias, kernel: { layout: 'dense', values: kernelValues(bytes, dataStart, k.values, `${what} kernel values`, h.inputs * h.units) } };
  }
  if (k?.layout !== 'csr') return fail(`${what}: kernel layout ${JSON.stringify((k as { layout?: unknown } | undefined)?.layout)} is not csr or dense`);
  if (k.rowPtr?.dtype !== 'U32' || (k.indices?.dtype !== 'U16' && k.indices?.dtype !== 'U32')) fail(`${what} kernel: rowPtr must be U32, indices U16 or U32`);
  const rowPtr = view<Uint32Array>(bytes, dataStart, k.rowPtr, `${what} kernel rowPtr`, h.units + 1);
  const nnz = rowPtr[h.units]!;
  if (rowPtr[0] !== 0 || nnz !== k.nnz) fail(`${what} kernel: rowPtr must run from 0 to nnz (${k.nnz}), runs from ${rowPtr[0]} to ${nnz}`);
  for (let o = 0; o < h.units; o++) if (rowPtr[o + 1]! < rowPtr[o]!) fail(`${what} kernel: rowPtr decreases at unit ${o}`);
  const indices = view<Uint16Array | Uint32Array>(bytes, dataStart, k.indices, `${what} kernel indices`, nnz);
  for (let j = 0; j < nnz; j++) if (indices[j]! >= h.inputs) fail(`${what} kernel: index ${indices[j]} at entry ${j} is not below ${h.inputs} inputs`);
  const values = kernelValues(bytes, dataStart, k.values, `${what} kernel values`, nnz);
  return { ...h, bias, kernel: { layout: 'csr', rowPtr, indices, values } };
}

/**
 * One layer on a batch held feature-major (x[i * stride + b] is input i of example b; columns
 * past the batch are padding), so the inner loop runs over the batch contiguously. The JS
 * kernels accumulate in float64; the WebAssembly one (CSR only) in float32, 4 examples at once.
 */
function runLayer(layer: Layer, x: Float32Array, stride: number, wasm: WasmSpmm | undefined): Float32Array {
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
    this.outputSize = layers[layers.length - 1]!.units;
  }

  /** Reads and checks a model file's bytes; a malformed file throws a SparseFormatError naming the problem. */
  static read(bytes: Uint8Array, options: ReadOptions = {}): SparseModel {
    const kernel = options.kernel ?? 'auto';
    if (kernel === 'wasm' && !wasmSimdAvailable()) throw new Error('this JavaScript engine has no WebAssembly SIMD; read the model with { kernel: "js" }');
    const { header, dataStart } = parseHeader(bytes);
    let inputs = header.inputShape.reduce((a, b) => a * b, 1);
    const layers = header.layers.map((h, i) => {
      const layer = readLayer(bytes, dataStart, h, inputs, i);
      inputs = layer.units;
      return layer;
    });
    const wasm = kernel !== 'js' && wasmSimdAvailable() ? new WasmSpmm() : undefined;
    if (wasm) for (const l of layers) if (l.kernel.layout === 'csr') l.wasm = wasm.addLayer(l.kernel.rowPtr, l.kernel.indices, l.kernel.values, l.inputs);
    return new SparseModel(header, layers, wasm);
  }

  get metadata(): Record<string, unknown> {
    return this.header.metadata;
  }

  /** Kernel weights per layer that survived pruning: stored values (CSR), non-zero values (dense). */
  storedWeights(): Record<string, number> {
    return Object.fromEntries(this.layers.map((l) => [l.name, l.kernel.layout === 'csr' ? l.kernel.values.length : l.kernel.values.filter((v) => v !== 0).length]));
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
