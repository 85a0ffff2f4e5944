import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePlugins, toyConfig, toyDataset } from './__fixtures__/plugins.js';
import { resolveConfig } from './config.js';
import { API_VERSION, type Masks, type Scorer, type Scores } from './contracts.js';
import { invertScores, randomWithinLayer } from './sanity-checks.js';
import { loadPlugins } from './loader.js';
import { countKept, denseMasks } from './pruning.js';
import { loadSafetensors } from './store/safetensors.js';
import { runExperiment } from './run/loop.js';
import { TOKENS } from './tokens.js';

const masksOf = (data: Record<string, number[]>): Masks =>
  Object.fromEntries(Object.entries(data).map(([n, d]) => [n, { shape: [d.length], data: Uint8Array.from(d) }]));

describe('pruning sanity checks (unit)', () => {
  it('invert negates scores (zeros stay +0)', () => {
    const scores: Scores = { a: { shape: [3], data: Float32Array.from([1, 0, -2]) } };
    const inv = invertScores(scores).a.data;
    expect([...inv]).toEqual([-1, 0, 2]);
    expect(Object.is(inv[1], 0)).toBe(true);
    expect([...scores.a.data]).toEqual([1, 0, -2]);
  });

  it('random-within-layer keeps each tensor’s count, keeps pruned weights pruned, and is seeded', () => {
    const previous = masksOf({ a: [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1], b: [1, 1, 1, 1, 1, 1, 1, 1] });
    const next = masksOf({ a: [1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1], b: [1, 1, 0, 0, 0, 0, 0, 0] });
    const outs = [1, 2, 3].map((seed) => randomWithinLayer(previous, next, seed));
    for (const out of outs) {
      for (const n of ['a', 'b']) {
        expect(countKept(out[n])).toBe(countKept(next[n]));
        out[n].data.forEach((v, i) => expect(v <= previous[n].data[i]).toBe(true));
      }
    }
    expect(randomWithinLayer(previous, next, 1)).toEqual(outs[0]);
    expect(new Set(outs.map((o) => [...o.a.data, ...o.b.data].join(''))).size).toBeGreaterThan(1);
  });
});

// A scorer that records what core hands it: the level's rate, the masker and the accumulated statistic.
const seen: { level: number; rate?: number; masked?: number; accumulated?: number[] }[] = [];
const stepCounter: Scorer = {
  meta: { name: 'step-counter', version: '0.0.1', apiVersion: API_VERSION },
  optionsSchema: Type.Object({}),
  defaults: {},
  accumulator: {
    init: (model) => Object.fromEntries(model.prunable.map((n) => [n, tf.zeros(model.shapes[n])])),
    step: (state) => Object.fromEntries(Object.entries(state).map(([n, t]) => [n, tf.add(t, 1)])),
  },
  score(ctx) {
    const scores: Scores = Object.fromEntries(
      ctx.model.prunable.map((n) => [n, { shape: ctx.weights[n].shape, data: tf.tidy(() => tf.abs(ctx.weights[n]).dataSync() as Float32Array) }]),
    );
    const masked = ctx.mask?.(scores, denseMasks(ctx.model), 0.5);
    seen.push({
      level: ctx.level,
      rate: ctx.rate,
      masked: masked && Object.values(masked).reduce((a, m) => a + countKept(m), 0),
      accumulated: ctx.accumulated && [...new Set(Object.values(ctx.accumulated).flatMap((t) => [...t.dataSync()]))],
    });
    return scores;
  },
};

let registry: Awaited<ReturnType<typeof loadPlugins>>['registry'];
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lth-controls-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  ({ registry } = await loadPlugins({
    modules: { fixtures: fixturePlugins, 'step-counter': { register: (c) => void c.register(TOKENS.scorer, { useValue: stepCounter }) } },
  }));
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const pruning = (over: Record<string, unknown>) => ({ pruning: { ...toyConfig().pruning, ...over } });

describe('runExperiment with scorer hooks and sanity checks', () => {
  it('hands the scorer its rate, the masker and the statistic accumulated over the level’s training; saved for resume', async () => {
    const resolved = resolveConfig(toyConfig(pruning({ scorer: { use: 'step-counter' } })), registry);
    seen.length = 0;
    const before = tf.memory().numTensors;
    const out = tmp();
    const first = await runExperiment(resolved, { outDir: out, dataset: toyDataset(), stopAfterLevels: 1 });
    expect(first.complete).toBe(false);
    const resumed = await runExperiment(resolved, { outDir: out, dataset: toyDataset() });
    expect(resumed.complete).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    // 60 training steps per level; the toy masker prunes 50 % of h (128) and 25 % of out (48) at rate 0.5.
    expect(seen).toEqual([
      { level: 1, rate: 0.5, masked: 64 + 36, accumulated: [60] },
      { level: 2, rate: 0.5, masked: 64 + 36, accumulated: [60] },
    ]);
    const rep = join(resumed.runDir, 'replicate-0');
    expect(Object.keys(loadSafetensors(join(rep, 'level-0', 'accumulated.safetensors')).tensors).sort()).toEqual(['h/kernel', 'out/kernel']);
    expect(existsSync(join(rep, 'level-2', 'accumulated.safetensors'))).toBe(false);
  });

  it('"invert" keeps the lowest scores, "random-within-layer" keeps per-layer counts; "none" hashes like none given', async () => {
    const plain = resolveConfig(toyConfig(), registry);
    expect(resolveConfig(toyConfig(pruning({ sanityCheck: 'none' })), registry).hash).toBe(plain.hash);
    const inverted = resolveConfig(toyConfig(pruning({ sanityCheck: 'invert', schedule: { use: 'iterative', levels: 1, rate: 0.5 } })), registry);
    const shuffled = resolveConfig(toyConfig(pruning({ sanityCheck: 'random-within-layer' })), registry);
    expect(new Set([plain.hash, inverted.hash, shuffled.hash]).size).toBe(3);
    expect(() => resolveConfig(toyConfig(pruning({ sanityCheck: 'flip' })), registry)).toThrow(
      /\/pruning\/sanityCheck: must be equal to one of the allowed values: "none", "invert", "random-within-layer"/,
    );
    expect(() => resolveConfig(toyConfig(pruning({ control: 'shuffle' })), registry)).toThrow(/renamed to \/pruning\/sanityCheck/);

    const inv = await runExperiment(inverted, { outDir: tmp(), dataset: toyDataset() });
    const rep = join(inv.runDir, 'replicate-0');
    const theta = loadSafetensors(join(rep, 'level-0', 'final.safetensors')).tensors['h/kernel'].data;
    const mask = loadSafetensors(join(rep, 'level-1', 'mask.safetensors')).tensors['h/kernel'].data;
    const kept = [...theta].filter((_, i) => mask[i]).map(Math.abs);
    const pruned = [...theta].filter((_, i) => !mask[i]).map(Math.abs);
    expect(kept).toHaveLength(64);
    expect(Math.max(...kept)).toBeLessThanOrEqual(Math.min(...pruned));

    const a = await runExperiment(plain, { outDir: tmp(), dataset: toyDataset() });
    const b = await runExperiment(shuffled, { outDir: tmp(), dataset: toyDataset() });
    expect(b.summary.map((s) => s.layerFractions)).toEqual(a.summary.map((s) => s.layerFractions));
    const maskAt = (dir: string) => loadSafetensors(join(dir, 'replicate-0', 'level-2', 'mask.safetensors')).tensors['h/kernel'].data;
    expect(maskAt(b.runDir)).not.toEqual(maskAt(a.runDir));
  });
});
