import { type LayerDescription, type ModelDescription, UserError } from '@lth/core';
import { type DenseLayerInput, encodeSparseModel, toFloat16 } from '@lth/sparse-runtime';
import type { Ticket } from './ticket.js';
import { VERSION } from './version.js';

type DenseDescription = Extract<LayerDescription, { type: 'dense' }>;

/**
 * The dense layers of a fully connected net: an optional flatten first, then dense layers. Any
 * other architecture is refused with the layer types it has (the formats here run the LeNet family).
 */
export function denseLayers(description: ModelDescription, format: string): DenseDescription[] {
  const layers = description.layers;
  const body = layers[0]?.type === 'flatten' ? layers.slice(1) : layers;
  const other = body.filter((l) => l.type !== 'dense');
  if (other.length || !body.length) {
    const types = [...new Set(layers.map((l) => l.type))].join(', ');
    throw new UserError(`the ${format} export supports fully connected models (the LeNet family: flatten, dense, ReLU); this model has ${types || 'no layers'}`, '--format');
  }
  if (body === layers && description.inputShape.length > 1) {
    throw new UserError(`the model's input is ${description.inputShape.join('x')} but it describes no flatten before its first dense layer`, '--format');
  }
  return body as DenseDescription[];
}

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
 * as float32 or (`values: 'float16'`) half-precision values.
 */
export function sparseModelBytes(ticket: Ticket, description: ModelDescription, values: 'float32' | 'float16' = 'float32'): Uint8Array {
  const layers = denseLayers(description, 'sparse');
  let inputs = description.inputShape.reduce((a, b) => a * b, 1);
  const dense: DenseLayerInput[] = layers.map((l) => {
    const layer: DenseLayerInput = {
      name: l.name,
      inputs,
      units: l.units,
      activation: l.activation,
      kernel: ticket.weights[l.kernel]!.data,
      mask: ticket.masks[l.kernel]?.data,
      bias: ticket.weights[l.bias]!.data,
    };
    inputs = l.units;
    return layer;
  });
  return encodeSparseModel({ inputShape: description.inputShape, layers: dense, metadata: { ...provenanceOf(ticket, 'sparse'), values } }, { values });
}

/** A TensorFlow.js LayersModel: `model.json` (topology and weights manifest) and one weights file. */
export interface TfjsArtifacts {
  modelJson: Record<string, unknown>;
  /** The weights, float32 little-endian, in the manifest's order. */
  weights: Uint8Array;
}

export const TFJS_WEIGHTS_FILE = 'weights.bin';

/** Layers the tfjs export writes; anything else in a description is refused. */
const TFJS_LAYERS = new Set(['flatten', 'dense', 'conv2d', 'maxpool']);

/** One Keras layer config of the Sequential model, from a layer description. */
function kerasLayer(l: LayerDescription, index: number): { class_name: string; config: Record<string, unknown> } {
  const base = { trainable: true, dtype: 'float32' };
  switch (l.type) {
    case 'flatten':
      return { class_name: 'Flatten', config: { ...base, name: `flatten_${index}`, data_format: 'channels_last' } };
    case 'maxpool':
      return { class_name: 'MaxPooling2D', config: { ...base, name: `max_pooling2d_${index}`, pool_size: [l.size, l.size], strides: [l.size, l.size], padding: 'valid', data_format: 'channels_last' } };
    case 'conv2d':
      return {
        class_name: 'Conv2D',
        config: { ...base, name: l.name, filters: l.filters, kernel_size: l.kernelSize, strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], activation: l.activation, use_bias: true },
      };
    default:
      return { class_name: 'Dense', config: { ...base, name: l.name, units: l.units, activation: l.activation, use_bias: true } };
  }
}

/**
 * The ticket as a Keras-style Sequential model in TensorFlow.js's `layers-model` format, which
 * `tf.loadLayersModel` reads: dense, conv2d (3×3 'same'), max-pool and flatten layers, so the
 * LeNet family and Conv-2/4/6 (their dropout is training-only). Pruned weights are stored as
 * zeros (the format is dense). With `values: 'float16'` every weight is stored as a half through
 * the weights manifest's standard quantization (`{ dtype: 'float16' }`), which tfjs widens back
 * to float32 at load.
 */
export function tfjsArtifacts(ticket: Ticket, description: ModelDescription, values: 'float32' | 'float16' = 'float32'): TfjsArtifacts {
  const unsupported = [...new Set(description.layers.filter((l) => !TFJS_LAYERS.has(l.type)).map((l) => l.type))];
  if (unsupported.length || !description.layers.length) {
    throw new UserError(`the tfjs export supports flatten, dense, conv2d and maxpool layers (the LeNet family, Conv-2/4/6); this model has ${unsupported.join(', ') || 'no layers'}`, '--format');
  }
  const first = description.layers[0]!;
  if (first.type === 'dense' && description.inputShape.length > 1) {
    throw new UserError(`the model's input is ${description.inputShape.join('x')} but it describes no flatten before its first dense layer`, '--format');
  }
  const topology = description.layers.map((l, i) => kerasLayer(l, i));
  topology[0]!.config.batch_input_shape = [null, ...description.inputShape];
  const specs: { name: string; shape: number[]; dtype: 'float32'; quantization?: { dtype: 'float16' } }[] = [];
  const parts: (Float32Array | Uint16Array)[] = [];
  for (const l of description.layers) {
    if (l.type !== 'dense' && l.type !== 'conv2d') continue;
    // tf.loadLayersModel matches weights by `<layer name>/<weight>`.
    for (const [weight, source] of [['kernel', l.kernel], ['bias', l.bias]] as const) {
      const w = ticket.weights[source]!;
      if (values === 'float16') {
        specs.push({ name: `${l.name}/${weight}`, shape: w.shape, dtype: 'float32', quantization: { dtype: 'float16' } });
        parts.push(Uint16Array.from(w.data, toFloat16));
      } else {
        specs.push({ name: `${l.name}/${weight}`, shape: w.shape, dtype: 'float32' });
        parts.push(w.data);
      }
    }
  }
  const weights = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    weights.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: `@lth/export ${VERSION}`,
    convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: 'lth_ticket', layers: topology }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: specs }],
    userDefinedMetadata: { lth: { ...provenanceOf(ticket, 'tfjs'), values } },
  };
  return { modelJson, weights };
}
