import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ExportTicket, type LayerDescription, type ModelDescription, tf, UserError } from '@lth/core';
import { encodeSparseModel, type LayerInput, toFloat16 } from '@lth/sparse-runtime';
import { foldBatchNorm } from './fold.js';
import { kerasTopology } from './keras.js';
import { TFJS_WEIGHTS_FILE } from './tfjs-exporter.js';
import type { Ticket } from './ticket.js';
import { VERSION } from './version.js';

/** Where a ticket came from, recorded in every export (sidecar and the format's own metadata). */
export function provenanceOf(ticket: Ticket, format: string): Record<string, unknown> {
  const s = ticket.summary;
  return {
    exporter: `@lth/export ${VERSION}`,
    format,
    run: ticket.runDir,
    configHash: ticket.configHash ?? null,
    replicate: ticket.replicate,
    level: ticket.level,
    fractionRemaining: s.fractionRemaining,
    remainingWeights: s.remainingWeights,
    totalPrunableWeights: s.totalPrunableWeights,
    finalTestAccuracy: s.finalTestAccuracy,
    earlyStopTestAccuracy: s.earlyStopTestAccuracy,
    earlyStopIteration: s.earlyStopIteration,
  };
}

/**
 * The ticket in the lth sparse format (docs/sparse-format.md): only the kept weights are stored,
 * as float32 or (`values: 'float16'`) half-precision values. Fully connected nets (the LeNet
 * family) and convolutional ones made of conv2d, maxpool, flatten and dense layers (Conv-2/4/6).
 */
export function sparseModelBytes(ticket: ExportTicket, values: 'float32' | 'float16' = 'float32'): Uint8Array {
  const { description } = ticket;
  const other = description.layers.filter((l) => !['flatten', 'dense', 'conv2d', 'maxpool'].includes(l.type));
  if (other.length) {
    const types = [...new Set(other.map((l) => l.type))].join(', ');
    throw new UserError(`the sparse export runs conv2d, maxpool, flatten and dense layers (LeNet, Conv-2/4/6); this model also has ${types}: export it as tfjs or onnx`, '--format');
  }
  const kernel = (name: string) => ticket.weights[name]!.data;
  const mask = (name: string) => ticket.masks[name]?.data;
  let inputs = description.inputShape.reduce((a, b) => a * b, 1);
  const layers: LayerInput[] = [];
  for (const l of description.layers) {
    if (l.type === 'conv2d') {
      layers.push({ type: 'conv2d', name: l.name, filters: l.filters, kernelSize: l.kernelSize, stride: l.stride ?? 1, activation: l.activation, kernel: kernel(l.kernel), mask: mask(l.kernel), bias: l.bias ? kernel(l.bias) : undefined });
    } else if (l.type === 'maxpool') {
      layers.push({ type: 'maxpool', size: l.size });
    } else if (l.type === 'dense') {
      const units = l.units;
      // A dense layer's inputs: the kernel's first dimension ([inputs, units]).
      inputs = kernel(l.kernel).length / units;
      layers.push({ name: l.name, inputs, units, activation: l.activation, kernel: kernel(l.kernel), mask: mask(l.kernel), bias: kernel(l.bias) });
    }
    // flatten: the format's dense layers read their input flattened (NHWC, row-major), as tf.reshape does.
  }
  if (!layers.some((l) => l.type === undefined)) throw new UserError('the sparse export needs a dense layer at the end (the logits)', '--format');
  return encodeSparseModel({ inputShape: description.inputShape, layers, metadata: { ...ticket.provenance, values } }, { values });
}

/** A TensorFlow.js LayersModel: `model.json` (topology and weights manifest) and one weights file. */
export interface TfjsArtifacts {
  modelJson: Record<string, unknown>;
  /** The weights in the manifest's order and encodings (float32 little-endian unless quantized). */
  weights: Uint8Array;
}

/** Layers the tfjs export writes; anything else in a description is refused. */
const TFJS_LAYERS = new Set(['flatten', 'dense', 'conv2d', 'maxpool', 'globalavgpool', 'residual', 'subsample', 'padchannels', 'batchnorm']);

/** Every layer type in a description, residual blocks' included. */
function layerTypes(layers: LayerDescription[]): string[] {
  return layers.flatMap((l) => (l.type === 'residual' ? [l.type, ...layerTypes(l.body), ...layerTypes(l.shortcut)] : [l.type]));
}

/** How the tfjs export stores weights: float32, or through the weights manifest's standard quantization. */
export type TfjsQuantization = 'none' | 'float16' | 'uint8';

