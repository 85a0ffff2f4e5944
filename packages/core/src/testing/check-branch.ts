import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { TObject } from '@sinclair/typebox';
import { resolveConfig } from '../config.js';
import { API_VERSION, type Branch, type Dataset, type DatasetProvider, type Masker, type ModelFactory, type Rewinder, type Scorer } from '../contracts.js';
import { loadPlugins } from '../loader.js';
import { countKept, countToPrune, pruneLowest } from '../pruning.js';
import { runExperiment } from '../run/loop.js';
import { fastRng } from '../seed.js';
import { RunStore } from '../store/run-store.js';
import { TOKENS } from '../tokens.js';
import { checkPluginShape, pluginLabel } from './check-plugin.js';
import { fakeModel } from './fake-model.js';

const meta = (name: string) => ({ name, version: '0.0.0', apiVersion: API_VERSION });

/** Three Gaussian blobs in 6 dimensions: learnable in a few dozen steps of the fake model. */
export function fakeDataset(seed = 1): Dataset {
  const random = fastRng(seed);
  const centres = [0, 1, 2].map(() => Array.from({ length: 6 }, () => random() * 4 - 2));
  const split = (count: number) => {
    const x = new Float32Array(count * 6);
    const y = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      y[i] = i % 3;
      for (let f = 0; f < 6; f++) x[i * 6 + f] = centres[y[i]][f] + (random() - 0.5);
    }
    return { x, y, count };
  };
  return { name: 'fake', inputShape: [6], numClasses: 3, train: split(120), validation: split(30), test: split(30) };
}

/** The plugins of a tiny run that `checkBranch` hangs a branch off: data, model, scorer, masker, rewinder. */
export const fakeRunPlugins = {
  register(container: import('tsyringe').DependencyContainer) {
    const data: DatasetProvider = { meta: meta('fake-data'), optionsSchema: Type.Object({}), defaults: {}, load: async () => fakeDataset() };
    const model: ModelFactory = { meta: meta('fake-model'), optionsSchema: Type.Object({}), defaults: {}, create: () => fakeModel() };
    const scorer: Scorer = {
      meta: meta('fake-magnitude'),
      optionsSchema: Type.Object({}),
      defaults: {},
      score: (ctx) =>
        Object.fromEntries(ctx.model.prunable.map((n) => [n, { shape: ctx.weights[n].shape, data: tf.tidy(() => tf.abs(ctx.weights[n]).dataSync() as Float32Array) }])),
    };
    const masker: Masker = {
      meta: meta('fake-layerwise'),
      optionsSchema: Type.Object({}),
      defaults: {},
      mask: (scores, masks, rate, _o, ctx) =>
        Object.assign({}, ...ctx.model.prunable.map((n) => pruneLowest(scores, masks, [n], countToPrune(rate, countKept(masks[n]))))),
    };
    const rewinder: Rewinder = {
      meta: meta('fake-rewind-to-init'),
      optionsSchema: Type.Object({}),
      defaults: {},
      captureAt: () => [0],
      start: (ctx) => ({ weights: Object.fromEntries(Object.entries(ctx.init).map(([n, t]) => [n, t.clone()])), iteration: 0 }),
    };
    container.register(TOKENS.dataset, { useValue: data });
    container.register(TOKENS.model, { useValue: model });
    container.register(TOKENS.scorer, { useValue: scorer });
    container.register(TOKENS.masker, { useValue: masker });
    container.register(TOKENS.rewinder, { useValue: rewinder });
  },
};

export interface CheckBranchOptions<O> {
  /** Options passed to the branch, over its defaults. */
  options?: Partial<O>;
  /** Training iterations of each level of the tiny run (default 30). */
  iterations?: number;
}

/**
 * Runs a branch through core on a tiny run (the fake model on three Gaussian blobs, two pruned
 * levels), and throws (AssertionError) on any violation of the Branch contract: the plugin's
 * shape; a result of numbers, strings, booleans or nulls at every level it applies to; no tensor
 * left behind and none of the context's disposed; and, on a second run over the same directory,
 * nothing recomputed (the stored results are reused).
 */
export async function checkBranch<O>(branch: Branch<O>, opts: CheckBranchOptions<O> = {}): Promise<void> {
  const label = pluginLabel('branch', branch);
  checkPluginShape('branch', branch);
  assert.equal(typeof branch.run, 'function', `${label}: run must be a function`);
  const options = { ...branch.defaults, ...opts.options } as Record<string, unknown>;
  assert.ok(Value.Check(branch.optionsSchema as TObject, options), `${label}: options ${JSON.stringify(options)} do not match optionsSchema`);
  let calls = 0;
  const counted: Branch<O> = { ...branch, run: (ctx, o) => (calls++, branch.run(ctx, o)) };
  const { registry } = await loadPlugins({
    modules: { 'fake-run': fakeRunPlugins, [branch.meta.package ?? 'branch-under-test']: { register: (c) => void c.register(TOKENS.branch, { useValue: counted }) } },
  });
  const config = {
    name: 'check-branch',
    dataset: { use: 'fake-data', validation: 30 },
    model: { use: 'fake-model' },
    training: { optimizer: { use: 'sgd', lr: 0.1 }, batchSize: 10, iterations: opts.iterations ?? 30, evalEvery: 10 },
    pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 }, scorer: { use: 'fake-magnitude' }, masker: { use: 'fake-layerwise' }, rewind: { use: 'fake-rewind-to-init' } },
    branches: [{ use: branch.meta.name, ...options }],
  };
  const resolved = resolveConfig(config, registry);
  const out = mkdtempSync(join(tmpdir(), 'lth-check-branch-'));
  try {
    const before = tf.memory().numTensors;
    const first = await runExperiment(resolved, { outDir: out });
    assert.ok(first.complete, `${label}: the run did not complete`);
    assert.equal(tf.memory().numTensors, before, `${label}: ${tf.memory().numTensors - before} tensor(s) left behind (dispose what services return)`);
    const rows = new RunStore(first.runDir).branchRows();
    const expected = branch.defaultLevels === 'all' ? [0, 1, 2] : [1, 2];
    assert.deepEqual(rows.map((r) => r.level), expected, `${label}: expected a result at levels ${expected.join(', ')}`);
    for (const row of rows) {
      for (const [key, value] of Object.entries(row.result)) {
        const ok = value === null || ['number', 'string', 'boolean'].includes(typeof value);
        assert.ok(ok, `${label}: result field "${key}" at level ${row.level} must be a number, string, boolean or null (one CSV cell)`);
      }
    }
    const ran = calls;
    await runExperiment(resolved, { outDir: out });
    assert.equal(calls, ran, `${label}: ran again on levels whose result was stored`);
    assert.deepEqual(new RunStore(first.runDir).branchRows(), rows, `${label}: stored results changed on rerun`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
