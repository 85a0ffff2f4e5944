/**
 * lth installed like any npm tool, and a plugin written like any npm package, end to end — the
 * README's "Use lth outside this repository" and "Writing a plugin", step by step:
 *
 * 1. every @lth package the CLI needs (its dependencies, transitively, and its optional
 *    dependency @lth/backend-native) and @lth/create-plugin is `npm pack`ed and `npm publish`ed
 *    to a local registry (Verdaccio, started here on a free loopback port, storage in a temp dir);
 * 2. in an empty directory, `npm install @lth/cli` — with no working C++ compiler (CXX points
 *    nowhere), so the native addon cannot build: the install still succeeds, and `npx lth
 *    plugins` says the native backend is unavailable, why, and how to get it;
 * 3. `npm rebuild @lth/backend-native`, the fix it names: where OpenBLAS is present (this
 *    workspace built its own addon) `lth plugins` now picks `native` and a run records it;
 * 4. `npm init @lth/plugin lth-plugin-demo` writes a plugin package; its own `npm install && npm
 *    test` (the conformance checks) pass; packed (as `npm publish` would ship it) and installed
 *    into the project beside the example third-party plugin (`examples/plugin-example`), `lth
 *    plugins` lists both, and runs use their scorer and branch.
 *
 * The only difference from a user's machine: `@lth` packages come from the local registry (one
 * `@lth:registry` line in the npm config this test uses); everything else comes from the npm
 * cache the workspace install filled (`--prefer-offline`), or from the npm registry.
 *
 * Packs each package's compiled `dist/` (Nx runs `^build` before `test`; `npx tsc -b
 * tsconfig.build.json` at the repository root builds them all).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const examplePlugin = join(repo, 'examples/plugin-example');

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** What `@lth/cli` needs at run time: its @lth dependencies, optional ones too, and theirs (e.g. @lth/export → @lth/sparse-runtime). */
function lthDependencies(pkg: string, seen = new Set<string>()): Set<string> {
  const manifest = manifestOf(join(repo, 'packages', pkg));
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }).filter((n) => n.startsWith('@lth/'))) {
    const dir = name.slice('@lth/'.length);
    if (!seen.has(dir)) {
      seen.add(dir);
      lthDependencies(dir, seen);
    }
  }
  return seen;
}
const cliDependencies = [...lthDependencies('cli')];
const installedNames = [...cliDependencies, 'cli'].sort();
const published = [...installedNames, 'create-plugin'].map((p) => join(repo, 'packages', p));

/** This machine can build the native addon (OpenBLAS, a compiler): the workspace install built its own. */
const nativeBuildable = existsSync(join(repo, 'packages/backend-native/build/Release/lth_native.node'));

const EXAMPLE_SCORER = 'example-magnitude-power';
const DEMO = 'lth-plugin-demo';

let work: string;
let project: string;
let lth: string;
let npmEnv: NodeJS.ProcessEnv;
let verdaccio: ChildProcess | undefined;
let registry: string;
let exampleTarball: string;
let demoTarball: string;
let cliInstall: Result;
/** The generated plugin's npm install, npm test and npm pack: the last step run, with the test's output. */
let demoSteps: Result & { step: string; test?: Result };

