/**
 * `lth sweep --jobs 2` trains variants in worker processes at once, and ends with the same files
 * as `--jobs 1` (every shared dense run still trained once, by the first variant that needs it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { snapshot } from './snapshot.js';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/bin/lth.js');
const dir = mkdtempSync(join(tmpdir(), 'lth-jobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sweep = {
  name: 'jobs',
  dataset: { use: 'synthetic', validation: 20, train: 140, test: 40, inputShape: [6], numClasses: 3 },
  model: { use: 'lenet-8-4' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 10, iterations: 30, evalEvery: 10 },
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 } },
  vary: { 'training.optimizer.lr': [0.01, 0.02], 'pruning.masker.use': ['layerwise', 'global'] },
  controls: ['reinit'],
};
writeFileSync(join(dir, 'sweep.json'), JSON.stringify(sweep));

it('gives the same files with --jobs 2 as with --jobs 1, each dense run trained once', { timeout: 300_000 }, () => {
  const run = (jobs: number) => spawnSync(process.execPath, [bin, 'sweep', join(dir, 'sweep.json'), '--backend', 'cpu', '--out', join(dir, `jobs-${jobs}`), '--jobs', String(jobs)], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  const one = run(1);
  expect(one.status, one.stderr).toBe(0);
  const two = run(2);
  expect(two.status, two.stderr).toBe(0);
  expect(snapshot(join(dir, 'jobs-2'))).toEqual(snapshot(join(dir, 'jobs-1')));
  // Two dense runs (two learning rates), each trained once although four variants use them.
  expect(two.stderr.match(/replicate 0 level 0 done/g)).toHaveLength(2);
  // Concurrent lines say whose they are.
  expect(two.stderr).toMatch(/^\[optimizer.lr=0.02, masker.use=global\] replicate 0 level 2 done/m);
  expect(readdirSync(join(dir, 'jobs-2'))).toHaveLength(1);
});
