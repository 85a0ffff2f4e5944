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

/**
 * The ticket as a Keras-style Sequential model in TensorFlow.js's `layers-model` format, which
 * `tf.loadLayersModel` reads. Pruned weights are stored as zeros (the format is dense). With
 * `values: 'float16'` every weight is stored as a half through the weights manifest's standard
 * quantization (`{ dtype: 'float16' }`), which tfjs widens back to float32 at load.
 */
export function tfjsArtifacts(ticket: Ticket, description: ModelDescription, values: 'float32' | 'float16' = 'float32'): TfjsArtifacts {
  const layers = denseLayers(description, 'tfjs');
  const batchInputShape = [null, ...description.inputShape];
  const topology: Record<string, unknown>[] = [];
  if (description.layers[0]?.type === 'flatten') {
    const name = layers.some((l) => l.name === 'flatten') ? 'lth_flatten' : 'flatten';
    topology.push({ class_name: 'Flatten', config: { name, trainable: true, dtype: 'float32', batch_input_shape: batchInputShape } });
  }
  const specs: { name: string; shape: number[]; dtype: 'float32'; quantization?: { dtype: 'float16' } }[] = [];
  const parts: (Float32Array | Uint16Array)[] = [];
  for (const l of layers) {
    topology.push({
      class_name: 'Dense',
      config: { name: l.name, trainable: true, dtype: 'float32', units: l.units, activation: l.activation, use_bias: true, ...(topology.length ? {} : { batch_input_shape: batchInputShape }) },
    });
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