/** One weight in the manifest's `quantization` form, and its stored bytes. */
interface StoredWeight {
  spec: { name: string; shape: number[]; dtype: 'float32'; quantization?: { dtype: 'float16' } | { dtype: 'uint8'; scale: number; min: number } };
  bytes: Uint8Array;
}

const bytesOf = (a: Float32Array | Uint16Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * uint8 affine quantization as tfjs decodes it (`value = q · scale + min`), over the weight's
 * range widened to include 0, with `min` moved onto the grid so that 0 is a grid point: pruned
 * weights (and any exact zero) decode to exactly 0, so the ticket stays as sparse as it was.
 * Every other weight moves by at most scale / 2.
 */
export function quantizeUint8(data: Float32Array): { q: Uint8Array; scale: number; min: number } {
  let lo = 0;
  let hi = 0;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi === lo) return { q: new Uint8Array(data.length), scale: 1, min: 0 };
  const scale = (hi - lo) / 255;
  const zero = Math.round(-lo / scale);
  // tfjs computes zero · scale + min in double precision: exactly 0 with this min.
  const min = -(zero * scale);
  const q = Uint8Array.from(data, (v) => Math.min(255, Math.max(0, Math.round(v / scale) + zero)));
  return { q, scale, min };
}

function storedWeight(name: string, shape: number[], data: Float32Array, quantize: TfjsQuantization): StoredWeight {
  if (quantize === 'float16') return { spec: { name, shape, dtype: 'float32', quantization: { dtype: 'float16' } }, bytes: bytesOf(Uint16Array.from(data, toFloat16)) };
  if (quantize === 'uint8') {
    const { q, scale, min } = quantizeUint8(data);
    return { spec: { name, shape, dtype: 'float32', quantization: { dtype: 'uint8', scale, min } }, bytes: q };
  }
  return { spec: { name, shape, dtype: 'float32' }, bytes: bytesOf(data) };
}

/**
 * The ticket in TensorFlow.js's `layers-model` format, which `tf.loadLayersModel` reads: a
 * Keras-style Sequential model, or a functional one where the description has residual blocks
 * (`kerasTopology`), with batch norm folded into the layer before it (`foldBatchNorm`): the
 * LeNet family, Conv-2/4/6 (their dropout is training-only), VGG and ResNet. Pruned weights are
 * stored as zeros (the format is dense). `quantize` stores every weight through the weights
 * manifest's standard quantization (`{ dtype: 'float16' }`, or `{ dtype: 'uint8', scale, min }`),
 * which tfjs widens back to float32 at load.
 */
export function tfjsArtifacts(exported: ExportTicket, quantize: TfjsQuantization = 'none'): TfjsArtifacts {
  const types = layerTypes(exported.description.layers);
  const unsupported = [...new Set(types.filter((t) => !TFJS_LAYERS.has(t)))];
  if (unsupported.length || !types.length) {
    throw new UserError(
      `the tfjs export supports flatten, dense, conv2d, maxpool, globalavgpool, residual, subsample, padchannels and batchnorm (folded) layers (the LeNet family, Conv-2/4/6, VGG, ResNet); this model has ${unsupported.join(', ') || 'no layers'}`,
      '--format',
    );
  }
  const ticket = foldBatchNorm(exported);
  const { description } = ticket;
  const first = description.layers[0]!;
  if (first.type === 'dense' && description.inputShape.length > 1) {
    throw new UserError(`the model's input is ${description.inputShape.join('x')} but it describes no flatten before its first dense layer`, '--format');
  }
  const { topology, weights: kerasWeights } = kerasTopology(ticket);
  // tf.loadLayersModel matches weights by `<layer name>/<weight>`.
  const stored = kerasWeights.map((w) => storedWeight(w.name, w.shape, w.data, quantize));
  const weights = new Uint8Array(stored.reduce((n, w) => n + w.bytes.byteLength, 0));
  let at = 0;
  for (const w of stored) {
    weights.set(w.bytes, at);
    at += w.bytes.byteLength;
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: `@lth/export ${VERSION}`,
    convertedBy: null,
    modelTopology: { ...topology, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: stored.map((w) => w.spec) }],
    userDefinedMetadata: { lth: { ...ticket.provenance, quantize } },
  };
  return { modelJson, weights };
}

/**
 * A TensorFlow.js IOHandler that reads a `model.json` and its weight files from disk (Node),
 * parsed by tfjs's own `getModelArtifactsForJSON`, as its HTTP loader does:
 * `tf.loadLayersModel(tfjsFileHandler('export/model.json'))`.
 */
export function tfjsFileHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: () => {
      const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const buffers = manifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dirname(modelJsonPath), p))));
        const joined = Buffer.concat(buffers);
        const data = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
        return [manifest.flatMap((group) => group.weights), data];
      });
    },
  };
}
