import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { API_VERSION, type Branch } from '../contracts.js';
import { loadPlugins } from '../loader.js';
import { RunStore } from '../store/run-store.js';
import { fakeRunPlugins } from '../testing/check-branch.js';
import { TOKENS } from '../tokens.js';
import { type BranchTrainJob, allLimited, trainBranchJob } from './branch-jobs.js';
import { runExperiment } from './loop.js';

/** A branch that trains two copies of the level from θ0 with two data orders, as instability does. */
const twoCopies: Branch<Record<string, never>> = {
  meta: { name: 'two-copies', version: '0.0.0', apiVersion: API_VERSION },
  optionsSchema: Type.Object({}),
  defaults: {},
  async run(ctx) {
    const results = await ctx.trainAll(['a', 'b'].map((key) => ({ key, weights: ctx.init, masks: ctx.masks, dataSeed: ctx.deriveSeed('copy', key), evaluate: false })));
    const row: Record<string, number> = {};
    results.forEach((r, i) => {
      // Every weight's sum, at full precision: equal rows mean equal trainings.
      for (const [name, t] of Object.entries(r.final)) row[`${i}:${name}`] = tf.tidy(() => tf.sum(t).dataSync()[0]!);
      tf.dispose(Object.values(r.final));
    });
    return row;
  },
};

describe('a branch\'s trainings in other processes (trainAll with a branchTrainer)', async () => {
  const { registry } = await loadPlugins({ modules: { 'fake-run': fakeRunPlugins, 'two-copies': { register: (c) => void c.register(TOKENS.branch, { useValue: twoCopies }) } } });
  const resolved = resolveConfig(
    {
      name: 'jobs',
      dataset: { use: 'fake-data', validation: 30 },
      model: { use: 'fake-model' },
      training: { optimizer: { use: 'sgd', lr: 0.1 }, batchSize: 10, iterations: 20, evalEvery: 10 },
      pruning: { schedule: { use: 'iterative', levels: 1, rate: 0.5 }, scorer: { use: 'fake-magnitude' }, masker: { use: 'fake-layerwise' }, rewind: { use: 'fake-rewind-to-init' } },
      branches: [{ use: 'two-copies' }],
    },
    registry,
  );
  const dirs: string[] = [];
  const out = () => {
    const d = mkdtempSync(join(tmpdir(), 'lth-branch-jobs-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('trains every pending request through the trainer, with exactly the numbers of in-process training, and cleans up', async () => {
    const local = await runExperiment(resolved, { outDir: out() });
    const jobs: BranchTrainJob[] = [];
    const outDir = out();
    // The trainer a CLI would back with worker processes, here in this process: attachRun does not
    // take the lock that the run itself holds.
    const branchTrainer = {
      concurrency: 2,
      async train(job: BranchTrainJob) {
        jobs.push(job);
        await trainBranchJob(resolved, { outDir }, job);
      },
    };
    const remote = await runExperiment(resolved, { outDir, branchTrainer });
    const rows = (dir: string) => new RunStore(dir).branchRows().map((r) => [r.level, r.result]);
    expect(rows(remote.runDir)).toEqual(rows(local.runDir));
    expect(jobs.map((j) => [j.level, j.key])).toEqual([[1, 'a'], [1, 'b']]);
    expect(jobs[0]!.runDir).toBe(remote.runDir);
    const branchDir = jobs[0]!.branchDir;
    expect(readdirSync(branchDir).filter((f) => f.includes('.request'))).toEqual([]);
    expect(readdirSync(branchDir)).toEqual(expect.arrayContaining(['a.json', 'a.safetensors', 'b.json', 'b.safetensors']));
  });

  it('a worker refuses a run directory that holds another config', async () => {
    const outDir = out();
    const other = resolveConfig({ ...JSON.parse(JSON.stringify(resolved.config)), seed: 5 }, registry);
    await runExperiment(resolved, { outDir, stopAfterLevels: 1 });
    const runDir = join(outDir, readdirSync(outDir)[0]!);
    await expect(trainBranchJob(other, { outDir }, { runDir, branchDir: runDir, replicate: 0, level: 0, key: 'x' })).rejects.toThrow(/does not hold this run/);
  });
});

describe('allLimited', () => {
  it('never runs more than the limit at once, runs everything, and throws the first failure after all finished', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    const task = (i: number, fail = false) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      done.push(i);
      if (fail) throw new Error(`task ${i}`);
    };
    await allLimited([0, 1, 2, 3, 4].map((i) => task(i)), 2);
    expect(peak).toBe(2);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4]);
    done.length = 0;
    await expect(allLimited([task(0), task(1, true), task(2, true), task(3)], 3)).rejects.toThrow('task 1');
    expect(done.sort()).toEqual([0, 1, 2, 3]);
  });
});
