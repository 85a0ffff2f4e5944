import { assertMasksShrink, countKept, denseMasks, type Masks, type ModelSpec, type Scores, sparsityReport, UserError } from '@lth/core';
import { checkMasker, seededRandom } from '@lth/core/testing';
import { describe, expect, it } from 'vitest';
import { globalMasker } from './global-masker.js';
import { layerwiseMasker } from './layerwise-masker.js';

/** A model spec with only what maskers read: prunable weights, their layers and shapes. */
function specOf(shapes: Record<string, number[]>, outputLayer: string): ModelSpec {
  const prunable = Object.keys(shapes);
  return {
    weightNames: prunable,
    prunable,
    layerOf: Object.fromEntries(prunable.map((n) => [n, n.split('/')[0]])),
    outputLayer,
    shapes,
    init: () => {
      throw new Error('maskers must not initialise the model');
    },
    forward: () => {
      throw new Error('maskers must not run the model');
    },
  };
}

const scoresOf = (model: ModelSpec, values: Record<string, number[]>): Scores =>
  Object.fromEntries(Object.entries(values).map(([n, v]) => [n, { shape: model.shapes[n], data: Float32Array.from(v) }]));
const bits = (masks: Masks) => Object.fromEntries(Object.entries(masks).map(([n, m]) => [n, [...m.data]]));
const ctx = (model: ModelSpec) => ({ model, level: 1 });

// a: 4 weights, b (the output layer): 2 weights.
const small = specOf({ 'a/kernel': [2, 2], 'b/kernel': [1, 2] }, 'b');

describe('layerwise and global maskers on hand-made tensors', () => {
  it('layer-wise prunes round(rate × remaining) in each layer; global over all layers together', () => {
    const scores = scoresOf(small, { 'a/kernel': [1, 2, 3, 4], 'b/kernel': [5, 10] });
    const masks = denseMasks(small);
    // Layer-wise: 2 of a's 4, 1 of b's 2. Global: the 3 lowest of all 6, all in a.
    expect(bits(layerwiseMasker.mask(scores, masks, 0.5, {}, ctx(small)))).toEqual({ 'a/kernel': [0, 0, 1, 1], 'b/kernel': [0, 1] });
    expect(bits(globalMasker.mask(scores, masks, 0.5, {}, ctx(small)))).toEqual({ 'a/kernel': [0, 0, 0, 1], 'b/kernel': [1, 1] });
  });

  it('breaks ties by lower flat index, in layer order across layers', () => {
    const scores = scoresOf(small, { 'a/kernel': [1, 1, 1, 1], 'b/kernel': [1, 1] });
    const masks = denseMasks(small);
    expect(bits(globalMasker.mask(scores, masks, 0.5, {}, ctx(small)))).toEqual({ 'a/kernel': [0, 0, 0, 1], 'b/kernel': [1, 1] });
    expect(bits(layerwiseMasker.mask(scores, masks, 0.5, {}, ctx(small)))).toEqual({ 'a/kernel': [0, 0, 1, 1], 'b/kernel': [0, 1] });
  });

  it('rounds halves up and counts only the weights that remain', () => {
    const one = specOf({ 'a/kernel': [6] }, 'a');
    // Weight 0 was pruned earlier (its score, the lowest, must be ignored): 5 remain.
    const masks: Masks = { 'a/kernel': { shape: [6], data: Uint8Array.from([0, 1, 1, 1, 1, 1]) } };
    const scores = scoresOf(one, { 'a/kernel': [-100, 6, 5, 4, 3, 2] });
    for (const masker of [layerwiseMasker, globalMasker]) {
      expect(bits(masker.mask(scores, masks, 0.5, {}, ctx(one)))['a/kernel']).toEqual([0, 1, 1, 0, 0, 0]); // 2.5 → 3
      expect(bits(masker.mask(scores, masks, 0.7, {}, ctx(one)))['a/kernel']).toEqual([0, 1, 0, 0, 0, 0]); // 0.7 × 5 = 3.5 → 4
      expect(bits(masker.mask(scores, masks, 0.1, {}, ctx(one)))['a/kernel']).toEqual([0, 1, 1, 1, 1, 0]); // 0.5 → 1
      expect(bits(masker.mask(scores, masks, 0, {}, ctx(one)))['a/kernel']).toEqual([0, 1, 1, 1, 1, 1]);
    }
    expect(countKept(masks['a/kernel'])).toBe(5); // inputs untouched
  });
});

