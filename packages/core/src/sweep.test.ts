import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePlugins, toyConfig, toyDataset } from './__fixtures__/plugins.js';
import { resolveConfig } from './config.js';
import type { LevelSummary, RunEvent } from './contracts.js';
import { loadPlugins } from './loader.js';
import type { PluginRegistry } from './registry.js';
import { runExperiment } from './run.js';
import { loadSafetensors } from './safetensors.js';
import { expandSweep, runSweep } from './sweep.js';

let registry: PluginRegistry;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lth-sweep-'));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  await tf.setBackend('cpu');
  const loaded = await loadPlugins({ modules: { fixtures: fixturePlugins } });
  registry = loaded.registry;
  // The sweep loads data through the dataset plugin: the toy one is the fixture's.
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const sweepConfig = (over: Record<string, unknown> = {}) => ({
  ...toyConfig({ name: 'ablation', replicates: 2 }),
  vary: { 'pruning.rewind.at': [0, 20], '/pruning/schedule/rate': [0.5, 0.3] },
  controls: ['reinit', 'random-prune'],
  ...over,
});
const strip = (rows: LevelSummary[]) => rows.map(({ seconds: _s, backend: _b, ...rest }) => rest);

describe('expandSweep', () => {
  it('expands the grid product (and explicit variants) with readable labels', () => {
    const { variants, controls } = expandSweep(
      { ...sweepConfig(), variants: [{ set: {} }, { label: 'wide', set: { 'model.hidden': 32 } }] },
      registry,
    );
    expect(controls).toEqual(['reinit', 'random-prune']);
    expect(variants.map((v) => v.label)).toEqual([
      'rewind.at=0, schedule.rate=0.5',
      'rewind.at=0, schedule.rate=0.5, wide',
      'rewind.at=0, schedule.rate=0.3',
      'rewind.at=0, schedule.rate=0.3, wide',
      'rewind.at=20, schedule.rate=0.5',
      'rewind.at=20, schedule.rate=0.5, wide',
      'rewind.at=20, schedule.rate=0.3',
      'rewind.at=20, schedule.rate=0.3, wide',
    ]);
    expect(variants[1].resolved.config.model).toEqual({ use: 'mlp', hidden: 32 });
  });

  it('validates every variant before anything trains, naming the variant and the field', () => {
    expect(() => expandSweep(sweepConfig({ vary: { 'pruning.schedule.rate': [0.5, 1.5] } }), registry)).toThrow(
      /variant "schedule.rate=1.5": invalid config:\n {2}\/pruning\/schedule\/rate/,
    );
    expect(() => expandSweep(sweepConfig({ controls: ['reinit', 'random'] }), registry)).toThrow('/controls/1: unknown control "random"');
    expect(() => expandSweep(sweepConfig({ vary: { 'model.hidden': [] } }), registry)).toThrow('/vary/model.hidden: must be a non-empty array');
  });
});

describe('runSweep', () => {
  it('trains the shared dense run once per replicate, replays missing rewind points, runs controls, and resumes', async () => {
    const out = tmp();
    const events: RunEvent[] = [];
    const raw = sweepConfig({ vary: { 'pruning.rewind.at': [0, 20] } });
    // Interrupted after 5 trained levels, then resumed.
    const first = await runSweep(raw, registry, { outDir: out, reporter: { onEvent: (e) => events.push(e) }, stopAfterLevels: 5 });
    expect(first.complete).toBe(false);
    const second = await runSweep(raw, registry, { outDir: out, reporter: { onEvent: (e) => events.push(e) } });
    expect(second.complete).toBe(true);
    expect(second.sweepDir).toBe(first.sweepDir);

    const starts = events.filter((e): e is Extract<RunEvent, { type: 'level-start' }> => e.type === 'level-start');
    // Dense level 0: once per replicate for the whole sweep (2), not once per variant (4).
    expect(starts.filter((e) => e.level === 0)).toHaveLength(2);
    // Every pruned level trained exactly once across the interruption: 2 variants × 2 replicates
    // × 2 levels, plus 2 controls of each of those.
    expect(starts.filter((e) => e.level > 0)).toHaveLength(8 + 16);
    // The rewind point 20 is missing from the dense run (trained by the rewind-0 variant): replayed, per replicate.
    expect(events.filter((e) => e.type === 'replay').map((e) => (e as { iteration: number }).iteration)).toEqual([20, 20]);

    // The replayed rewind point gives exactly the run a standalone (unshared) run gives.
    const rewind20 = second.manifest.runs.find((r) => r.label === 'rewind.at=20' && !r.control)!;
    const shared = JSON.parse(readFileSync(join(second.sweepDir, rewind20.dir, 'summary.json'), 'utf8')) as LevelSummary[];
    const alone = await runExperiment(resolveConfig(toyConfig({ replicates: 2, pruning: { ...toyConfig().pruning, rewind: { use: 'iteration', at: 20 } } }), registry), {
      outDir: tmp(),
      dataset: toyDataset(),
    });
    expect(strip(shared)).toEqual(strip(alone.summary));

    // Controls: level 1..n only, the same per-layer counts as their variant.
    for (const run of second.manifest.runs.filter((r) => r.control)) {
      const variant = second.manifest.runs.find((r) => r.label === run.label && !r.control)!;
      const rows = JSON.parse(readFileSync(join(second.sweepDir, run.dir, 'summary.json'), 'utf8')) as LevelSummary[];
      expect(rows.map((r) => r.level)).toEqual([1, 2, 1, 2]);
      for (const level of [1, 2]) {
        const a = loadSafetensors(join(second.sweepDir, variant.dir, 'replicate-0', `level-${level}`, 'mask.safetensors')).tensors;
        const b = loadSafetensors(join(second.sweepDir, run.dir, 'replicate-0', `level-${level}`, 'mask.safetensors')).tensors;
        for (const name of Object.keys(a)) {
          const count = (t: { data: ArrayLike<number> }) => Array.from(t.data).reduce((s, v) => s + v, 0);
          expect(count(b[name])).toBe(count(a[name]));
          if (run.control === 'reinit') expect(Array.from(b[name].data)).toEqual(Array.from(a[name].data));
          else expect(Array.from(b[name].data)).not.toEqual(Array.from(a[name].data));
        }
      }
    }
  }, 240_000);
});
