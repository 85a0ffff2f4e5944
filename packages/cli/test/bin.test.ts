/**
 * The installed command as a user runs it: `npx lth` from the repository root resolves to
 * `node_modules/.bin/lth` → `packages/cli/bin/lth.js` → compiled `dist/`. Checks that the process
 * exit code (not just `main`'s return value) follows the 0 / 2 contract, and that a piped run
 * prints plain lines.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const bin = join(repo, 'node_modules/.bin/lth');

async function lth(args: string[], cwd = repo): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, CI: '1' };
  try {
    const { stdout, stderr } = await run(bin, args, { cwd, env, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let dir: string;
beforeAll(() => {
  if (!existsSync(join(repo, 'packages/cli/dist/main.js'))) {
    throw new Error('packages/cli/dist is missing: build first (`npx tsc -b tsconfig.build.json` at the repository root).');
  }
  dir = mkdtempSync(join(tmpdir(), 'lth-bin-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('node_modules/.bin/lth from the repository root', () => {
  it('is linked to the cli package', () => {
    expect(existsSync(bin)).toBe(true);
  }, 60_000);

  it('--version prints the cli version and exits 0', async () => {
    const r = await lth(['--version']);
    expect(r.code).toBe(0);
    const { version } = JSON.parse(readFileSync(join(repo, 'packages/cli/package.json'), 'utf8')) as { version: string };
    expect(r.stdout.trim()).toBe(version);
  }, 60_000);

  it('--help lists the commands and exits 0', async () => {
    const r = await lth(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['run', 'validate', 'plugins', 'init']) expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  }, 60_000);

  it('an unknown command exits 2', async () => {
    const r = await lth(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  }, 60_000);

  it('validates the shipped example config', async () => {
    const r = await lth(['validate', 'examples/lenet-mnist.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).config.model.use).toBe('lenet-300-100');
  }, 60_000);

  it('a bad config exits 2 naming the field', async () => {
    const config = JSON.parse(readFileSync(join(repo, 'examples/lenet-mnist.json'), 'utf8'));
    config.training.batchSize = 0;
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(config));
    const r = await lth(['run', file, '--out', join(dir, 'runs'), '--backend', 'cpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^lth: .*\n\s*\/training\/batchSize: /m);
    expect(existsSync(join(dir, 'runs'))).toBe(false);
  }, 60_000);

  it('runs a tiny config, piped: plain lines on stderr, the table on stdout', async () => {
    const config = {
      name: 'bin-tiny',
      dataset: { use: 'synthetic', validation: 100, train: 400, test: 200 },
      model: { use: 'lenet-16' },
      training: { optimizer: { use: 'sgd', lr: 0.1 }, batchSize: 32, iterations: 30, evalEvery: 30 },
      pruning: {
        schedule: { use: 'one-shot', sparsity: 0.5 },
        scorer: { use: 'magnitude' },
        masker: { use: 'global' },
        rewind: { use: 'iteration', at: 0 },
      },
    };
    const file = join(dir, 'tiny.json');
    writeFileSync(file, JSON.stringify(config));
    const r = await lth(['run', file, '--out', join(dir, 'runs'), '--backend', 'cpu'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('replicate 0 level 0: 100.00% of weights remain, training from iteration 0');
    expect(r.stderr).toMatch(/^replicate 0 level 1: 50\.00% of weights remain/m);
    expect(r.stderr).not.toMatch(/\r|\u001b\[/);
    expect(r.stdout).toMatch(/^\s*0\s+1\s+50\.00\s/m);
  }, 60_000);
});