describe('overrides', () => {
  const lenetLike = specOf({ 'dense1/kernel': [4, 5], 'dense2/kernel': [5, 4], 'out/kernel': [4, 2] }, 'out');
  const random = seededRandom(1);
  const scores = scoresOf(lenetLike, {
    'dense1/kernel': Array.from({ length: 20 }, random),
    'dense2/kernel': Array.from({ length: 20 }, random),
    'out/kernel': Array.from({ length: 8 }, random),
  });
  const prunedPerLayer = (masks: Masks) => Object.fromEntries(Object.entries(masks).map(([n, m]) => [n, m.data.length - countKept(m)]));

  it('"output", the layer name and the weight name all set the output layer’s rate (layer-wise)', () => {
    for (const key of ['output', 'out', 'out/kernel']) {
      const masks = layerwiseMasker.mask(scores, denseMasks(lenetLike), 0.5, { overrides: { [key]: 0.25 } }, ctx(lenetLike));
      expect(prunedPerLayer(masks)).toEqual({ 'dense1/kernel': 10, 'dense2/kernel': 10, 'out/kernel': 2 });
    }
  });

  it('global pools the other layers and prunes the overridden one on its own', () => {
    const masks = globalMasker.mask(scores, denseMasks(lenetLike), 0.5, { overrides: { output: 0 } }, ctx(lenetLike));
    const pruned = prunedPerLayer(masks);
    expect(pruned['out/kernel']).toBe(0);
    expect(pruned['dense1/kernel'] + pruned['dense2/kernel']).toBe(20);
    // The pooled 20 are the 20 lowest scores of dense1 and dense2 together.
    const pooled = [...scores['dense1/kernel'].data, ...scores['dense2/kernel'].data].sort((x, y) => x - y);
    const threshold = pooled[19];
    for (const name of ['dense1/kernel', 'dense2/kernel']) {
      scores[name].data.forEach((s, i) => expect(masks[name].data[i]).toBe(s <= threshold ? 0 : 1));
    }
  });

  it('a key that names no layer is a UserError naming the key, its field and the layers', () => {
    for (const masker of [layerwiseMasker, globalMasker]) {
      let error: unknown;
      try {
        masker.mask(scores, denseMasks(lenetLike), 0.2, { overrides: { ouptut: 0.1 } }, ctx(lenetLike));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).field).toBe('/pruning/masker/overrides/ouptut');
      expect((error as UserError).message).toMatch(/"ouptut" names no prunable layer of this model\. Layers: dense1, dense2, out \("output" = out\)/);
    }
  });

  it('override keys are checked even at rate 0, so core can validate them before any training', () => {
    expect(() => layerwiseMasker.mask(scores, denseMasks(lenetLike), 0, { overrides: { dense3: 0.1 } }, ctx(lenetLike))).toThrow(UserError);
    expect(() => globalMasker.mask(scores, denseMasks(lenetLike), 0, { overrides: { dense3: 0.1 } }, ctx(lenetLike))).toThrow(UserError);
  });

  it('two keys for the same layer are a UserError', () => {
    expect(() => layerwiseMasker.mask(scores, denseMasks(lenetLike), 0.2, { overrides: { output: 0.1, out: 0.2 } }, ctx(lenetLike))).toThrow(
      /"out" and "output" both set the rate of out\/kernel/,
    );
  });
});

describe('LeNet-300-100 at 20 % per level, output 10 %, layer-wise', () => {
  it('gives the paper’s fractions remaining at levels 3, 7, 9, 12, 15; masks only shrink', () => {
    const lenet = specOf({ 'dense1/kernel': [784, 300], 'dense2/kernel': [300, 100], 'output/kernel': [100, 10] }, 'output');
    const random = seededRandom(42);
    let masks = denseMasks(lenet);
    const fractions: Record<number, string> = {};
    for (let level = 1; level <= 15; level++) {
      // Random scores: the counts must not depend on the scorer.
      const scores: Scores = {};
      for (const name of lenet.prunable) scores[name] = { shape: lenet.shapes[name], data: Float32Array.from(masks[name].data, () => random()) };
      const next = layerwiseMasker.mask(scores, masks, 0.2, { overrides: { output: 0.1 } }, { model: lenet, level });
      assertMasksShrink(masks, next);
      masks = next;
      fractions[level] = (100 * sparsityReport(masks, lenet).fractionRemaining).toFixed(2);
    }
    expect([3, 7, 9, 12, 15].map((l) => fractions[l])).toEqual(['51.28', '21.07', '13.52', '6.95', '3.58']);
  });
});

describe('conformance', () => {
  it('layerwise passes core’s masker suite (per-layer counts)', () => checkMasker(layerwiseMasker, { allocation: 'per-layer' }));
  it('global passes core’s masker suite (total counts)', () => checkMasker(globalMasker, { allocation: 'total' }));
});
