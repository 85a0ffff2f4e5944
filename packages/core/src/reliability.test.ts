/**
 * What lth promises when things go wrong (docs/reliability.md): one process per run directory,
 * damaged files noticed and named, divergence stopped, leftovers removed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePlugins, toyConfig, toyDataset } from './__fixtures__/plugins.js';
import { resolveConfig } from './config.js';
import { DivergedError, UserError } from './errors.js';
import { loadPlugins } from './loader.js';
import { runExperiment } from './run/loop.js';
import { writeFileAtomic } from './store/io.js';
import { loadSafetensors, saveSafetensors } from './store/safetensors.js';

let registry: Awaited<ReturnType<typeof loadPlugins>>['registry'];
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lth-reliability-'));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  await tf.setBackend('cpu');
  ({ registry } = await loadPlugins({ modules: { fixtures: fixturePlugins } }));
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;
const strip = (rows: { seconds: number }[]) => rows.map(({ seconds: _s, ...rest }) => rest);

async function completeRun() {
  const out = tmp();
  const resolved = resolveConfig(toyConfig(), registry);
  const result = await runExperiment(resolved, { outDir: out, dataset: toyDataset() });
  return { out, resolved, result, level: (l: number) => join(result.runDir, 'replicate-0', `level-${l}`) };
}

describe('one process per run directory', () => {
  it('a second run on the same directory exits with the holder named; the first is unharmed', async () => {
    const out = tmp();
    const resolved = resolveConfig(toyConfig(), registry);
    const [a, b] = await Promise.allSettled([
      runExperiment(resolved, { outDir: out, dataset: toyDataset() }),
      runExperiment(resolved, { outDir: out, dataset: toyDataset() }),
    ]);
    const outcomes = [a, b].map((r) => r.status);
    expect(outcomes.sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = [a, b].find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(UserError);
    expect(String(rejected.reason.message)).toMatch(new RegExp(`in progress by pid ${process.pid} on host ${hostname()}`));
    const done = [a, b].find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<typeof runExperiment>>>;
    expect(done.value.complete).toBe(true);
    expect(existsSync(join(done.value.runDir, '.lock'))).toBe(false);
  });

  it('takes over the lock of a process that died, and removes its temporary files', async () => {
    const { out, resolved, result } = await completeRun();
    const pid = deadPid();
    writeFileSync(join(result.runDir, '.lock'), JSON.stringify({ pid, host: hostname(), since: new Date().toISOString() }));
    const leftover = join(result.runDir, 'replicate-0', 'level-1', `final.safetensors.tmp-${pid}`);
    writeFileSync(leftover, 'partial');
    const again = await runExperiment(resolved, { outDir: out, dataset: toyDataset() });
    expect(again.complete).toBe(true);
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(join(result.runDir, '.lock'))).toBe(false);
  });
});

describe('damaged run files', () => {
  it('a mask edited on disk is caught by its digest, named, and --redo-from recomputes the same level', async () => {
    const { out, resolved, result, level } = await completeRun();
    const file = join(level(1), 'mask.safetensors');
    const { tensors } = loadSafetensors(file);
    const mask = tensors['h/kernel']!.data as Uint8Array;
    mask.fill(1);
    saveSafetensors(file, tensors as never);
    const error = await runExperiment(resolved, { outDir: out, dataset: toyDataset() }).catch((e) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/was changed or damaged since level 1 completed.*--redo-from 1/);
    const redone = await runExperiment(resolved, { outDir: out, dataset: toyDataset(), redoFrom: 1 });
    expect(strip(redone.summary)).toEqual(strip(result.summary));
  });

  it('without digests (runs of 0.1.0): masks must be 0/1 and inside the previous level’s', async () => {
    const { out, resolved, level } = await completeRun();
    for (const l of [0, 1, 2]) {
      const summaryFile = join(level(l), 'summary.json');
      const { digests: _d, ...summary } = JSON.parse(readFileSync(summaryFile, 'utf8'));
      writeFileSync(summaryFile, JSON.stringify(summary));
    }
    const file = join(level(2), 'mask.safetensors');
    const original = readFileSync(file);
    const { tensors } = loadSafetensors(file);
    const data = tensors['h/kernel']!.data as Uint8Array;
    const pruned = data.indexOf(0);
    data[pruned] = 7;
    saveSafetensors(file, tensors as never);
    await expect(runExperiment(resolved, { outDir: out, dataset: toyDataset() })).rejects.toThrow(/holds 7 at index \d+; masks are 0\/1/);
    // A weight that level 1 had pruned comes back at level 2.
    writeFileSync(file, original);
    const level1 = loadSafetensors(join(level(1), 'mask.safetensors')).tensors['h/kernel']!.data as Uint8Array;
    const { tensors: t2 } = loadSafetensors(file);
    (t2['h/kernel']!.data as Uint8Array)[level1.indexOf(0)] = 1;
    saveSafetensors(file, t2 as never);
    await expect(runExperiment(resolved, { outDir: out, dataset: toyDataset() })).rejects.toThrow(/does not fit inside the previous level's/);
  });

  it('a summary replaced by {} or by garbage is named, not read as a result', async () => {
    const { out, resolved, level } = await completeRun();
    const summaryFile = join(level(1), 'summary.json');
    writeFileSync(summaryFile, '{}');
    await expect(runExperiment(resolved, { outDir: out, dataset: toyDataset() })).rejects.toThrow(`${summaryFile} is damaged: replicate, level`);
    writeFileSync(summaryFile, '{"replicate": 0, "lev');
    await expect(runExperiment(resolved, { outDir: out, dataset: toyDataset() })).rejects.toThrow(`${summaryFile} is not valid JSON`);
  });
});

describe('divergence', () => {
  it('stops at the first non-finite loss, names the level, and stores nothing of it', async () => {
    const out = tmp();
    const config = toyConfig({ training: { ...toyConfig().training, optimizer: { use: 'sgd', lr: 1e30 } } });
    const error = await runExperiment(resolveConfig(config, registry), { outDir: out, dataset: toyDataset() }).catch((e) => e);
    expect(error).toBeInstanceOf(DivergedError);
    expect(error.message).toMatch(/^training diverged at iteration \d+ of level 0 \((loss (NaN|Infinity)|weights of .* are not finite)\): lower the learning rate/);
    const runDir = join(out, (await import('node:fs')).readdirSync(out)[0]!);
    expect(existsSync(join(runDir, 'replicate-0', 'level-0', 'summary.json'))).toBe(false);
    expect(tf.memory().numTensors).toBeLessThan(200);
  });
});

describe('atomic writes', () => {
  it('a write that cannot happen names the file and leaves no temporary file', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), 'x');
    const target = join(dir, 'file', 'sub', 'a.json');
    expect(() => writeFileAtomic(target, '{}')).toThrow(UserError);
    expect(() => writeFileAtomic(target, '{}')).toThrow(`cannot write ${target}: a parent of it is a file`);
    mkdirSync(join(dir, 'ok'));
    writeFileAtomic(join(dir, 'ok', 'b.json'), '{}');
    expect(existsSync(join(dir, 'ok', `b.json.tmp-${process.pid}`))).toBe(false);
  });
});
