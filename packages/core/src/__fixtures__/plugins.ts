/**
 * Minimal plugins for core's own tests. Core knows no real plugin package, so its tests bring
 * their own: a separable toy dataset, a 2-layer MLP, magnitude scoring, layer-wise top-k and
 * rewinding to an iteration, each the simplest thing that satisfies the contract.
 */
import { Type } from '@sinclair/typebox';
import * as tf from '@tensorflow/tfjs-core';
import type { DependencyContainer } from 'tsyringe';
import {
  API_VERSION,
  type Branch,
  type Dataset,
  type DatasetProvider,
  type Masker,
  type ModelFactory,
  type Rewinder,
  type Scorer,
  type TensorMap,
} from '../contracts.js';
import { countKept, countToPrune, pruneLowest } from '../pruning.js';
import { rng } from '../seed.js';
import { TOKENS } from '../tokens.js';

const meta = (name: string) => ({ name, version: '0.0.1', apiVersion: API_VERSION });

export function toyDataset(seed = 1, n = { train: 600, test: 200 }, features = 8, classes = 3): Dataset {
  const random = rng(seed);
  const centers = Array.from({ length: classes }, () => Array.from({ length: features }, () => random() * 4 - 2));
  const make = (count: number) => {
    const x = new Float32Array(count * features);
    const y = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const c = Math.floor(random() * classes);
      y[i] = c;
      for (let f = 0; f < features; f++) x[i * features + f] = centers[c][f] + (random() - 0.5) * 1.5;
    }
    return { x, y, count };
  };
  const all = make(n.train);
  const v = Math.floor(n.train / 6);
  return {
    name: 'toy',
    inputShape: [features],
    numClasses: classes,
    train: { x: all.x.slice(v * features), y: all.y.slice(v), count: n.train - v },
    validation: { x: all.x.slice(0, v * features), y: all.y.slice(0, v), count: v },
    test: make(n.test),
  };
}

export const toyData: DatasetProvider = {
  meta: meta('toy'),
  optionsSchema: Type.Object({}),
  defaults: {},
  load: async () => toyDataset(),
};

export const mlp: ModelFactory<{ hidden: number }> = {
  meta: meta('mlp'),
  optionsSchema: Type.Object({ hidden: Type.Integer({ minimum: 1, description: 'hidden units' }) }),
  defaults: { hidden: 16 },
  create({ hidden }, { inputShape, numClasses }) {
    const inputs = inputShape.reduce((a, b) => a * b, 1);
    const shapes: Record<string, number[]> = { 'h/kernel': [inputs, hidden], 'h/bias': [hidden], 'out/kernel': [hidden, numClasses], 'out/bias': [numClasses] };
    return {
      weightNames: Object.keys(shapes),
      prunable: ['h/kernel', 'out/kernel'],
      layerOf: { 'h/kernel': 'h', 'out/kernel': 'out' },
      outputLayer: 'out',
      shapes,
      init: (seed) =>
        Object.fromEntries(
          Object.entries(shapes).map(([n, s], i) => [n, n.endsWith('bias') ? tf.zeros(s) : tf.randomNormal(s, 0, 0.5, 'float32', seed + i)]),
        ),
      forward: (w: TensorMap, x) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w['h/kernel']), w['h/bias'])), w['out/kernel']), w['out/bias']),
    };
  },
};

/** The MLP with a batch-norm-like buffer: inputs centred by a running mean of the features. */
export const centredMlp: ModelFactory<{ hidden: number }> = {
  ...mlp,
  meta: meta('centred-mlp'),
  create(options, data) {
    const base = mlp.create(options, data);
    const features = data.inputShape.reduce((a, b) => a * b, 1);
    const centre = (w: TensorMap, x: tf.Tensor, mean: tf.Tensor) => base.forward(w, tf.sub(x, mean), true);
    return {
      ...base,
      buffers: ['centre/mean'],
      init: (seed) => ({ ...base.init(seed), 'centre/mean': tf.zeros([features]) }),
      forward: (w, x) => centre(w, x, w['centre/mean']),
      forwardTrain(w, x) {
        const batchMean = tf.mean(x, 0);
        return { logits: centre(w, x, batchMean), buffers: { 'centre/mean': tf.add(tf.mul(w['centre/mean'], 0.9), tf.mul(batchMean, 0.1)) } };
      },
    };
  },
};

