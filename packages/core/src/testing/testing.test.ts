import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import * as tf from '@tensorflow/tfjs-core';
import { API_VERSION, type Branch, type Exporter, type Masker, type Masks, type Rewinder, type Scorer, type Scores } from '../contracts.js';
import { countKept, countToPrune, pruneLowest } from '../pruning.js';
import { checkBranch, checkExporter, checkMasker, checkRewinder, checkScorer, fakeExportTicket, fakeModel, fakeScorerContext, randomMasks } from './index.js';

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

describe('checkExporter', () => {
  /** A conforming exporter: the dense layers as JSON, read back and run in plain JavaScript. */
  const jsonExporter: Exporter = {
    meta: meta('json'),
    ...noOptions,
    async write(ticket, _o, outDir) {
      const layers = ticket.description.layers.flatMap((l) =>
        l.type === 'dense' ? [{ kernel: Array.from(ticket.weights[l.kernel]!.data), bias: Array.from(ticket.weights[l.bias]!.data), units: l.units, relu: l.activation === 'relu' }] : [],
      );
      writeFileSync(join(outDir, 'model.json'), JSON.stringify(layers));
      return ['model.json'];
    },
    async load(outDir) {
      const layers = JSON.parse(readFileSync(join(outDir, 'model.json'), 'utf8')) as { kernel: number[]; bias: number[]; units: number; relu: boolean }[];
      const inputs = layers[0]!.kernel.length / layers[0]!.units;
      const run = (a: number[]) =>
        layers.reduce((v, l) => l.bias.map((b, j) => ((s) => (l.relu ? Math.max(0, s) : s))(v.reduce((s, vi, i) => s + vi * l.kernel[i * l.units + j]!, b))), a);
      return { predict: (x, batch) => Float32Array.from(Array.from({ length: batch }, (_, n) => run(Array.from(x.subarray(n * inputs, (n + 1) * inputs)))).flat()) };
    },
  };

  it('accepts a conforming exporter', async () => {
    await checkExporter(jsonExporter);
  });

  it('rejects an exporter that drops a bias, edits the ticket, names a file it did not write, or leaks tensors', async () => {
    const noBias: Exporter = {
      ...jsonExporter,
      write: async (ticket, o, outDir) => jsonExporter.write({ ...ticket, weights: { ...ticket.weights, 'output/bias': { shape: [3], data: new Float32Array(3) } } }, o, outDir),
    };
    await expect(checkExporter(noBias)).rejects.toThrow(/exporter "json": the loaded model's logits differ from the ticket's by up to/);
    const inPlace: Exporter = {
      ...jsonExporter,
      write: async (ticket, o, outDir) => (ticket.weights['hidden/kernel']!.data.fill(0), jsonExporter.write(ticket, o, outDir)),
    };
    await expect(checkExporter(inPlace)).rejects.toThrow(/write changed the ticket's weights/);
    const phantom: Exporter = { ...jsonExporter, write: async (ticket, o, outDir) => [...(await jsonExporter.write(ticket, o, outDir)), 'weights.bin'] };
    await expect(checkExporter(phantom)).rejects.toThrow(/write returned weights\.bin, which is not in the directory/);
    const leaking: Exporter = {
      ...jsonExporter,
      load: async (outDir, o, d) => (tf.zeros([2]), jsonExporter.load(outDir, o, d)),
    };
    await expect(checkExporter(leaking)).rejects.toThrow(/leaked 1 tensor/);
  });

  it('fakeExportTicket: a third of each kernel pruned, as zeros', () => {
    const ticket = fakeExportTicket();
    for (const [name, mask] of Object.entries(ticket.masks)) {
      expect(mask.data.filter((m) => m === 0).length * 3).toBe(mask.data.length);
      expect(Array.from(ticket.weights[name]!.data).filter((v, i) => mask.data[i] === 0 && v !== 0)).toEqual([]);
    }
  });
});
