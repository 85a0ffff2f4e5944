import { countKept, countToPrune, denseMasks, type Masks, type ModelSpec, pruneLowest, type ScorerContext, type Scores, type TensorMap, tf } from '@lth/core';
import '@lth/core/testing';
import { describe, expect, it } from 'vitest';
import { synflowScorer } from './index.js';

/**
 * LeNet-300-100's shapes (784 → 300 → 100 → 10, ReLU, Glorot-uniform kernels, zero biases),
 * built here because plugins never depend on each other (the real one is in @lth/models).
 */
function lenetShapes(): ModelSpec {
  const sizes = [784, 300, 100, 10];
  const layers = ['fc1', 'fc2', 'output'];
  const shapes: Record<string, number[]> = {};
  const layerOf: Record<string, string> = {};
  layers.forEach((l, i) => {
    shapes[`${l}/kernel`] = [sizes[i], sizes[i + 1]];
    shapes[`${l}/bias`] = [sizes[i + 1]];
    layerOf[`${l}/kernel`] = l;
    layerOf[`${l}/bias`] = l;
  });
  return {
    weightNames: Object.keys(shapes),
    prunable: layers.map((l) => `${l}/kernel`),
    layerOf,
    outputLayer: 'output',
    shapes,
    init: (seed) =>
      tf.tidy(() =>
        Object.fromEntries(
          Object.entries(shapes).map(([n, s], i) =>
            s.length === 1 ? [n, tf.zeros(s)] : [n, tf.randomUniform(s, -Math.sqrt(6 / (s[0] + s[1])), Math.sqrt(6 / (s[0] + s[1])), 'float32', seed + i)],
          ),
        ),
      ),
    forward: (w, x) =>
      layers.reduce((h, l, i) => {
        const z = tf.add(tf.matMul(h as tf.Tensor2D, w[`${l}/kernel`] as tf.Tensor2D), w[`${l}/bias`]);
        return i < layers.length - 1 ? tf.relu(z) : z;
      }, x),
  };
}

/** Global pruning with core's exact top-k (what the `global` masker does without overrides). */
const globalMask = (model: ModelSpec) => (scores: Scores, masks: Masks, rate: number) =>
  pruneLowest(scores, masks, model.prunable, countToPrune(rate, model.prunable.reduce((a, n) => a + countKept(masks[n]), 0)));

const keptPerLayer = (model: ModelSpec, masks: Masks) => Object.fromEntries(model.prunable.map((n) => [model.layerOf[n], countKept(masks[n])]));

describe('layer collapse at 99% sparsity (LeNet-300-100 shapes, one-shot at initialisation)', () => {
  const model = lenetShapes();
  const sparsity = 0.99;

  it('global magnitude at θ0 empties fc1, SynFlow keeps every layer connected', async () => {
    const init: TensorMap = model.init(1);
    const dense = denseMasks(model);
    const mask = globalMask(model);
    try {
      // Magnitude: Glorot bounds are 0.074 (fc1), 0.122 (fc2), 0.234 (output); 2,662 weights survive,
      // and fc2 and output alone have ~12,800 weights above fc1's bound, so fc1 loses every weight.
      const magnitude: Scores = Object.fromEntries(
        model.prunable.map((n) => [n, { shape: model.shapes[n], data: Float32Array.from(tf.tidy(() => tf.abs(init[n]).dataSync() as Float32Array)) }]),
      );
      const byMagnitude = keptPerLayer(model, mask(magnitude, dense, sparsity));
      expect(byMagnitude.fc1).toBe(0);
      expect(byMagnitude.fc2 + byMagnitude.output).toBe(2662);

      const ctx: ScorerContext = {
        model,
        weights: init,
        init,
        masks: dense,
        level: 0,
        seed: 0,
        rate: sparsity,
        mask,
        sampleBatch: () => ({ x: tf.zeros([1, 784]), y: tf.zeros([1, 10]) }),
        gradients: () => {
          throw new Error('SynFlow is data-free');
        },
      };
      const before = tf.memory().numTensors;
      // 10 rounds (the paper uses 100) already avoid collapse here and keep the test at a few seconds.
      const scores = await synflowScorer.score(ctx, { rounds: 10 });
      expect(tf.memory().numTensors).toBe(before);
      const bySynflow = keptPerLayer(model, mask(scores, dense, sparsity));
      expect(bySynflow.fc1 + bySynflow.fc2 + bySynflow.output).toBe(2662);
      for (const kept of Object.values(bySynflow)) expect(kept).toBeGreaterThan(0);
      console.log('kept per layer at 99%: magnitude', byMagnitude, 'synflow', bySynflow);
    } finally {
      tf.dispose(Object.values(init));
    }
  });
});