/** The environment without the npm_* variables an enclosing `npm test` sets (they would leak config), with this test's npm config. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, CI: '1', NO_COLOR: '1', ...npmEnv, ...extra };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: cleanEnv(env), maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const freePort = () =>
  new Promise<number>((done, fail) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.on('error', fail);
  });

/** Verdaccio with storage in `dir`: @lth/* may be read and published by anyone, nothing is proxied. */
async function startRegistry(dir: string): Promise<string> {
  const config = join(dir, 'verdaccio.yaml');
  writeFileSync(
    config,
    [
      `storage: ${join(dir, 'storage')}`,
      'auth:',
      `  htpasswd: { file: ${join(dir, 'htpasswd')}, max_users: -1 }`,
      'uplinks: {}',
      'packages:',
      "  '@lth/*': { access: $all, publish: $all }",
      'log: { type: stdout, format: pretty, level: error }',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  let log = '';
  verdaccio = spawn(process.execPath, [join(repo, 'node_modules/verdaccio/bin/verdaccio'), '--config', config, '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  verdaccio.stdout!.on('data', (d) => (log += d));
  verdaccio.stderr!.on('data', (d) => (log += d));
  for (let attempt = 0; ; attempt++) {
    if (verdaccio.exitCode !== null) throw new Error(`verdaccio exited (${verdaccio.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${url}-/ping`)).ok) return url;
    } catch {
      // not listening yet
    }
    if (attempt > 300) throw new Error(`verdaccio did not answer on ${url} within 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Publishes a packed tarball: the registry API request `npm publish <tarball>` makes (one PUT of
 * the packument with the tarball attached), without starting npm once per package.
 */
async function publish(tarball: string, dir: string): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest & Record<string, unknown>;
  const data = readFileSync(tarball);
  const file = `${manifest.name.replace(/^@[^/]+\//, '')}-${manifest.version}.tgz`;
  const body = {
    _id: manifest.name,
    name: manifest.name,
    'dist-tags': { latest: manifest.version },
    versions: {
      [manifest.version]: {
        ...manifest,
        _id: `${manifest.name}@${manifest.version}`,
        dist: {
          shasum: createHash('sha1').update(data).digest('hex'),
          integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
          tarball: `${registry}${manifest.name}/-/${file}`,
        },
      },
    },
    _attachments: { [file]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length } },
  };
  const response = await fetch(`${registry}${manifest.name.replace('/', '%2f')}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: 'Bearer lth-test' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`publishing ${manifest.name} to ${registry} failed: ${response.status} ${await response.text()}`);
}

beforeAll(async () => {
  const unbuilt = published.filter((p) => !existsSync(join(p, 'dist/index.js')));
  if (unbuilt.length) {
    throw new Error(
      `These packages have no dist/ to pack: ${unbuilt.map((p) => p.slice(repo.length + 1)).join(', ')}. ` +
        'Build first: `npx tsc -b tsconfig.build.json` at the repository root (or run the tests through Nx, which builds dependencies).',
    );
  }
  work = mkdtempSync(join(tmpdir(), 'lth-npm-install-'));
  registry = await startRegistry(work);
  // The npm config of every npm command here: @lth from the local registry, the rest from the cache first.
  writeFileSync(
    join(work, 'npmrc'),
    [`@lth:registry=${registry}`, 'prefer-offline=true', 'audit=false', 'fund=false', 'update-notifier=false', 'loglevel=error', ''].join('\n'),
  );
  npmEnv = { npm_config_userconfig: join(work, 'npmrc') };

  // 1. Pack (one `npm pack` for every folder; --json says which tarball is whose) and publish the @lth ones.
  const packs = join(work, 'packs');
  mkdirSync(packs);
  const pack = await exec('npm', ['pack', '--json', '--pack-destination', packs, ...published, examplePlugin], work);
  expect(pack.code, `npm pack failed:\n${pack.stderr}`).toBe(0);
  const tarballs = (JSON.parse(pack.stdout) as { name: string; filename: string }[]).map((t) => ({ name: t.name, file: join(packs, t.filename) }));
  expect(tarballs.map((t) => t.name).sort()).toEqual([...published.map((p) => manifestOf(p).name), 'lth-plugin-example'].sort());
  exampleTarball = tarballs.find((t) => t.name === 'lth-plugin-example')!.file;
  for (const t of tarballs.filter((t) => t.name.startsWith('@lth/'))) await publish(t.file, join(repo, 'packages', t.name.slice('@lth/'.length)));

  // 2. The generator, as `npm init` runs it (through npm's npx cache: a fresh one, so that a
  // generator published by an earlier run of this test, with the same version, is not reused).
  const init = await exec('npm', ['init', '@lth/plugin', DEMO], work, { npm_config_cache: join(work, 'npx-cache') });
  expect(init.code, `npm init @lth/plugin failed:\n${init.stderr}`).toBe(0);
  expect(init.stdout).toContain(`wrote ${DEMO} in ${DEMO} (scorer "demo")`);

  // 3. An empty project; @types/node (pulled in by tfjs-data's typings as "*") is pinned to the
  // version the workspace installed, so the install can be served from the npm cache.
  project = join(work, 'project');
  mkdirSync(project);
  const manifest: Record<string, unknown> = { name: 'lth-user-project', private: true, type: 'module' };
  const typesNode = join(repo, 'node_modules/@types/node');
  if (existsSync(typesNode)) manifest.overrides = { '@types/node': manifestOf(typesNode).version };
  writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  lth = join(project, 'node_modules/.bin/lth');

  // 4. At the same time: `npm install @lth/cli` with no working compiler (node-gyp's make cannot
  // build the addon), and the generated plugin's own `npm install && npm test`, then `npm pack`
  // (what `npm publish` would ship).
  const demo = join(work, DEMO);
  const plugin = (async () => {
    const deps = await exec('npm', ['install'], demo);
    if (deps.code !== 0) return { step: 'npm install', ...deps };
    const test = await exec('npm', ['test'], demo);
    if (test.code !== 0) return { step: 'npm test', ...test };
    const pack = await exec('npm', ['pack', '--json', '--pack-destination', packs], demo);
    if (pack.code === 0) demoTarball = join(packs, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
    return { step: 'npm pack', ...pack, test };
  })();
  [cliInstall, demoSteps] = await Promise.all([exec('npm', ['install', '@lth/cli'], project, { CXX: '/nonexistent/c++', CC: '/nonexistent/cc' }), plugin]);
}, 300_000);

afterAll(() => {
  verdaccio?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm install @lth/cli from a registry, in an empty directory, without a compiler', () => {
  it('succeeds: the native backend is an optional dependency whose build never fails the install', () => {
    expect(cliInstall.code, `npm install @lth/cli failed:\n${cliInstall.stderr}`).toBe(0);
    expect(existsSync(lth), 'the installed @lth/cli provides node_modules/.bin/lth').toBe(true);
    expect(readdirSync(join(project, 'node_modules/@lth')).sort()).toEqual(installedNames);
    expect(manifestOf(project).dependencies).toEqual({ '@lth/cli': `^${manifestOf(join(repo, 'packages/cli')).version}` });
    expect(existsSync(join(project, 'node_modules/@lth/backend-native/build/lth-native-error.txt'))).toBe(true);
    expect(existsSync(join(project, 'node_modules/@lth/backend-native/build/Release/lth_native.node'))).toBe(false);
  });

  it('`npx lth plugins` lists the plugins and says the native backend is unavailable, why, and how to get it', async () => {
    const r = await exec('npx', ['lth', 'plugins'], project);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}magnitude +@lth\/strategy-magnitude@\d+\.\d+\.\d+ +\S/m);
    expect(r.stdout).toMatch(/^ {2}native +unavailable: .+: apt-get install libopenblas-dev libdnnl-dev, then npm rebuild @lth\/backend-native$/m);
    expect(r.stdout).toMatch(/^ {2}wasm +available \(--backend auto uses this one\)$/m);
  });
});

describe('then `npm rebuild @lth/backend-native` (the fix lth names), and plugins installed beside the CLI', () => {
  let plugins: { kind: string; name: string; package: string; version: string; description: string; available?: boolean; auto?: boolean }[];
  beforeAll(async () => {
    const rebuild = await exec('npm', ['rebuild', '@lth/backend-native'], project);
    expect(rebuild.code, rebuild.stderr).toBe(0);
    expect(demoSteps.code, `${demoSteps.step} of the generated plugin failed:\n${demoSteps.stdout}\n${demoSteps.stderr}`).toBe(0);
    const install = await exec('npm', ['install', demoTarball, exampleTarball], project);
    expect(install.code, `npm install of the plugins failed:\n${install.stderr}`).toBe(0);
    const r = await exec(lth, ['plugins', '--json'], project);
    expect(r.code, r.stderr).toBe(0);
    plugins = JSON.parse(r.stdout);
    writeFileSync(join(project, 'config.json'), readFileSync(join(examplePlugin, 'config.json')));
  }, 300_000);

  it(
    nativeBuildable
      ? 'the rebuild builds the addon where OpenBLAS is present: native is available and --backend auto picks it'
      : 'the rebuild cannot build the addon on this machine (no OpenBLAS): native stays unavailable',
    () => {
      const native = plugins.find((row) => row.kind === 'backend' && row.name === 'native');
      expect(native).toMatchObject({ package: '@lth/backend-native', available: nativeBuildable, auto: nativeBuildable });
      expect(existsSync(join(project, 'node_modules/@lth/backend-native/build/Release/lth_native.node'))).toBe(nativeBuildable);
    },
  );

  it("the generated plugin's own tests pass (npm test: the conformance checks of @lth/core/testing)", () => {
    expect(demoSteps.test?.stdout).toMatch(/# pass 3\n/);
  });

  it('are installed as packages of their own, not links into the repository, sharing the project\'s @lth/core', () => {
    for (const name of [DEMO, 'lth-plugin-example']) {
      const installed = join(project, 'node_modules', name);
      expect(existsSync(join(installed, 'index.js')), name).toBe(true);
      expect(existsSync(join(installed, 'node_modules')), name).toBe(false);
    }
    expect(manifestOf(join(project, 'node_modules', DEMO)).version).toBe('0.1.0');
    expect(manifestOf(join(project, 'node_modules/lth-plugin-example')).version).toBe('1.0.0');
  });

  it('are listed by `lth plugins --json` with package and version, beside the first-party plugins', () => {
    expect(plugins).toContainEqual(expect.objectContaining({ kind: 'scorer', name: 'demo', package: DEMO, version: '0.1.0', description: '|w| + initWeight * |w0| (keep the largest)' }));
    expect(plugins).toContainEqual(
      expect.objectContaining({ kind: 'scorer', name: EXAMPLE_SCORER, package: 'lth-plugin-example', version: '1.0.0', description: expect.stringContaining('|w|^power') }),
    );
    expect(plugins).toContainEqual(expect.objectContaining({ kind: 'branch', name: 'example-supermask', package: 'lth-plugin-example', version: '1.0.0' }));
    expect(plugins).toContainEqual(expect.objectContaining({ kind: 'scorer', name: 'magnitude', package: '@lth/strategy-magnitude' }));
    expect(plugins).toContainEqual(expect.objectContaining({ kind: 'masker', name: 'layerwise', package: '@lth/strategy-magnitude' }));
    expect(plugins).toContainEqual(expect.objectContaining({ kind: 'rewinder', name: 'iteration', package: '@lth/rewind-late' }));
    expect(plugins).toContainEqual(expect.objectContaining({ kind: 'dataset', name: 'synthetic', package: '@lth/datasets' }));
    for (const control of ['reinit', 'random-prune', 'shuffle']) {
      expect(plugins).toContainEqual(expect.objectContaining({ kind: 'branch', name: control, package: '@lth/controls' }));
    }
  });

  it(`run the generated plugin's example.json with its scorer, on the backend --backend auto picks (${nativeBuildable ? 'native' : 'wasm'})`, async () => {
    const out = join(work, 'runs-demo');
    const r = await exec(lth, ['run', `node_modules/${DEMO}/example.json`, '--out', out], project);
    expect(r.code, r.stderr).toBe(0);
    const [runDir, ...others] = readdirSync(out);
    expect(others).toEqual([]);
    expect(runDir).toMatch(/^example-demo-[0-9a-f]{12}$/);
    expect(JSON.parse(readFileSync(join(out, runDir!, 'config.json'), 'utf8')).pruning.scorer).toEqual({ use: 'demo', initWeight: 0.5 });
    const summary = JSON.parse(readFileSync(join(out, runDir!, 'summary.json'), 'utf8')) as { level: number; fractionRemaining: number; backend: string }[];
    const backend = nativeBuildable ? 'native' : 'wasm';
    expect(summary.map((s) => [s.level, s.fractionRemaining, s.backend])).toEqual([
      [0, 1, backend],
      [1, 0.5, backend],
      [2, 0.25, backend],
    ]);
  });

  it("have their options validated against their own schema, defaults filled in from their `defaults`", async () => {
    const config = JSON.parse(readFileSync(join(project, 'config.json'), 'utf8'));
    delete config.pruning.scorer.power;
    writeFileSync(join(project, 'no-power.json'), JSON.stringify(config));
    config.pruning.scorer.power = 0;
    writeFileSync(join(project, 'bad-power.json'), JSON.stringify(config));
    const [ok, bad] = await Promise.all([exec(lth, ['validate', 'no-power.json'], project), exec(lth, ['validate', 'bad-power.json'], project)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).config.pruning.scorer).toEqual({ use: EXAMPLE_SCORER, power: 2 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('/pruning/scorer/power');
  });

  it("run a config that names the example's scorer, then its branch on that run", async () => {
    const out = join(work, 'runs');
    const r = await exec(lth, ['run', 'config.json', '--backend', 'cpu', '--out', out], project);
    expect(r.code, r.stderr).toBe(0);
    const [runDir, ...others] = readdirSync(out);
    expect(others).toEqual([]);
    expect(runDir).toMatch(/^plugin-example-[0-9a-f]{12}$/);
    const resolved = JSON.parse(readFileSync(join(out, runDir!, 'config.json'), 'utf8'));
    expect(resolved.pruning.scorer).toEqual({ use: EXAMPLE_SCORER, power: 2 });
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
  });
});
