/**
 * @lth/export on a run store written by hand through core's RunStore (a 6-4-3 MLP whose levels
 * have known accuracies): level selection, both formats re-loaded and compared with the model's
 * own forward pass, the recorded source, and the errors for what cannot be exported.
 */
import '@lth/core/testing'; // registers tfjs's CPU backend
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, type LevelSummary, type Masks, type ModelDescription, type ModelSpec, RunStore, type TensorMap, tf } from '@lth/core';
import { SparseModel } from '@lth/sparse-runtime';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTicket, readTicket, SPARSE_FILE, selectLevel, sparseExporter, TFJS_MODEL_FILE, tfjsExporter, tfjsFileHandler } from './index.js';

const SHAPES: Record<string, number[]> = { 'h/kernel': [6, 4], 'h/bias': [4], 'out/kernel': [4, 3], 'out/bias': [3] };
const description: ModelDescription = {
  inputShape: [2, 3],
  layers: [
    { type: 'flatten' },
    { type: 'dense', name: 'h', kernel: 'h/kernel', bias: 'h/bias', units: 4, activation: 'relu' },
    { type: 'dense', name: 'out', kernel: 'out/kernel', bias: 'out/bias', units: 3, activation: 'linear' },
  ],
};
/** The model a run would build (written here: a tool's tests may not import a plugin). */
const model: ModelSpec = {
  weightNames: Object.keys(SHAPES),
  prunable: ['h/kernel', 'out/kernel'],
  layerOf: { 'h/kernel': 'h', 'out/kernel': 'out' },
  outputLayer: 'out',
  shapes: SHAPES,
  init: () => ({}),
  forward: (w, x) =>
    tf.tidy(() => {
      const h = tf.relu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0]!, 6]), w['h/kernel'] as tf.Tensor2D), w['h/bias']!));
      return tf.add(tf.matMul(h as tf.Tensor2D, w['out/kernel'] as tf.Tensor2D), w['out/bias']!);
    }),
  describe: () => description,
};

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 97 + i * 1.7) * 1.5);
const count = 40;
const dataset: Dataset = (() => {
  const x = values(count * 6, 3);
  const split = { x, y: new Int32Array(count), count };
  return { name: 'tiny', inputShape: [2, 3], numClasses: 3, train: split, validation: split, test: split };
})();

/** Masks keeping every `keepEvery`-th weight of each kernel. */
function masksKeeping(keepEvery: number): Masks {
  const out: Masks = {};
  for (const name of model.prunable) {
    const size = SHAPES[name]!.reduce((a, b) => a * b, 1);
    out[name] = { shape: SHAPES[name]!, data: Uint8Array.from({ length: size }, (_, i) => (i % keepEvery === 0 ? 1 : 0)) };
  }
  return out;
}

let dir: string;
let store: RunStore;

/** Writes level `level` (weights with pruned entries deliberately non-zero: export must mask them). */
function writeLevel(level: number, keepEvery: number, earlyStopTestAccuracy: number): void {
  tf.tidy(() => writeLevelTensors(level, keepEvery, earlyStopTestAccuracy));
}

