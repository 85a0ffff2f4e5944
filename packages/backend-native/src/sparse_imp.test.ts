import { adam, BatchStream, EvalSet, pruneLowest, tf, trainLoop, type Dataset, type EvalRecord, type Masks, type ModelSpec, type TensorMap } from '@lth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NativeBackend } from './backend.js';
import { setupNative, skipReason, values } from './test-utils/parity.js';

// A small LeNet (32-48-24-4) through core's own masked training loop and Adam (which calls the
// fused kernel with every mask), pruned 60 % per level, layer-wise, by magnitude: 100 %, 40 %,
// 16 %, 6.4 % kept, so the last two levels train sparse at the default threshold.
const SIZES = [32, 48, 24, 4];
const LAYERS = ['fc1', 'fc2', 'out'];
const ITERATIONS = 60;
const EVAL_EVERY = 10;

function split(count: number, seed: number): { x: Float32Array; y: Int32Array; count: number } {
  const x = values(count * SIZES[0]!, seed);
  // A learnable rule: the class is the largest of the first four features.
  const y = Int32Array.from({ length: count }, (_, i) => {
    const row = Array.from(x.subarray(i * SIZES[0]!, i * SIZES[0]! + 4));
    return row.indexOf(Math.max(...row));
  });
  return { x, y, count };
}

const dataset: Dataset = { name: 'synthetic', inputShape: [SIZES[0]!], numClasses: 4, train: split(600, 1), validation: split(100, 2), test: split(100, 3) };

const model: ModelSpec = {
  weightNames: LAYERS.flatMap((l) => [`${l}/kernel`, `${l}/bias`]),
  prunable: LAYERS.map((l) => `${l}/kernel`),
  layerOf: Object.fromEntries(LAYERS.map((l) => [`${l}/kernel`, l])),
  outputLayer: 'out',
  shapes: Object.fromEntries(LAYERS.flatMap((l, i) => [[`${l}/kernel`, [SIZES[i]!, SIZES[i + 1]!]], [`${l}/bias`, [SIZES[i + 1]!]]])),
  init(seed) {
    const w: TensorMap = {};
    LAYERS.forEach((l, i) => {
      const [fanIn, fanOut] = [SIZES[i]!, SIZES[i + 1]!];
      w[`${l}/kernel`] = tf.tensor2d(values(fanIn * fanOut, seed * 10 + i).map((v) => v * Math.sqrt(3 / fanIn)), [fanIn, fanOut]);
      w[`${l}/bias`] = tf.zeros([fanOut]);
    });
    return w;
  },
  forward(weights, x) {
    return tf.tidy(() => {
      let h = x;
      LAYERS.forEach((l) => {
        const z = tf.add(tf.matMul(h as tf.Tensor2D, weights[`${l}/kernel`] as tf.Tensor2D), weights[`${l}/bias`]!);
        h = l === 'out' ? z : tf.relu(z);
      });
      return h;
    });
  },
};

interface Level {
  masks: Masks;
  earlyStop: number;
  testAccuracy: number;
}

/** Iterative magnitude pruning, rewinding to θ0, for `levels` levels. */
function imp(levels: number): Level[] {
  const theta0 = model.init(0);
  const evalSets = { train: new EvalSet(dataset, dataset.train, 200), validation: new EvalSet(dataset, dataset.validation), test: new EvalSet(dataset, dataset.test) };
  let masks: Masks = Object.fromEntries(model.prunable.map((n) => [n, { shape: model.shapes[n]!, data: new Uint8Array(model.shapes[n]!.reduce((a, b) => a * b, 1)).fill(1) }]));
  const out: Level[] = [];
  try {
    for (let level = 0; level < levels; level++) {
      const start = tf.tidy(() => {
        const w: TensorMap = {};
        for (const [n, t] of Object.entries(theta0)) w[n] = masks[n] ? tf.mul(t, tf.tensor(Float32Array.from(masks[n]!.data), masks[n]!.shape)) : t.clone();
        return w;
      });
      const optimizer = adam.create({ ...adam.defaults, beta1: 0.9 }, undefined);
      const records: EvalRecord[] = [];
      const { final } = trainLoop({
        model, weights: start, masks, optimizer, lr: () => 0.01, batches: new BatchStream(dataset, dataset.train, 20, 7),
        startIteration: 0, totalIterations: ITERATIONS, evalEvery: EVAL_EVERY, evalSets, onEval: (r) => records.push(r),
      });
      optimizer.dispose();
      tf.dispose(Object.values(start));
      const best = records.reduce((a, r) => (r.validationLoss < a.validationLoss ? r : a));
      out.push({ masks, earlyStop: best.iteration, testAccuracy: records[records.length - 1]!.testAccuracy });
      // Prune 60 % of each layer's remaining weights by magnitude.
      const next: Masks = {};
      for (const name of model.prunable) {
        const data = final[name]!.dataSync() as Float32Array;
        const scores = { [name]: { shape: masks[name]!.shape, data: Float32Array.from(data, Math.abs) } };
        const remaining = masks[name]!.data.reduce((a, b) => a + b, 0);
        Object.assign(next, pruneLowest(scores, masks, [name], Math.round(0.6 * remaining)));
      }
      tf.dispose(Object.values(final));
      masks = next;
    }
  } finally {
    tf.dispose(Object.values(theta0));
    for (const s of Object.values(evalSets)) s.dispose();
  }
  return out;
}

describe.skipIf(skipReason !== undefined)('IMP with sparse kernels on and off (core trainLoop and Adam)', () => {
  let backend: NativeBackend;
  beforeAll(async () => {
    setupNative();
    await tf.setBackend('native');
    backend = tf.backend() as unknown as NativeBackend;
  });
  afterAll(() => {
    backend.sparse.configure({ enabled: true });
    void tf.setBackend('cpu');
  });

  it('4 levels: identical masks and early-stop iterations, test accuracy equal', () => {
    backend.sparse.configure({ enabled: false });
    const dense = imp(4);
    backend.sparse.configure({ enabled: true });
    backend.sparse.resetUsage();
    const before = tf.memory().numTensors;
    const sparse = imp(4);
    expect(tf.memory().numTensors).toBe(before);
    // The last two levels (16 % and 6.4 % kept) trained sparse.
    expect(backend.sparse.counts.forward).toBeGreaterThan(0);
    // Core's Adam names each weight, so the report says which path each one took: every kernel
    // dense at 100 % and 40 % kept, sparse at 16 % and 6.4 %; biases always dense.
    const pathsOf = (name: string) => new Set(backend.sparse.usage().filter((u) => u.name === name).map((u) => u.path));
    for (const name of model.prunable) expect(pathsOf(name)).toEqual(new Set(['dense', 'sparse']));
    for (const l of LAYERS) expect(pathsOf(`${l}/bias`)).toEqual(new Set(['dense']));
    // The same, as core reads it for the level summary (KernelPathReporter).
    const paths = backend.kernelPaths();
    for (const name of model.prunable) expect(paths[name]).toBe('sparse+dense');
    for (const l of LAYERS) expect(paths[`${l}/bias`]).toBe('dense');
    backend.resetKernelPaths();
    expect(backend.kernelPaths()).toEqual({});
    sparse.forEach((s, level) => {
      const d = dense[level]!;
      for (const name of model.prunable) expect(Buffer.from(s.masks[name]!.data).equals(Buffer.from(d.masks[name]!.data))).toBe(true);
      expect(s.earlyStop).toBe(d.earlyStop);
      // Float summation order only: no test example changes class over 60 iterations here.
      expect(s.testAccuracy).toBe(d.testAccuracy);
    });
  });
});
