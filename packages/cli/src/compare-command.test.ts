/**
 * `lth compare` in-process, on run stores written by the real `lth run` (tiny synthetic runs):
 * a run with itself overlaps completely, two seeds overlap partly, the CSV and JSON agree with
 * the table, and runs of different models or a directory that is no run exit 2 naming the problem.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OverlapRow } from './commands/compare.js';
import { lth } from './test-utils/in-process.js';

const tiny = (name: string, seed: number, model = 'lenet-16') => ({
  name,
  seed,
  dataset: { use: 'synthetic', validation: 100, train: 300, test: 100 },
  model: { use: model },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 32, iterations: 20, evalEvery: 10 },
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 }, scorer: { use: 'magnitude' }, masker: { use: 'layerwise' }, rewind: { use: 'iteration', at: 0 } },
});

let dir: string;
const runs: Record<string, string> = {};

async function run(key: string, config: object): Promise<void> {
  const file = join(dir, `${key}.json`);
  writeFileSync(file, JSON.stringify(config));
  const done = await lth('run', file, '--out', join(dir, 'runs'), '--backend', 'cpu');
  expect(done.code, done.stderr).toBe(0);
  runs[key] = join(dir, 'runs', JSON.parse((await lth('validate', file, '--no-data')).stdout).runDir as string);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lth-compare-cli-'));
  await run('seed0', tiny('cmp', 0));
  await run('seed1', tiny('cmp', 1));
  await run('other', tiny('cmp-other', 0, 'lenet-8'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lth compare', () => {
  it('gives Jaccard 1 for a run with itself and a partial overlap for two seeds, per level and layer', async () => {
    const same = await lth('compare', runs.seed0!, runs.seed0!, '--json');
    expect(same.code, same.stderr).toBe(0);
    const selfRows = JSON.parse(same.stdout) as OverlapRow[];
    expect(selfRows.every((r) => r.jaccard === 1 && r.sharedOfA === 1)).toBe(true);
    expect([...new Set(selfRows.map((r) => r.level))]).toEqual([0, 1, 2]);

    const csv = join(dir, 'overlap.csv');
    const seeds = await lth('compare', runs.seed0!, runs.seed1!, '--json', '--csv', csv);
    expect(seeds.code, seeds.stderr).toBe(0);
    const rows = JSON.parse(seeds.stdout) as OverlapRow[];
    const all2 = rows.find((r) => r.level === 2 && r.layer === 'all')!;
    expect(all2.remainingA).toBe(all2.remainingB);
    expect(all2.jaccard).toBeGreaterThan(0);
    expect(all2.jaccard).toBeLessThan(1);
    expect(all2.keptA).toBe(all2.keptB);
    expect(all2.shared).toBe(rows.filter((r) => r.level === 2 && r.layer !== 'all').reduce((s, r) => s + r.shared, 0));
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('a,b,level,layer,remainingA,remainingB,size,keptA,keptB,shared,jaccard,sharedOfA,sharedOfB,randomJaccard');
    expect(lines).toHaveLength(rows.length + 1);
  }, 60_000);

  it('prints a table, and with --init compares each ticket with its top-|θ0| mask; --chart draws it', async () => {
    const svg = join(dir, 'overlap.svg');
    const out = await lth('compare', runs.seed0!, '--init', '--chart', svg);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*top-\|θ0\| of cmp-/);
    const bad = await lth('compare', runs.seed0!, '--init', '--chart', join(dir, 'overlap.txt'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--chart .*overlap\.txt: name a \.svg or \.png file/);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^a\s+b\s+level\s+layer\s+remaining a\/b\s+kept a/);
    expect(lines.slice(1).every((l) => l.includes('top-|θ0| of cmp-'))).toBe(true);
    expect(lines.some((l) => /\s2\s+all\s/.test(l))).toBe(true);
  }, 60_000);

  it('compares the runs of a sweep directory (one per variant), labelled by variant', async () => {
    // Named sweep.json on purpose: a sweep config is not a sweep directory's manifest.
    const file = join(dir, 'sweep.json');
    writeFileSync(file, JSON.stringify({ ...tiny('cmp-sweep', 0), vary: { 'pruning.masker.use': ['global', 'layerwise'] } }));
    const sweep = await lth('sweep', file, '--out', join(dir, 'sweeps'), '--backend', 'cpu');
    expect(sweep.code, sweep.stderr).toBe(0);
    const sweepDir = /^sweep: (.*)$/m.exec(sweep.stdout)![1]!;
    const out = await lth('compare', sweepDir, '--json');
    expect(out.code, out.stderr).toBe(0);
    const rows = JSON.parse(out.stdout) as OverlapRow[];
    expect([...new Set(rows.map((r) => `${r.a} | ${r.b}`))]).toEqual(['masker.use=global | masker.use=layerwise']);
    // The dense level 0 is shared; global and layer-wise masks differ once pruning starts.
    expect(rows.find((r) => r.level === 0 && r.layer === 'all')!.jaccard).toBe(1);
    expect(rows.find((r) => r.level === 2 && r.layer === 'all')!.jaccard).toBeLessThan(1);
  }, 120_000);

  it('exits 2 on runs of different models, on one run without --init and on a directory that is no run', async () => {
    const models = await lth('compare', runs.seed0!, runs.other!);
    expect(models.code).toBe(2);
    expect(models.stderr).toMatch(/cannot be compared at level 0: .*(different models|shapes)/);
    const one = await lth('compare', runs.seed0!);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/needs two or more runs/);
    const none = await lth('compare', join(dir, 'runs'), runs.seed0!);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/neither a run directory/);
    // A directory holding a sweep config named sweep.json, not the manifest lth sweep writes.
    const config = await lth('compare', dir, runs.seed0!);
    expect(config.code).toBe(2);
    expect(config.stderr).toMatch(/sweep\.json is not the manifest of a sweep directory/);
  }, 60_000);
});
