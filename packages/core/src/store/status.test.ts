import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePlugins, toyConfig, toyDataset } from '../__fixtures__/plugins.js';
import { resolveConfig } from '../config.js';
import { loadPlugins } from '../loader.js';
import { runExperiment } from '../run/loop.js';
import { RunLock } from './lock.js';
import { LevelStore, RunStore } from './run-store.js';
import { runStatus } from './status.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lth-status-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('LevelStore.readMetricsTolerant', () => {
  it('returns the whole lines, numbers the corrupt ones, and leaves a half-appended last line for later', () => {
    const level = new LevelStore(tmp());
    level.startMetrics();
    level.appendMetrics({ iteration: 0, lr: 1, trainLoss: 2, trainAccuracy: 0.1, validationLoss: 2, validationAccuracy: 0.1, testLoss: 2, testAccuracy: 0.1 });
    appendFileSync(level.metricsFile, '{"iteration": 10, "trainLo\n');
    appendFileSync(level.metricsFile, '[1,2]\n');
    level.appendMetrics({ iteration: 20, lr: 1, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1, validationAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5 });
    appendFileSync(level.metricsFile, '{"iteration": 30, "lr"');
    const { records, corrupt } = level.readMetricsTolerant();
    expect(records.map((r) => r.iteration)).toEqual([0, 20]);
    expect(corrupt).toEqual([
      { line: 2, text: '{"iteration": 10, "trainLo' },
      { line: 3, text: '[1,2]' },
    ]);
    // The strict reader still refuses the damaged file.
    expect(() => level.readMetrics()).toThrow();
  });

  it('is empty for a level that has not written metrics yet', () => {
    expect(new LevelStore(join(tmp(), 'nothing')).readMetricsTolerant()).toEqual({ records: [], corrupt: [] });
  });
});

describe('runStatus', () => {
  let registry: Awaited<ReturnType<typeof loadPlugins>>['registry'];
  beforeAll(async () => {
    await tf.setBackend('cpu');
    ({ registry } = await loadPlugins({ modules: { fixtures: fixturePlugins } }));
  });

  it('is complete after a whole run, interrupted after a run stopped early, and neither marker survives a reopened run', async () => {
    const resolved = resolveConfig(toyConfig(), registry);
    const stopped = await runExperiment(resolved, { outDir: tmp(), dataset: toyDataset(), stopAfterLevels: 1 });
    expect(stopped.complete).toBe(false);
    expect(runStatus(stopped.runDir)).toBe('interrupted');
    const whole = await runExperiment(resolved, { runDir: stopped.runDir, dataset: toyDataset() });
    expect(whole.complete).toBe(true);
    expect(runStatus(whole.runDir)).toBe('complete');
    // Redoing a level reopens the run: it is not complete until that level is stored again.
    const redo = await runExperiment(resolved, { runDir: whole.runDir, dataset: toyDataset(), redoFrom: 2, stopAfterLevels: 0 });
    expect(redo.complete).toBe(false);
    expect(runStatus(whole.runDir)).toBe('interrupted');
  });

  it('is running while a live process holds the lock, also on another host until its lease expires', () => {
    const dir = tmp();
    new RunStore(dir).markComplete(2);
    const lock = new RunLock(dir);
    lock.lock();
    try {
      expect(runStatus(dir)).toBe('running');
    } finally {
      lock.unlock();
    }
    expect(runStatus(dir)).toBe('complete');
    const write = (holder: object) => writeFileSync(join(dir, '.lock'), JSON.stringify(holder));
    // A dead process of this host: its lock is stale.
    write({ pid: 2 ** 22 + 12345, host: hostname(), since: new Date().toISOString() });
    expect(runStatus(dir)).toBe('complete');
    write({ pid: 1, host: `not-${hostname()}`, since: new Date().toISOString() });
    expect(runStatus(dir)).toBe('running');
    const now = Date.parse('2026-12-02T08:00:00Z');
    write({ pid: 1, host: `not-${hostname()}`, since: '2026-12-02T07:00:00Z', expires: '2026-12-02T07:59:00Z' });
    expect(runStatus(dir, now)).toBe('complete');
    write({ pid: 1, host: `not-${hostname()}`, since: '2026-12-02T07:00:00Z', expires: '2026-12-02T08:01:00Z' });
    expect(runStatus(dir, now)).toBe('running');
  });
});
