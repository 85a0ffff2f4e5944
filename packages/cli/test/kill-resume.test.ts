/**
 * A run killed in the middle of a level (SIGKILL: no cleanup) resumes at the first incomplete
 * level when the same command runs again, and ends with the same summary as a run that was never
 * interrupted.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/bin/lth.js');
const config = {
  name: 'killed',
  seed: 5,
  dataset: { use: 'synthetic', validation: 200, train: 1200, test: 300, noise: 1.5 },
  model: { use: 'lenet-32-16' },
  training: { optimizer: { use: 'adam', lr: 0.003 }, batchSize: 20, iterations: 240, evalEvery: 60 },
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 }, masker: { use: 'layerwise', overrides: { output: 0.25 } } },
};

let dir: string;
beforeAll(() => {
  if (!existsSync(join(repo, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `npx tsc -b tsconfig.build.json` first.');
  dir = mkdtempSync(join(tmpdir(), 'lth-kill-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runDirIn = (out: string) => join(out, readdirSync(out).find((d) => d.startsWith('killed-'))!);
const rows = (out: string) =>
  (JSON.parse(readFileSync(join(runDirIn(out), 'summary.json'), 'utf8')) as Record<string, unknown>[]).map(({ seconds: _s, ...r }) => r);

it('a run killed mid-level resumes and its summary equals an uninterrupted run', async () => {
  const args = (out: string) => [bin, 'run', join(dir, 'config.json'), '--backend', 'cpu', '--out', out];
  const whole = join(dir, 'whole');
  await promisify(execFile)(process.execPath, args(whole), { cwd: dir });

  const killed = join(dir, 'killed');
  const child = spawn(process.execPath, args(killed), { cwd: dir, stdio: 'ignore' });
  // Kill it once level 1 has written evaluations but not its summary.
  const levelDir = () => join(runDirIn(killed), 'replicate-0', 'level-1');
  await new Promise<void>((done, fail) => {
    const timer = setInterval(() => {
      try {
        const metrics = join(levelDir(), 'metrics.jsonl');
        if (existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 2) {
          clearInterval(timer);
          child.kill('SIGKILL');
          done();
        }
      } catch {
        // the run directory does not exist yet
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(timer);
      fail(new Error('the run finished before it could be killed mid-level'));
    });
  });
  await new Promise((r) => child.once('exit', r));
  expect(existsSync(join(levelDir(), 'summary.json'))).toBe(false);
  expect(existsSync(join(runDirIn(killed), 'replicate-0', 'level-0', 'summary.json'))).toBe(true);

  const { stderr } = await promisify(execFile)(process.execPath, args(killed), { cwd: dir, env: { ...process.env, CI: '1' } });
  expect(stderr).toContain('replicate 0 level 0: skipped');
  expect(stderr).not.toContain('level 1: skipped');
  expect(rows(killed)).toEqual(rows(whole));
}, 180_000);