function writeLevelTensors(level: number, keepEvery: number, earlyStopTestAccuracy: number): void {
  const masks = masksKeeping(keepEvery);
  const final: TensorMap = {};
  for (const [name, shape] of Object.entries(SHAPES)) final[name] = tf.tensor(values(shape.reduce((a, b) => a * b, 1), level + name.length), shape);
  // The accuracy lth would have measured: the masked model's on the test set (labels: class 0).
  const masked: TensorMap = { ...final };
  for (const [name, m] of Object.entries(masks)) masked[name] = tf.mul(final[name]!, tf.tensor(m.data, m.shape, 'float32'));
  const logits = model.forward(masked, tf.tensor(dataset.test.x, [count, 2, 3]), false);
  const predicted = tf.argMax(logits, 1).dataSync();
  const accuracy = Array.from(predicted).filter((p, i) => p === dataset.test.y[i]).length / count;
  const kept = Object.values(masks).reduce((n, m) => n + m.data.reduce((a, b) => a + b, 0), 0);
  const summary = {
    replicate: 0, level, fractionRemaining: kept / 36, layerFractions: {}, remainingWeights: kept, totalPrunableWeights: 36, finalIteration: 10,
    finalTestAccuracy: accuracy, finalTestLoss: 1, finalTrainLoss: 1, earlyStopIteration: 5, earlyStopTestAccuracy, earlyStopValidationLoss: 1, seconds: 0, backend: 'cpu',
  } satisfies LevelSummary;
  store.replicate(0).level(level).write(masks, final, summary);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lth-export-'));
  store = new RunStore(join(dir, 'run'));
  store.writeConfig({ hash: 'abc123' });
  writeLevel(0, 1, 0.9);
  writeLevel(1, 2, 0.91);
  writeLevel(2, 4, 0.896);
  writeLevel(3, 8, 0.8);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('selectLevel', () => {
  it('--best: the sparsest level within the tolerance of dense early-stop accuracy', () => {
    expect(selectLevel(store, 0, { best: { tolerance: 0.005 } }).level).toBe(2);
    expect(selectLevel(store, 0, { best: { tolerance: 0 } }).level).toBe(1);
    expect(selectLevel(store, 0, { best: { tolerance: 0.2 } }).level).toBe(3);
    expect(selectLevel(store, 0, { level: 1 }).level).toBe(1);
  });

  it('names a level or replicate that does not exist, and a level that is not complete', () => {
    expect(() => selectLevel(store, 0, { level: 9 })).toThrow(/level 9 of replicate 0 does not exist; complete levels: 0, 1, 2, 3/);
    expect(() => selectLevel(store, 2, { level: 1 })).toThrow(/has no replicate 2 \(it has 0\)/);
    store.replicate(0).level(4).startMetrics();
    expect(() => selectLevel(store, 0, { level: 4 })).toThrow(/level 4 of replicate 0 is not complete/);
  });
});

describe('exportTicket', () => {
  it('sparse: stores only the kept weights, records the source, and predicts what the model does', async () => {
    const ticket = readTicket(store, selectLevel(store, 0, { level: 2 }), description);
    const out = join(dir, 'sparse');
    const { record } = await exportTicket(ticket, { exporter: sparseExporter, outDir: out, model, dataset });
    const sparse = SparseModel.read(readFileSync(join(out, SPARSE_FILE)));
    expect(sparse.storedWeights()).toEqual({ h: 6, out: 3 }); // every 4th of 24 and of 12
    expect(sparse.metadata).toMatchObject({ run: store.dir, configHash: 'abc123', replicate: 0, level: 2, fractionRemaining: 9 / 36, earlyStopTestAccuracy: 0.896 });
    expect(record.recheck.maxLogitDifference).toBeLessThan(1e-5);
    expect(record.recheck.accuracy).toBe(ticket.summary.finalTestAccuracy);
    const sidecar = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'));
    expect(sidecar).toMatchObject({ format: 'sparse', level: 2, files: [SPARSE_FILE], bytes: statSync(join(out, SPARSE_FILE)).size });
  });

  it('tfjs: model.json + weights.bin that tf.loadLayersModel reads, with the same logits and the source in its metadata', async () => {
    const ticket = readTicket(store, selectLevel(store, 0, { level: 3 }), description);
    const out = join(dir, 'tfjs');
    await exportTicket(ticket, { exporter: tfjsExporter, outDir: out, model, dataset });
    const json = JSON.parse(readFileSync(join(out, TFJS_MODEL_FILE), 'utf8'));
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(['h/kernel', 'h/bias', 'out/kernel', 'out/bias']);
    const loaded = await loadLayersModel(tfjsFileHandler(join(out, TFJS_MODEL_FILE)));
    expect(loaded.getUserDefinedMetadata()).toMatchObject({ lth: { level: 3, configHash: 'abc123' } });
    const weights: TensorMap = {};
    for (const [name, w] of Object.entries(ticket.weights)) weights[name] = tf.tensor(w.data, w.shape);
    const x = tf.tensor(dataset.test.x, [count, 2, 3]);
    const theirs = (loaded.predict(x) as tf.Tensor).dataSync();
    const ours = model.forward(weights, x, false).dataSync();
    expect(Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i]!)))).toBeLessThan(1e-5);
    // Pruned weights are zeros in the dense tfjs format (the stored final weights are not).
    expect(Array.from(weights['h/kernel']!.dataSync()).filter((v, i) => i % 8 !== 0 && v !== 0)).toEqual([]);
    loaded.dispose();
  });

  it('tfjs: a model without flatten (vector inputs) takes its input shape on the first dense layer', async () => {
    const flat = { ...description, inputShape: [6], layers: description.layers.slice(1) };
    const ticket = readTicket(store, selectLevel(store, 0, { level: 1 }), flat);
    const data = { ...dataset, inputShape: [6] };
    const out = join(dir, 'tfjs-flat');
    const { record } = await exportTicket(ticket, { exporter: tfjsExporter, outDir: out, model: { ...model, describe: () => flat }, dataset: data });
    const json = JSON.parse(readFileSync(join(out, TFJS_MODEL_FILE), 'utf8'));
    expect(json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).toEqual(['Dense', 'Dense']);
    expect(json.modelTopology.config.layers[0].config.batch_input_shape).toEqual([null, 6]);
    expect(record.recheck.maxLogitDifference).toBeLessThan(1e-5);
    // A multi-dimensional input without a flatten is refused, not silently applied to the last axis.
    const bad = { ...model, describe: () => ({ ...flat, inputShape: [2, 3] }) };
    await expect(exportTicket(ticket, { exporter: tfjsExporter, outDir: join(dir, 'z'), model: bad, dataset })).rejects.toThrow(/input is 2x3 but it describes no flatten/);
  });

  it('refuses a model without a description, and an architecture it does not support, naming its layers', async () => {
    const ticket = readTicket(store, selectLevel(store, 0, { level: 1 }), description);
    const { describe: _d, ...bare } = model;
    await expect(exportTicket(ticket, { exporter: sparseExporter, outDir: join(dir, 'x'), model: bare, dataset })).rejects.toThrow(/does not describe its architecture/);
    const normed = { ...model, describe: () => ({ inputShape: [2, 3], layers: [{ type: 'batchnorm' } as never, ...description.layers] }) };
    await expect(exportTicket(ticket, { exporter: sparseExporter, outDir: join(dir, 'y'), model: normed, dataset })).rejects.toThrow(
      /sparse export runs conv2d, maxpool, flatten and dense layers .* this model also has batchnorm: export it as tfjs or onnx/,
    );
    const recurrent = { ...model, describe: () => ({ inputShape: [2, 3], layers: [{ type: 'lstm' } as never, ...description.layers] }) };
    await expect(exportTicket(ticket, { exporter: tfjsExporter, outDir: join(dir, 'y'), model: recurrent, dataset })).rejects.toThrow(
      /tfjs export supports flatten, dense, conv2d, maxpool, globalavgpool, residual, subsample, padchannels and batchnorm \(folded\) layers .* this model has lstm/,
    );
  });
});
