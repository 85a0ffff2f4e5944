import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import * as tf from '@tensorflow/tfjs-core';
import { API_VERSION, type Branch, type Masker, type Masks, type Rewinder, type Scorer, type Scores } from '../contracts.js';
import { countKept, countToPrune, pruneLowest } from '../pruning.js';
import { checkBranch, checkMasker, checkRewinder, checkScorer, fakeModel, fakeScorerContext, randomMasks } from './index.js';

// Small reference plugins written against the contracts, and broken variants of them: the suite
// must accept the former and reject each of the latter with a message that names the problem.
const meta = (name: string) => ({ name, version: '0.0.0', apiVersion: API_VERSION });
const noOptions = { optionsSchema: Type.Object({}), defaults: {} };

const absScorer: Scorer = {
  meta: meta('abs'),
  ...noOptions,
  score(ctx) {
    const scores: Scores = {};
    for (const name of ctx.model.prunable) {
      scores[name] = { shape: ctx.weights[name].shape, data: tf.tidy(() => tf.abs(ctx.weights[name]).dataSync() as Float32Array) };
    }
    return scores;
  },
};

const perLayerMasker: Masker = {
  meta: meta('per-layer'),
  ...noOptions,
  mask(scores, masks, rate, _options, { model }) {
    let out: Masks = {};
    for (const name of model.prunable) out = { ...out, ...pruneLowest(scores, masks, [name], countToPrune(rate, countKept(masks[name]))) };
    return out;
  },
};

const initRewinder: Rewinder = {
  meta: meta('to-init'),
  ...noOptions,
  captureAt: () => [],
  start: (ctx) => ({ weights: tf.tidy(() => Object.fromEntries(Object.entries(ctx.init).map(([n, t]) => [n, tf.clone(t)]))), iteration: 0 }),
};

