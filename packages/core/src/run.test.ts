import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePlugins, toyConfig, toyDataset } from './__fixtures__/plugins.js';
import { resolveConfig } from './config.js';
import { loadPlugins } from './loader.js';
import { loadSafetensors } from './store/safetensors.js';
import { runExperiment } from './run/loop.js';
import type { LevelSummary } from './contracts.js';

let registry: Awaited<ReturnType<typeof loadPlugins>>['registry'];
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lth-run-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  ({ registry } = await loadPlugins({ modules: { fixtures: fixturePlugins } }));
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const strip = (rows: LevelSummary[]) => rows.map(({ seconds: _s, ...rest }) => rest);

describe('runExperiment', () => {
  it('trains, prunes and rewinds level after level, and the ticket learns the toy task', async () => {
    const resolved = resolveConfig(toyConfig(), registry);
    const before = tf.memory().numTensors;
    const { runDir, summary, complete } = await runExperiment(resolved, { outDir: tmp(), dataset: toyDataset() });
    expect(complete).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(summary.map((s) => s.level)).toEqual([0, 1, 2]);
    // h: 8×16 = 128 at 50 %/level; out: 16×3 = 48 at 25 %/level.
    expect(summary.map((s) => s.remainingWeights)).toEqual([176, 64 + 36, 32 + 27]);
    expect(summary[0].finalTestAccuracy).toBeGreaterThan(0.9);
    const files = readdirSync(join(runDir, 'replicate-0', 'level-1')).sort();
    expect(files).toEqual(['final.safetensors', 'mask.safetensors', 'metrics.jsonl', 'summary.json']);
    // Pruned weights are exactly zero in the trained weights.
    const mask = loadSafetensors(join(runDir, 'replicate-0', 'level-2', 'mask.safetensors')).tensors['h/kernel'].data;
    const final = loadSafetensors(join(runDir, 'replicate-0', 'level-2', 'final.safetensors')).tensors['h/kernel'].data;
    // -0 counts: it is exactly zero (w × 0 keeps the sign bit).
    for (let i = 0; i < mask.length; i++) if (!mask[i]) expect(final[i] === 0).toBe(true);
    const metrics = readFileSync(join(runDir, 'replicate-0', 'level-0', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.iteration)).toEqual([0, 20, 40, 60]);
  });

  it('a run stopped after a level resumes at the first incomplete level with identical results', async () => {
    const resolved = resolveConfig(toyConfig({ replicates: 2 }), registry);
    const whole = await runExperiment(resolved, { outDir: tmp(), dataset: toyDataset() });
    const out = tmp();
    const first = await runExperiment(resolved, { outDir: out, dataset: toyDataset(), stopAfterLevels: 2 });
    expect(first.complete).toBe(false);
    expect(first.summary).toHaveLength(2);
    const skipped: number[] = [];
    const resumed = await runExperiment(resolved, {
      outDir: out,
      dataset: toyDataset(),
      reporter: { onEvent: (e) => e.type === 'level-skip' && skipped.push(e.level) },
    });
    expect(skipped).toEqual([0, 1]);
    expect(strip(resumed.summary)).toEqual(strip(whole.summary));
  });

  it('after rewinding, surviving weights equal θ0 exactly and pruned ones are zero', async () => {
    const resolved = resolveConfig(toyConfig(), registry);
    const starts: { level: number; weights: Record<string, Float32Array>; masks: Record<string, Uint8Array> }[] = [];
    const { runDir } = await runExperiment(resolved, {
      outDir: tmp(),
      dataset: toyDataset(),
      onLevelStart: (_r, level, weights, masks) =>
        starts.push({
          level,
          weights: Object.fromEntries(Object.entries(weights).map(([n, t]) => [n, Float32Array.from(t.dataSync() as Float32Array)])),
          masks: Object.fromEntries(Object.entries(masks).map(([n, m]) => [n, m.data])),
        }),
    });
    const init = loadSafetensors(join(runDir, 'replicate-0', 'init.safetensors')).tensors;
    expect(starts.map((s) => s.level)).toEqual([0, 1, 2]);
    for (const { weights, masks } of starts) {
      for (const [name, w] of Object.entries(weights)) {
        const theta0 = init[name].data;
        const mask = masks[name];
        for (let i = 0; i < w.length; i++) expect(w[i]).toBe(mask && !mask[i] ? 0 * theta0[i] : theta0[i]);
      }
    }
    expect(Object.values(starts[2].masks).some((m) => m.includes(0))).toBe(true);
  });

  it('late rewinding starts pruned levels at iteration k from θk', async () => {
    const resolved = resolveConfig(toyConfig({ pruning: { ...toyConfig().pruning, rewind: { use: 'iteration', at: 20 } } }), registry);
    const { runDir } = await runExperiment(resolved, { outDir: tmp(), dataset: toyDataset() });
    expect(readdirSync(join(runDir, 'replicate-0'))).toContain('rewind-20.safetensors');
    const metrics = readFileSync(join(runDir, 'replicate-0', 'level-1', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics[0].iteration).toBe(20);
  });

  it('keeps model buffers (batch-norm statistics) out of the optimizer, updates them in training and saves them', async () => {
    const resolved = resolveConfig(toyConfig({ model: { use: 'centred-mlp' } }), registry);
    const before = tf.memory().numTensors;
    const { runDir, summary } = await runExperiment(resolved, { outDir: tmp(), dataset: toyDataset() });
    expect(tf.memory().numTensors).toBe(before);
    const init = loadSafetensors(join(runDir, 'replicate-0', 'init.safetensors')).tensors['centre/mean'].data;
    const final = loadSafetensors(join(runDir, 'replicate-0', 'level-0', 'final.safetensors')).tensors['centre/mean'].data;
    expect(Array.from(init).every((v) => v === 0)).toBe(true);
    expect(Array.from(final).some((v) => Math.abs(v) > 0.1)).toBe(true);
    expect(summary[0].finalTestAccuracy).toBeGreaterThan(0.9);
    // Buffers are never prunable: the mask file holds only the kernels.
    expect(Object.keys(loadSafetensors(join(runDir, 'replicate-0', 'level-1', 'mask.safetensors')).tensors).sort()).toEqual(['h/kernel', 'out/kernel']);
  });
});
