/**
 * Crash consistency: a run and a sweep killed (SIGKILL, as a power cut) at many points, including
 * between filling a temporary file and renaming it (LTH_CRASH_AT=n, a failpoint in core's atomic
 * writes), then resumed with the same command, end byte-identical to uninterrupted ones, with no
 * temporary file or lock left behind. Kill points are counted in writes, not in time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { snapshot } from './snapshot.js';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/bin/lth.js');
const dir = mkdtempSync(join(tmpdir(), 'lth-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = {
  name: 'crash',
  seed: 2,
  dataset: { use: 'synthetic', validation: 20, train: 140, test: 40, inputShape: [6], numClasses: 3 },
  model: { use: 'lenet-8-4' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 10, iterations: 30, evalEvery: 10 },
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 }, rewind: { use: 'iteration', at: 10 } },
  branches: [{ use: 'reinit' }],
};
const sweep = { ...config, name: 'crash-sweep', vary: { 'pruning.masker.use': ['layerwise', 'global'] }, controls: ['random-prune'] };
writeFileSync(join(dir, 'run.json'), JSON.stringify(config));
writeFileSync(join(dir, 'sweep.json'), JSON.stringify(sweep));

function lth(command: string, file: string, out: string, crashAt?: number) {
  const env = { ...process.env, CI: '1', ...(crashAt ? { LTH_CRASH_AT: String(crashAt) } : {}) };
  delete (env as Record<string, string | undefined>).LTH_DEBUG;
  if (!crashAt) delete (env as Record<string, string | undefined>).LTH_CRASH_AT;
  return spawnSync(process.execPath, [bin, command, join(dir, file), '--backend', 'cpu', '--out', out], { cwd: dir, env, encoding: 'utf8' });
}

function crashAndResume(command: string, file: string, points: number[]) {
  const whole = join(dir, `${command}-whole`);
  const ok = lth(command, file, whole);
  expect(ok.status, ok.stderr).toBe(0);
  const reference = snapshot(whole);
  for (const at of points) {
    const out = join(dir, `${command}-crash-${at}`);
    const killed = lth(command, file, out, at);
    expect(killed.signal, `LTH_CRASH_AT=${at} should kill the ${command}`).toBe('SIGKILL');
    const resumed = lth(command, file, out);
    expect(resumed.status, resumed.stderr).toBe(0);
    const got = snapshot(out);
    expect(Object.keys(got).filter((f) => /\.tmp-\d+$|\.lock$/.test(f)), `leftovers after a crash at write ${at}`).toEqual([]);
    expect(got, `files after a crash at write ${at}`).toEqual(reference);
  }
}

describe('crash consistency', () => {
  it('a run killed at 5 points (during writes) resumes to the same bytes', { timeout: 600_000 }, () => {
    crashAndResume('run', 'run.json', [1, 5, 11, 17, 22]);
  });

  it('a sweep killed at 5 points resumes to the same bytes', { timeout: 600_000 }, () => {
    crashAndResume('sweep', 'sweep.json', [3, 12, 25, 40, 60]);
  });

  it('a kill beyond the last write is no kill (the failpoint counts real writes)', () => {
    const r = lth('run', 'run.json', join(dir, 'run-whole'), 100000);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'run-whole'))).toBe(true);
  });
});
