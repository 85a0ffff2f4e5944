/**
 * `lth landscape` (an alias of `lth branch <runDir> landscape`) on a tiny synthetic run: it stores
 * the slices at the levels asked for, its flags are the branch's options, a rerun reuses them, bad
 * values exit 2 naming the option, and `lth report` draws the landscape section.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '@lth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

const config = {
  name: 'landscape-cli',
  seed: 0,
  dataset: { use: 'synthetic', validation: 50, train: 200, test: 60 },
  model: { use: 'lenet', hidden: [8] },
  training: { optimizer: { use: 'sgd', lr: 0.05 }, batchSize: 20, iterations: 20, evalEvery: 10 },
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 }, scorer: { use: 'magnitude' }, masker: { use: 'layerwise' }, rewind: { use: 'iteration', at: 0 } },
};

let dir: string;
let runDir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lth-landscape-cli-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const done = await lth('run', file, '--out', join(dir, 'runs'), '--backend', 'cpu');
  expect(done.code, done.stderr).toBe(0);
  runDir = join(dir, 'runs', JSON.parse((await lth('validate', file)).stdout).runDir as string);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lth landscape', () => {
  it('runs the landscape branch at the levels asked for, with its flags as options, and the report draws it', async () => {
    const args = ['landscape', runDir, '--levels', '0,2', '--grid', '3', '--steps', '5', '--examples', '60', '--backend', 'cpu'];
    const first = await lth(...args);
    expect(first.code, first.stderr).toBe(0);
    const rows = new RunStore(runDir).branchRows().filter((r) => r.branch === 'landscape');
    expect(rows.map((r) => r.level)).toEqual([0, 2]);
    expect(rows[0]!.result).toMatchObject({ examplesTrain: 60, examplesTest: 60, plane: 'random' });
    const line = new RunStore(runDir).replicate(0).level(2).branches().find((b) => b.name === 'landscape')!.store.readJson<{ alphas: number[] }>('line.json');
    expect(line.alphas).toEqual([-1, -0.5, 0, 0.5, 1]);
    const again = await lth(...args);
    expect(again.code).toBe(0);
    expect(new RunStore(runDir).branchRows().filter((r) => r.branch === 'landscape')).toEqual(rows);
    const report = await lth('report', runDir);
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(join(runDir, 'report.html'), 'utf8')).toContain('<figure id="landscape-surfaces">');
  }, 120_000);

  it('exits 2 naming the option on a grid that misses θT, an unknown level or a bad number', async () => {
    const grid = await lth('landscape', runDir, '--grid', '2', '--backend', 'cpu');
    expect(grid.code).toBe(2);
    expect(grid.stderr).toMatch(/branch "landscape": grid: 2 must be 0/);
    const level = await lth('landscape', runDir, '--levels', '7', '--backend', 'cpu');
    expect(level.code).toBe(2);
    expect(level.stderr).toMatch(/\/branches\/0\/levels: level 7 does not exist/);
    const examples = await lth('landscape', runDir, '--examples', 'many', '--backend', 'cpu');
    expect(examples.code).toBe(2);
    expect(examples.stderr).toMatch(/--examples many: give a whole number/);
  }, 120_000);
});
