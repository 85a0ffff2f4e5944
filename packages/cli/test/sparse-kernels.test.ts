/**
 * `lth --sparse-kernels run ...` trains the pruned layers of a run with the native backend's
 * sparse kernels, and each level's summary says which path every masked weight took; without the
 * flag every layer trains dense (the default).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/bin/lth.js');
const dir = mkdtempSync(join(tmpdir(), 'lth-sparse-kernels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const native = spawnSync(process.execPath, [bin, 'plugins', '--json'], { encoding: 'utf8', cwd: dir });
const nativeAvailable = native.status === 0 && (JSON.parse(native.stdout) as { kind: string; name: string; available?: boolean }[]).some((p) => p.kind === 'backend' && p.name === 'native' && p.available);

writeFileSync(
  join(dir, 'run.json'),
  JSON.stringify({
    name: 'sparse',
    dataset: { use: 'synthetic', validation: 40, train: 200, test: 40, inputShape: [32], numClasses: 4 },
    model: { use: 'lenet-64-32' },
    training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 20, iterations: 20, evalEvery: 10 },
    pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.6 } },
  }),
);

function paths(flag: string[], out: string): Record<string, string>[] {
  const r = spawnSync(process.execPath, [bin, ...flag, 'run', 'run.json', '--backend', 'native', '--out', out], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1', LTH_SPARSE_KERNELS: '' } });
  expect(r.status, r.stderr).toBe(0);
  const run = join(dir, out, readdirSync(join(dir, out))[0]!);
  return [0, 1, 2].map((L) => JSON.parse(readFileSync(join(run, 'replicate-0', `level-${L}`, 'summary.json'), 'utf8')).kernelPaths);
}

it.skipIf(!nativeAvailable)('trains the pruned layers sparse with --sparse-kernels, dense without, and says so per level', { timeout: 120_000 }, () => {
  const off = paths([], 'off');
  for (const level of off) expect(new Set(Object.values(level))).toEqual(new Set(['dense']));
  const on = paths(['--sparse-kernels'], 'on');
  // 100 % and 40 % kept: dense (above the 25 % threshold); 16 % kept: every kernel sparse, biases dense.
  expect(new Set(Object.values(on[0]!))).toEqual(new Set(['dense']));
  expect(new Set(Object.values(on[1]!))).toEqual(new Set(['dense']));
  const kernels = Object.entries(on[2]!).filter(([name]) => name.endsWith('kernel'));
  expect(kernels.length).toBeGreaterThan(0);
  for (const [, path] of kernels) expect(path).toBe('sparse');
  for (const [name, path] of Object.entries(on[2]!)) if (name.endsWith('bias')) expect(path).toBe('dense');
});
