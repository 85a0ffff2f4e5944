/**
 * A backend with more than one kernel path (the native backend's sparse kernels) says which
 * path each masked weight took; every level's summary records it, from that level's training
 * only. Here the cpu backend plays such a backend.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePlugins, toyConfig, toyDataset } from '../__fixtures__/plugins.js';
import { resolveConfig } from '../config.js';
import type { KernelPathReporter, LevelSummary } from '../contracts.js';
import { loadPlugins } from '../loader.js';
import { runExperiment } from './loop.js';

const dir = mkdtempSync(join(tmpdir(), 'lth-kernel-paths-'));
let resets = 0;
let trained = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
  // Each level's training "takes" one more layer sparse: level L reports L sparse layers.
  Object.assign(tf.backend(), {
    resetKernelPaths: () => {
      resets++;
      trained++;
    },
    kernelPaths: () => ({ 'dense1/kernel': trained > 1 ? 'sparse' : 'dense', 'output/kernel': 'dense' }),
  } satisfies KernelPathReporter);
});
afterAll(() => {
  const b = tf.backend() as Partial<KernelPathReporter>;
  delete b.kernelPaths;
  delete b.resetKernelPaths;
  rmSync(dir, { recursive: true, force: true });
});

it('records the kernel path of each masked weight in every level summary', async () => {
  const { registry } = await loadPlugins({ modules: { fixtures: fixturePlugins } });
  const resolved = resolveConfig(toyConfig(), registry);
  const result = await runExperiment(resolved, { outDir: dir, dataset: toyDataset() });
  const levels = result.summary.length;
  expect(levels).toBeGreaterThan(1);
  expect(resets).toBe(levels);
  const summary = (L: number) => JSON.parse(readFileSync(join(result.runDir, 'replicate-0', `level-${L}`, 'summary.json'), 'utf8')) as LevelSummary;
  expect(summary(0).kernelPaths).toEqual({ 'dense1/kernel': 'dense', 'output/kernel': 'dense' });
  expect(summary(1).kernelPaths).toEqual({ 'dense1/kernel': 'sparse', 'output/kernel': 'dense' });
  // summary.csv keeps its columns.
  expect(readFileSync(join(result.runDir, 'summary.csv'), 'utf8').split('\n')[0]).not.toContain('kernelPaths');
});
