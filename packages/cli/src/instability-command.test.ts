/**
 * The `instability` branch (@lth/analysis-connectivity) through the real CLI: on a convex problem
 * (a LeNet without hidden layers is multinomial logistic regression) the loss along the path lies
 * under the chord between the copies, so the loss barrier is at most half their difference; and a
 * path with fewer than 3 points or a rewind point at the end of training exits 2 naming it.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '@lth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

const config = (branch: Record<string, unknown>) => ({
  name: 'instability-convex',
  seed: 0,
  dataset: { use: 'synthetic', validation: 100, train: 300, test: 100 },
  model: { use: 'lenet', hidden: [] },
  training: { optimizer: { use: 'sgd', lr: 0.05 }, batchSize: 32, iterations: 40, evalEvery: 20 },
  pruning: { schedule: { use: 'iterative', levels: 1, rate: 0.5 }, scorer: { use: 'magnitude' }, masker: { use: 'layerwise' }, rewind: { use: 'iteration', at: 0 } },
  branches: [{ use: 'instability', ...branch }],
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lth-instability-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function validate(branch: Record<string, unknown>) {
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify(config(branch)));
  return lth('validate', file);
}

describe('branch instability through lth run', () => {
  it('on logistic regression, keeps the path’s loss under the chord between the two copies', async () => {
    const file = join(dir, 'convex.json');
    writeFileSync(file, JSON.stringify(config({ rewindAt: [0, 10], points: 11 })));
    const out = join(dir, 'runs');
    const done = await lth('run', file, '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    const store = new RunStore(join(out, JSON.parse((await lth('validate', file)).stdout).runDir as string));
    const rows = store.branchRows();
    expect(rows.map((r) => r.level)).toEqual([1]);
    for (const k of [0, 10]) {
      const files = store.replicate(0).level(1).branches()[0]!.store;
      const { points } = files.readJson<{ points: { alpha: number; trainLoss: number; testLoss: number }[] }>(`curve-k${k}.json`);
      expect(points).toHaveLength(11);
      for (const split of ['trainLoss', 'testLoss'] as const) {
        const [l0, l1] = [points[0]![split], points[points.length - 1]![split]];
        for (const p of points) expect(p[split]).toBeLessThanOrEqual((1 - p.alpha) * l0 + p.alpha * l1 + 1e-5);
      }
      const { testLoss: l0 } = points[0]!;
      const { testLoss: l1 } = points[points.length - 1]!;
      expect(l0).not.toBe(l1); // two different copies, not a trivially flat path
      expect(rows[0]!.result[`lossBarrier_k${k}`] as number).toBeLessThanOrEqual(Math.abs(l1 - l0) / 2 + 1e-5);
    }
  }, 120_000);

  it('with --jobs 2 trains the two copies in two worker processes, with the numbers of --jobs 1', async () => {
    const c = config({});
    const file = join(dir, 'jobs.json');
    writeFileSync(file, JSON.stringify({ ...c, branches: [] }));
    const out = join(dir, 'jobs');
    expect((await lth('run', file, '--out', out, '--backend', 'cpu')).code).toBe(0);
    const runDir = join(out, JSON.parse((await lth('validate', file)).stdout).runDir as string);
    const copies = [1, 2].map((jobs) => {
      const copy = `${runDir}-jobs${jobs}`;
      cpSync(runDir, copy, { recursive: true });
      return copy;
    });
    for (const [i, copy] of copies.entries()) {
      const done = await lth('branch', copy, 'instability', '--set', 'points=5', '--jobs', String(i + 1), '--backend', 'cpu');
      expect(done.code, done.stderr).toBe(0);
    }
    const [one, two] = copies.map((d) => new RunStore(d).replicate(0).level(1).branches()[0]!.store);
    expect(two!.readJson('curve-k0.json')).toEqual(one!.readJson('curve-k0.json'));
    const pids = (files: typeof one) => [0, 1].map((i) => files!.readJson<{ pid: number }>(`copy-k0-${i}-s${i}.json`).pid);
    expect(pids(one)).toEqual([process.pid, process.pid]);
    const [a, b] = pids(two);
    expect(a).not.toBe(process.pid);
    expect(b).not.toBe(process.pid);
    expect(a).not.toBe(b);
    expect(readdirSync(two!.dir).filter((f) => f.includes('.request'))).toEqual([]);
  }, 120_000);

  it('replays θk where the run saved no snapshot: the same weights the dense run had at k', async () => {
    // Two runs with the same dense level 0: one rewinds to θ10 (so it saves the snapshot), the
    // other rewinds to θ0 and its instability branch replays θ10.
    const out = join(dir, 'replay');
    const runDirOf = async (rewindAt: number, branch: boolean) => {
      const c = config({ rewindAt: [10], points: 3 });
      const file = join(dir, `replay-${rewindAt}.json`);
      writeFileSync(file, JSON.stringify({ ...c, branches: branch ? c.branches : [], pruning: { ...c.pruning, rewind: { use: 'iteration', at: rewindAt } } }));
      const done = await lth('run', file, '--out', out, '--backend', 'cpu');
      expect(done.code, done.stderr).toBe(0);
      return new RunStore(join(out, JSON.parse((await lth('validate', file)).stdout).runDir as string));
    };
    const saved = await runDirOf(10, false);
    const replayed = await runDirOf(0, true);
    expect(replayed.replicate(0).hasRewind(10)).toBe(false);
    const snapshot = saved.replicate(0).readRewind(10, ['output/kernel', 'output/bias']);
    const files = replayed.replicate(0).level(1).branches()[0]!.store;
    const replay = files.readTensors('replay-10.safetensors', Object.keys(snapshot));
    const init = replayed.replicate(0).readInit(Object.keys(snapshot));
    for (const n of Object.keys(snapshot)) {
      expect(Array.from(replay[n]!.dataSync())).toEqual(Array.from(snapshot[n]!.dataSync()));
      expect(Array.from(replay[n]!.dataSync())).not.toEqual(Array.from(init[n]!.dataSync()));
    }
    for (const t of [...Object.values(snapshot), ...Object.values(replay), ...Object.values(init)]) t.dispose();
  }, 120_000);

  it('exits 2 on fewer than 3 points and on a rewind point at or after the end of training', async () => {
    const few = await validate({ points: 2 });
    expect(few.code).toBe(2);
    expect(few.stderr).toMatch(/\/branches\/0\/points/);
    const late = await validate({ rewindAt: [0, 40] });
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/rewindAt 40 is not before the end of training \(iteration 40\)/);
  }, 60_000);
});
