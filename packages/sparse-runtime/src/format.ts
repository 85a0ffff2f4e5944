/**
 * The lth sparse model format (docs/sparse-format.md), version 1:
 *
 * ```
 * bytes 0..7     N, the header's length in bytes (unsigned 64-bit little-endian), as in safetensors
 * bytes 8..8+N   the header: UTF-8 JSON (SparseHeader), padded with spaces so the data starts at a
 *                multiple of 8
 * bytes 8+N..    the data: every buffer the header names, at its [start, end) byte offsets
 *                relative to the data's start, each start a multiple of 8, little-endian
 * ```
 *
 * Kernels of fully connected layers are stored in CSR over their output units (row o of the
 * stored matrix holds the weights into unit o), or dense as lth keeps them ([inputs, units],
 * row-major) where that is smaller. Only surviving weights are stored.
 */

export const FORMAT = 'lth-sparse';
export const FORMAT_VERSION = 1;

/** Element types of the buffers: float32 or float16 (IEEE binary16) values, 16- or 32-bit unsigned indices. */
export type BufferDtype = 'F32' | 'F16' | 'U16' | 'U32';

export const DTYPE_BYTES: Record<BufferDtype, number> = { F32: 4, F16: 2, U16: 2, U32: 4 };

/** One buffer in the data section: its element type and [start, end) byte offsets. */
export interface BufferRef {
  dtype: BufferDtype;
  offsets: [number, number];
}

/** A kernel in CSR over output units: stored shape [units, inputs]. */
export interface CsrKernel {
  layout: 'csr';
  /** [units, inputs]: the transpose of lth's [inputs, units] kernel. */
  shape: [number, number];
  /** Stored (surviving) weights. */
  nnz: number;
  /** units + 1 entries (U32): the weights into unit o are rowPtr[o]..rowPtr[o+1]. */
  rowPtr: BufferRef;
  /** nnz input indices (U16 when inputs ≤ 65536, else U32), ascending within a row. */
  indices: BufferRef;
  /** nnz values (F32, or F16 when written with float16 values). */
  values: BufferRef;
}

/** A kernel stored whole, as lth keeps it: [inputs, units], row-major (pruned entries are 0). */
export interface DenseKernel {
  layout: 'dense';
  shape: [number, number];
  /** Non-zero entries (for the record; the buffer holds every entry). */
  nnz: number;
  /** inputs × units values (F32 or F16). */
  values: BufferRef;
}

export type Activation = 'relu' | 'linear';

/** A fully connected layer: out = activation(x · W + b). */
export interface DenseLayerHeader {
  type: 'dense';
  name: string;
  inputs: number;
  units: number;
  activation: Activation;
  kernel: CsrKernel | DenseKernel;
  /** units values (F32). */
  bias: BufferRef;
}

/**
 * A 2D convolution on NHWC inputs: out = activation(conv2d(x, kernel) + bias) at `stride`, with
 * (k − 1) / 2 zeros on each side. Its kernel is stored like a dense layer's with inputs = kh·kw·c
 * (lth's [kh, kw, c, filters] kernel, row-major, is [kh·kw·c, filters]) and units = filters.
 */
export interface Conv2dLayerHeader {
  type: 'conv2d';
  name: string;
  /** [height, width, channels] of one example's input. */
  inputShape: [number, number, number];
  filters: number;
  kernelSize: [number, number];
  stride: number;
  activation: Activation;
  kernel: CsrKernel | DenseKernel;
  /** filters values (F32); absent: no bias. */
  bias?: BufferRef;
}

/** Max-pooling over size × size windows at stride size ('valid'), on NHWC inputs. */
export interface MaxPoolLayerHeader {
  type: 'maxpool';
  inputShape: [number, number, number];
  size: number;
}

/** A layer of the file; a dense layer flattens its input (NHWC, row-major, as tf.reshape). */
export type LayerHeader = DenseLayerHeader | Conv2dLayerHeader | MaxPoolLayerHeader;

export interface SparseHeader {
  format: typeof FORMAT;
  version: number;
  /** Shape of one input example (flattened before the first layer), e.g. [28, 28, 1]. */
  inputShape: number[];
  /** The layers, input side first; the last one's outputs are the logits. */
  layers: LayerHeader[];
  /** Where the model came from (run, level, fraction remaining, accuracy): free-form JSON. */
  metadata: Record<string, unknown>;
}

/** A file that is not a well-formed lth sparse model; the message names the problem. */
export class SparseFormatError extends Error {
  override name = 'SparseFormatError';
}

export const HEADER_PREFIX_BYTES = 8;
export const ALIGN = 8;

export const align = (n: number, to = ALIGN): number => Math.ceil(n / to) * to;