export const magnitude: Scorer = {
  meta: meta('magnitude'),
  optionsSchema: Type.Object({}),
  defaults: {},
  score: (ctx) =>
    Object.fromEntries(ctx.model.prunable.map((n) => [n, { shape: ctx.weights[n].shape, data: tf.tidy(() => tf.abs(ctx.weights[n]).dataSync() as Float32Array) }])),
};

export const layerwise: Masker<{ overrides: Record<string, number> }> = {
  meta: meta('layerwise'),
  optionsSchema: Type.Object({ overrides: Type.Record(Type.String(), Type.Number({ minimum: 0, maximum: 1 }), { description: 'rates' }) }),
  defaults: { overrides: {} },
  mask(scores, masks, rate, o, ctx) {
    let out = {};
    for (const name of ctx.model.prunable) {
      const r = o.overrides[ctx.model.layerOf[name]] ?? rate;
      out = { ...out, ...pruneLowest(scores, masks, [name], countToPrune(r, countKept(masks[name]))) };
    }
    return out;
  },
};

export const rewindTo: Rewinder<{ at: number }> = {
  meta: meta('iteration'),
  optionsSchema: Type.Object({ at: Type.Integer({ minimum: 0, description: 'iteration' }) }),
  defaults: { at: 0 },
  captureAt: (o) => [o.at],
  start(ctx, o) {
    const from = o.at === 0 ? ctx.init : ctx.snapshots.get(o.at)!;
    return { weights: Object.fromEntries(Object.entries(from).map(([n, t]) => [n, t.clone()])), iteration: o.at };
  },
};

/** A control branch: the ticket's mask, a fresh initialisation; trained and stored as a level. */
export const toyReinit: Branch = {
  meta: meta('toy-reinit'),
  optionsSchema: Type.Object({}),
  defaults: {},
  async run(ctx) {
    const summary = await ctx.trainLevel(ctx.masks, { weights: ctx.model.init(ctx.deriveSeed('toy-reinit', ctx.level)), iteration: 0 });
    return { fractionRemaining: summary.fractionRemaining, finalTestAccuracy: summary.finalTestAccuracy };
  },
};

/** A branch that evaluates θT and θ0 of a level and trains two short resumable copies from θ0. */
export const toyProbe: Branch<{ copies: number }> = {
  meta: meta('toy-probe'),
  optionsSchema: Type.Object({ copies: Type.Integer({ minimum: 1, description: 'copies' }) }),
  defaults: { copies: 2 },
  defaultLevels: 'all',
  check: (run, o) => (o.copies > run.totalIterations ? [`copies ${o.copies} > iterations ${run.totalIterations}`] : []),
  async run(ctx, o) {
    const out: Record<string, number> = { testAccuracy: ctx.evaluate(ctx.final, 'test').accuracy };
    for (let c = 0; c < o.copies; c++) {
      const { final, records } = await ctx.train({ key: `copy-${c}`, weights: ctx.init, masks: ctx.masks, endIteration: 10, dataSeed: ctx.deriveSeed('copy', c), evaluate: false });
      out[`copy${c}Sum`] = tf.tidy(() => tf.sum(tf.abs(final['h/kernel'])).dataSync()[0]);
      out[`copy${c}Records`] = records.length;
      tf.dispose(Object.values(final));
    }
    return out;
  },
};

export const fixturePlugins = {
  register(container: DependencyContainer) {
    container.register(TOKENS.dataset, { useValue: toyData });
    container.register(TOKENS.model, { useValue: mlp });
    container.register(TOKENS.model, { useValue: centredMlp });
    container.register(TOKENS.scorer, { useValue: magnitude });
    container.register(TOKENS.masker, { useValue: layerwise });
    container.register(TOKENS.rewinder, { useValue: rewindTo });
    container.register(TOKENS.branch, { useValue: toyReinit });
    container.register(TOKENS.branch, { useValue: toyProbe });
  },
};

export const toyConfig = (over: Record<string, unknown> = {}) => ({
  name: 'toy',
  seed: 3,
  dataset: { use: 'toy', validation: 100 },
  model: { use: 'mlp' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 20, iterations: 60, evalEvery: 20 },
  pruning: {
    schedule: { use: 'iterative', levels: 2, rate: 0.5 },
    scorer: { use: 'magnitude' },
    masker: { use: 'layerwise', overrides: { out: 0.25 } },
    rewind: { use: 'iteration', at: 0 },
  },
  ...over,
});
