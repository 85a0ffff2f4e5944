/**
 * The publishing story, for real: `npm pack` the CLI, core, the first-party plugins it depends on
 * and `examples/plugin-example` (a package outside the workspace), install the tarballs into a
 * fresh project in the temp directory as a user would install them from npm, and check that the
 * installed `lth` discovers the third-party scorer and runs a config that names it.
 *
 * Uses each package's compiled `dist/` (Nx runs `^build` before `test`; `npx tsc -b
 * tsconfig.build.json` at the repository root builds them all). Needs no network: everything
 * third-party is already in the npm cache because the workspace installed it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const examplePlugin = join(repo, 'examples/plugin-example');
/** What `@lth/cli` needs at run time: its @lth dependencies and theirs (e.g. @lth/export → @lth/sparse-runtime). */
function lthDependencies(pkg: string, seen = new Set<string>()): Set<string> {
  const manifest = JSON.parse(readFileSync(join(repo, 'packages', pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const name of Object.keys(manifest.dependencies ?? {}).filter((n) => n.startsWith('@lth/'))) {
    const dir = name.slice('@lth/'.length);
    if (!seen.has(dir)) {
      seen.add(dir);
      lthDependencies(dir, seen);
    }
  }
  return seen;
}
const cliDependencies = [...lthDependencies('cli')];
const workspaceNames = [...cliDependencies, 'cli'].sort();
const workspacePackages = workspaceNames.map((p) => join(repo, 'packages', p));

const SCORER = 'example-magnitude-power';

/** The environment without the npm_* variables an enclosing `npm test` sets (they would leak config). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, CI: '1', NO_COLOR: '1' };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(file: string, args: string[], cwd: string): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: cleanEnv(), maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function packageVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

let work: string;
let project: string;
let lth: string;

beforeAll(async () => {
  const unbuilt = workspacePackages.filter((p) => !existsSync(join(p, 'dist/index.js')));
  if (unbuilt.length) {
    throw new Error(
      `These packages have no dist/ to pack: ${unbuilt.map((p) => p.slice(repo.length + 1)).join(', ')}. ` +
        'Build first: `npx tsc -b tsconfig.build.json` at the repository root (or run the tests through Nx, which builds dependencies).',
    );
  }
  work = mkdtempSync(join(tmpdir(), 'lth-third-party-'));
  const packs = join(work, 'packs');
  project = join(work, 'project');

  mkdirSync(packs);
  mkdirSync(project);
  // One `npm pack` call for every folder; --json says which tarball came from which package.
  const pack = await exec('npm', ['pack', '--json', '--pack-destination', packs, ...workspacePackages, examplePlugin], work);
  expect(pack.code, `npm pack failed:\n${pack.stderr}`).toBe(0);
  const tarballs = (JSON.parse(pack.stdout) as { filename: string }[]).map((t) => join(packs, t.filename));
  expect(tarballs).toHaveLength(workspacePackages.length + 1);
  expect(tarballs.some((t) => t.endsWith('lth-plugin-example-1.0.0.tgz'))).toBe(true);

  // A user's project. @types/node (pulled in by tfjs-data's typings as "*") is pinned to the
  // version the workspace installed, so the install can be served from the npm cache alone.
  const manifest: Record<string, unknown> = { name: 'lth-user-project', private: true, type: 'module' };
  const typesNode = join(repo, 'node_modules/@types/node');
  if (existsSync(typesNode)) manifest.overrides = { '@types/node': packageVersion(typesNode) };
  writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const flags = ['--no-audit', '--no-fund', '--loglevel=error'];
  let install = await exec('npm', ['install', '--offline', ...flags, ...tarballs], project);
  if (install.code !== 0) {
    // Something third-party is missing from the cache: let npm fetch only that.
    install = await exec('npm', ['install', '--prefer-offline', ...flags, ...tarballs], project);
  }
  expect(install.code, `npm install of the packed tarballs failed:\n${install.stderr}`).toBe(0);
  lth = join(project, 'node_modules/.bin/lth');
  expect(existsSync(lth), 'the installed @lth/cli provides node_modules/.bin/lth').toBe(true);
  writeFileSync(join(project, 'config.json'), readFileSync(join(examplePlugin, 'config.json')));
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a third-party plugin installed from a tarball beside @lth/cli', () => {
  it('is installed as a package of its own, not a link into the repository', () => {
    const installed = join(project, 'node_modules/lth-plugin-example');
    expect(existsSync(join(installed, 'index.js'))).toBe(true);
    expect(packageVersion(installed)).toBe('1.0.0');
    expect(readdirSync(join(project, 'node_modules/@lth')).sort()).toEqual(workspaceNames);
  }, 120_000);

  it('is listed by `lth plugins --json` with its package and version, beside the first-party plugins', async () => {
    const r = await exec(lth, ['plugins', '--json'], project);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { kind: string; name: string; package: string; version: string; description: string }[];
    expect(rows).toContainEqual(
      expect.objectContaining({ kind: 'scorer', name: SCORER, package: 'lth-plugin-example', version: '1.0.0', description: expect.stringContaining('|w|^power') }),
    );
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'scorer', name: 'magnitude', package: '@lth/strategy-magnitude' }));
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'masker', name: 'layerwise', package: '@lth/strategy-magnitude' }));
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'rewinder', name: 'iteration', package: '@lth/rewind-late' }));
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'dataset', name: 'synthetic', package: '@lth/datasets' }));
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'branch', name: 'example-supermask', package: 'lth-plugin-example', version: '1.0.0' }));
    for (const control of ['reinit', 'random-prune', 'shuffle']) {
      expect(rows).toContainEqual(expect.objectContaining({ kind: 'branch', name: control, package: '@lth/controls' }));
    }
    // Nothing was picked up from the repository's own node_modules.
    expect(rows.filter((row) => row.package === '@lth/backend-native')).toEqual([]);
  }, 120_000);

  it("has its options validated against its own schema, defaults filled in from its `defaults`", async () => {
    const config = JSON.parse(readFileSync(join(project, 'config.json'), 'utf8'));
    delete config.pruning.scorer.power;
    writeFileSync(join(project, 'no-power.json'), JSON.stringify(config));
    const ok = await exec(lth, ['validate', 'no-power.json'], project);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).config.pruning.scorer).toEqual({ use: SCORER, power: 2 });

    config.pruning.scorer.power = 0;
    writeFileSync(join(project, 'bad-power.json'), JSON.stringify(config));
    const bad = await exec(lth, ['validate', 'bad-power.json'], project);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('/pruning/scorer/power');
  }, 120_000);

  it('runs a config that names its scorer', async () => {
    const out = join(work, 'runs');
    const r = await exec(lth, ['run', 'config.json', '--backend', 'cpu', '--out', out], project);
    expect(r.code, r.stderr).toBe(0);
    const [runDir, ...others] = readdirSync(out);
    expect(others).toEqual([]);
    expect(runDir).toMatch(/^plugin-example-[0-9a-f]{12}$/);
    const resolved = JSON.parse(readFileSync(join(out, runDir!, 'config.json'), 'utf8'));
    expect(resolved.pruning.scorer).toEqual({ use: SCORER, power: 2 });
    const summary = JSON.parse(readFileSync(join(out, runDir!, 'summary.json'), 'utf8')) as { level: number; fractionRemaining: number; backend: string }[];
    expect(summary.map((s) => [s.level, s.fractionRemaining, s.backend])).toEqual([
      [0, 1, 'cpu'],
      [1, 0.5, 'cpu'],
      [2, 0.25, 'cpu'],
    ]);
    expect(r.stdout).toMatch(/% weights left/);

    // Its branch, on the run just made: every level (it asks for all), resumable, in branches.csv.
    const branch = await exec(lth, ['branch', join(out, runDir!), 'example-supermask', '--set', 'split=validation', '--backend', 'cpu'], project);
    expect(branch.code, branch.stderr).toBe(0);
    const rows = JSON.parse(readFileSync(join(out, runDir!, 'branches.json'), 'utf8')) as { level: number; branch: string; result: Record<string, number> }[];
    expect(rows.map((row) => [row.level, row.branch])).toEqual([0, 1, 2].map((l) => [l, 'example-supermask']));
    for (const row of rows) {
      expect(row.result.supermaskAccuracy).toBeGreaterThanOrEqual(0);
      expect(row.result.trainedAccuracy).toBeLessThanOrEqual(1);
    }
    expect(readFileSync(join(out, runDir!, 'branches.csv'), 'utf8').split('\n')[0]).toBe('replicate,level,branch,id,supermaskAccuracy,trainedAccuracy');
  }, 120_000);
});
