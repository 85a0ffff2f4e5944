/**
 * Ctrl-C (SIGINT) and SIGTERM stop `lth run` cleanly: the command stops at the next progress
 * update, shows the cursor again, says where the run was and how to go on, exits 130 or 143,
 * and leaves no lock behind; the same command then resumes at the interrupted level. (That a
 * resumed run ends with the same results as an uninterrupted one is kill-resume.test.ts.)
 *
 * Spawns the compiled `lth` (`npx tsc -b tsconfig.build.json` first) with `LTH_PROGRESS=bar`, so
 * the bar (and its cursor handling) is drawn although stderr is a pipe.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/bin/lth.js');
const SHOW_CURSOR = '\u001b[?25h';
// Levels long enough that the signal, sent when level 1 draws its first frame, lands well before the level ends.
const config = {
  name: 'interrupted',
  seed: 3,
  dataset: { use: 'synthetic', validation: 100, train: 500, test: 200 },
  model: { use: 'lenet-16' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 32, iterations: 200, evalEvery: 100 },
  pruning: { schedule: { use: 'iterative', levels: 1, rate: 0.2 } },
};

let dir: string;
let out: string;
beforeAll(() => {
  if (!existsSync(join(repo, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `npx tsc -b tsconfig.build.json` first.');
  dir = mkdtempSync(join(tmpdir(), 'lth-interrupt-'));
  out = join(dir, 'runs');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `lth run`; sends `signal` once stderr shows level `atLevel` drawing its bar. */
function lthRun(signal?: { name: NodeJS.Signals; atLevel: number }): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, 'run', 'config.json', '--backend', 'cpu', '--out', out], {
      cwd: dir,
      env: { ...process.env, CI: '', LTH_PROGRESS: 'bar', COLUMNS: '160' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    let sent = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (signal && !sent && stderr.includes(`rep 0 level ${signal.atLevel} (`)) {
        sent = true;
        child.kill(signal.name);
      }
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr, stdout }));
  });
}

const runDir = () => join(out, readdirSync(out).find((d) => d.startsWith('interrupted-'))!);

it('Ctrl-C stops the run (exit 130, cursor shown, where it stopped, lock released); the same command resumes at that level, and SIGTERM stops it too (143)', async () => {
  const first = await lthRun({ name: 'SIGINT', atLevel: 1 });
  expect(first.code, first.stderr).toBe(130);
  expect(first.stderr).toMatch(/replicate 0 level 0 done in/);
  expect(first.stderr.endsWith(`\n${SHOW_CURSOR}lth: interrupted at replicate 0, level 1; rerun the same command to resume\n`)).toBe(true);
  expect(first.stderr).not.toContain('internal error');
  expect(existsSync(join(runDir(), '.lock')), 'the run lock is released').toBe(false);
  expect(existsSync(join(runDir(), 'replicate-0', 'level-1', 'summary.json'))).toBe(false);

  const second = await lthRun({ name: 'SIGTERM', atLevel: 1 });
  expect(second.code, second.stderr).toBe(143);
  // Resumed: level 0 is not trained again, level 1 is.
  expect(second.stderr).toContain('replicate 0 level 0: skipped (complete on disk)');
  expect(second.stderr).toContain('rep 0 level 1 (80.00% left)');
  expect(second.stderr).not.toContain('rep 0 level 0 (');
  expect(second.stderr.endsWith(`${SHOW_CURSOR}lth: interrupted at replicate 0, level 1; rerun the same command to resume\n`)).toBe(true);
}, 120_000);
