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
import { runExperiment } from './run/loop.js';
import { RunStore } from './store/run-store.js';
import { loadSafetensors } from './store/safetensors.js';
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
  controls: ['toy-reinit'],
  ...over,
});
const strip = (rows: LevelSummary[]) => rows.map(({ seconds: _s, backend: _b, ...rest }) => rest);

describe('expandSweep', () => {
  it('expands the grid product (and explicit variants) with readable labels', () => {
    const { variants, controls } = expandSweep(
      { ...sweepConfig(), variants: [{ set: {} }, { label: 'wide', set: { 'model.hidden': 32 } }] },
      registry,
    );
    expect(controls).toEqual(['toy-reinit']);
    expect(variants[0].resolved.branches.map((b) => b.plugin.meta.name)).toEqual(['toy-reinit']);
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
    expect(() => expandSweep(sweepConfig({ controls: ['toy-reinit', 'random'] }), registry)).toThrow('/controls/1: unknown branch "random"');
    expect(() => expandSweep(sweepConfig({ vary: { 'model.hidden': [] } }), registry)).toThrow(/\/vary\/model.hidden: must NOT have fewer than 1 items/);
    expect(() => expandSweep(sweepConfig({ vary: {}, variants: [{ label: 'a', set: {} }, { label: 'a', set: { 'model.hidden': 8 } }] }), registry)).toThrow(
      'two variants are labelled "a"',
    );
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
    // × 2 levels; the control branch once at each of those.
    expect(starts.filter((e) => e.level > 0)).toHaveLength(8);
    expect(events.filter((e) => e.type === 'branch-end')).toHaveLength(8);
    // The rewind point 20 is missing from the dense run (trained by the rewind-0 variant): replayed, per replicate.
    expect(events.filter((e) => e.type === 'replay').map((e) => (e as { iteration: number }).iteration)).toEqual([20, 20]);

    // The replayed rewind point gives exactly the run a standalone (unshared) run gives.
    const rewind20 = second.manifest.runs.find((r) => r.label === 'rewind.at=20')!;
    const shared = JSON.parse(readFileSync(join(second.sweepDir, rewind20.dir, 'summary.json'), 'utf8')) as LevelSummary[];
    const alone = await runExperiment(resolveConfig(toyConfig({ replicates: 2, pruning: { ...toyConfig().pruning, rewind: { use: 'iteration', at: 20 } } }), registry), {
      outDir: tmp(),
      dataset: toyDataset(),
    });
    expect(strip(shared)).toEqual(strip(alone.summary));

    // The control branch: level 1..n only, the same masks as its variant, its own levels stored in its directory.
    for (const run of second.manifest.runs) {
      const store = new RunStore(join(second.sweepDir, run.dir));
      const rows = store.branchRows();
      expect(rows.map((r) => [r.replicate, r.level, r.branch])).toEqual([[0, 1, 'toy-reinit'], [0, 2, 'toy-reinit'], [1, 1, 'toy-reinit'], [1, 2, 'toy-reinit']]);
      for (const row of rows) {
        const level = store.replicate(row.replicate).level(row.level);
        const control = level.branches()[0].store.level();
        expect(control.readSummary().fractionRemaining).toBe(row.result.fractionRemaining);
        expect(control.readMasks()).toEqual(level.readMasks());
        expect(control.readMetrics().length).toBeGreaterThan(0);
      }
      expect(readFileSync(join(store.dir, 'branches.csv'), 'utf8').split('\n')[0]).toBe('replicate,level,branch,id,fractionRemaining,finalTestAccuracy');
    }
  }, 240_000);
});