describe('conformance suite', () => {
  it('accepts conforming plugins', async () => {
    await checkScorer(absScorer);
    checkMasker(perLayerMasker, { allocation: 'per-layer' });
    checkRewinder(initRewinder);
  });

  it('rejects a masker that is off by one, one that prunes across layers, and one that counts pruned weights', () => {
    const offByOne: Masker = {
      ...perLayerMasker,
      mask(scores, masks, rate, o, ctx) {
        let out: Masks = {};
        for (const name of ctx.model.prunable) out = { ...out, ...pruneLowest(scores, masks, [name], Math.floor(rate * countKept(masks[name]))) };
        return out;
      },
    };
    expect(() => checkMasker(offByOne, { allocation: 'per-layer' })).toThrow(/masker "per-layer", level 1 \(rate 0.5\): pruned 7 of 15 in layer dense2/);
    // Level 1 prunes 15 + 8 = round(0.5 × 45) weights, the right total, but not the lowest 23.
    expect(() => checkMasker(perLayerMasker, { allocation: 'total' })).toThrow(/level 1 \(rate 0.5\): "dense1\/kernel" pruned other weights than the lowest scores/);
    const countsPruned: Masker = {
      ...perLayerMasker,
      mask(scores, masks, rate, _o, { model }) {
        let out: Masks = {};
        for (const name of model.prunable) {
          // Prunes round(rate × size) over all entries, already-pruned ones included.
          const n = countToPrune(rate, masks[name].data.length);
          const next = masks[name].data.slice();
          const order = [...scores[name].data.keys()].sort((a, b) => scores[name].data[a] - scores[name].data[b] || a - b);
          for (const i of order.slice(0, n)) next[i] = 0;
          out[name] = { shape: masks[name].shape, data: next };
        }
        return out;
      },
    };
    expect(() => checkMasker(countsPruned, { allocation: 'per-layer' })).toThrow(/pruned \d+ of \d+ in layer/);
  });

  it('rejects a masker that revives weights or edits its input', () => {
    // Prunes correctly, then brings back the first weight an earlier level had pruned.
    const reviving: Masker = {
      ...perLayerMasker,
      mask(scores, masks, rate, o, ctx) {
        const next = perLayerMasker.mask(scores, masks, rate, o, ctx);
        const first = masks['dense1/kernel'].data.indexOf(0);
        if (first >= 0) next['dense1/kernel'].data[first] = 1;
        return next;
      },
    };
    expect(() => checkMasker(reviving, { allocation: 'any' })).toThrow(/level 2 \(rate 0.2\): revived pruned weight "dense1\/kernel"/);
    const inPlace: Masker = {
      ...perLayerMasker,
      mask(scores, masks, rate, o, ctx) {
        const next = perLayerMasker.mask(scores, masks, rate, o, ctx);
        for (const name of Object.keys(masks)) masks[name].data.set(next[name].data);
        return next;
      },
    };
    expect(() => checkMasker(inPlace, { allocation: 'per-layer' })).toThrow(/modified the masks it was given/);
  });

  it('rejects a scorer that leaks tensors, returns NaN or misses a weight', async () => {
    const leaking: Scorer = { ...absScorer, score: (ctx) => (tf.abs(ctx.weights['dense1/kernel']), absScorer.score(ctx, {})) };
    await expect(checkScorer(leaking)).rejects.toThrow(/leaked 1 tensor/);
    const nan: Scorer = { ...absScorer, score: (ctx) => ({ ...(absScorer.score(ctx, {}) as Scores), 'dense2/kernel': { shape: [5, 3], data: new Float32Array(15).fill(NaN) } }) };
    await expect(checkScorer(nan)).rejects.toThrow(/NaN/);
    const missing: Scorer = { ...absScorer, score: (ctx) => ({ 'dense1/kernel': (absScorer.score(ctx, {}) as Scores)['dense1/kernel'] }) };
    await expect(checkScorer(missing)).rejects.toThrow(/one score tensor per prunable weight/);
  });

  it('rejects a rewinder that hands out the context’s own tensors', () => {
    const borrowing: Rewinder = { ...initRewinder, start: (ctx) => ({ weights: ctx.init, iteration: 0 }) };
    expect(() => checkRewinder(borrowing)).toThrow(/return a copy the caller owns/);
  });

  it('rejects plugin objects without descriptions or with a "use" option', () => {
    const undocumented: Masker = { ...perLayerMasker, optionsSchema: Type.Object({ k: Type.Number() }) };
    expect(() => checkMasker(undocumented, { allocation: 'per-layer' })).toThrow(/option "k" has no description/);
    const withUse: Masker = { ...perLayerMasker, optionsSchema: Type.Object({ use: Type.String({ description: 'x' }) }) };
    expect(() => checkMasker(withUse, { allocation: 'per-layer' })).toThrow(/must not declare "use"/);
  });

  it('fakeScorerContext gives reproducible batches and gradients that match finite differences', () => {
    const before = tf.memory().numTensors;
    const model = fakeModel();
    const masks = randomMasks(model, 0.3, 2);
    const a = fakeScorerContext({ model, seed: 1, masks });
    const b = fakeScorerContext({ model, seed: 1, masks });
    const [ba, bb] = [a.sampleBatch(4), b.sampleBatch(4)];
    expect(ba.x.shape).toEqual([4, 6]);
    expect(ba.y.shape).toEqual([4, 3]);
    expect(ba.x.dataSync()).toEqual(bb.x.dataSync());
    const grads = a.gradients(a.weights, ba);
    expect(Object.keys(grads).sort()).toEqual([...model.weightNames].sort());

    const loss = (weights: Record<string, tf.Tensor>) =>
      tf.tidy(() => {
        const masked = { ...weights };
        for (const [n, m] of Object.entries(masks)) masked[n] = tf.mul(weights[n], tf.tensor(m.data, m.shape));
        return tf.losses.softmaxCrossEntropy(ba.y, model.forward(masked, ba.x, true)).dataSync()[0];
      });
    const eps = 1e-2;
    for (const name of model.weightNames) {
      const g = grads[name].dataSync();
      for (const i of [0, 1, g.length - 1]) {
        const base = a.weights[name].dataSync();
        const plus = base.slice() as Float32Array;
        const minus = base.slice() as Float32Array;
        plus[i] += eps;
        minus[i] -= eps;
        const [wp, wm] = [tf.tensor(plus, a.weights[name].shape), tf.tensor(minus, a.weights[name].shape)];
        const numeric = (loss({ ...a.weights, [name]: wp }) - loss({ ...a.weights, [name]: wm })) / (2 * eps);
        tf.dispose([wp, wm]);
        expect(g[i]).toBeCloseTo(numeric, 2);
        if (masks[name] && !masks[name].data[i]) expect(g[i]).toBe(0);
      }
    }
    for (const t of [ba.x, ba.y, bb.x, bb.y, ...Object.values(grads)]) t.dispose();
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('checkBranch', () => {
  const branch = (run: Branch['run'], extra: Partial<Branch> = {}): Branch => ({
    meta: { name: 'probe', version: '1.0.0', apiVersion: API_VERSION },
    optionsSchema: Type.Object({}),
    defaults: {},
    run,
    ...extra,
  });
  it('accepts a branch that evaluates and trains through the context', async () => {
    await checkBranch(
      branch(async (ctx) => {
        const { final } = await ctx.train({ key: 'copy', weights: ctx.init, masks: ctx.masks, endIteration: 5, evaluate: false });
        const accuracy = ctx.evaluate(final, 'test').accuracy;
        tf.dispose(Object.values(final));
        return { accuracy, level: ctx.level };
      }),
    );
  }, 60_000);
  it('rejects a branch that leaks tensors, returns nested values or fails at a level it claims', async () => {
    await expect(checkBranch(branch(async (ctx) => ({ n: tf.clone(ctx.final['dense1/kernel']).size })))).rejects.toThrow(/tensor\(s\) left behind/);
    await expect(checkBranch(branch(async () => ({ nested: { a: 1 } as never })))).rejects.toThrow(/result field "nested"/);
    await expect(checkBranch(branch(async () => ({}), { defaultLevels: 'all' as const, run: async (ctx) => (ctx.level === 0 ? Promise.reject(new Error('level 0 unsupported')) : {}) }))).rejects.toThrow(
      /level 0 unsupported/,
    );
  }, 60_000);
});
