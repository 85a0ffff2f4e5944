import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION } from '@lth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendLines } from './commands/plugins.js';
import { lth } from './test-utils/in-process.js';

const LONG_NAME = 'a-scorer-with-a-rather-long-name-indeed';
const LONG_PACKAGE = 'lth-plugin-from-a-package-with-a-long-name';

describe('lth plugins', () => {
  const project = mkdtempSync(join(tmpdir(), 'lth-plugins-'));
  const cwd = process.cwd();
  beforeAll(() => {
    // A project that declares a plugin package with long names (its tokens are Symbol.for keys, so it needs no @lth/core of its own).
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'p', private: true, dependencies: { [LONG_PACKAGE]: '1.0.0' } }));
    const pkg = join(project, 'node_modules', LONG_PACKAGE);
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: LONG_PACKAGE, version: '10.20.30', type: 'module', lth: { plugin: './index.js' } }));
    const scorer = { meta: { name: LONG_NAME, version: '10.20.30', apiVersion: API_VERSION, description: 'long' }, optionsSchema: { type: 'object', properties: {}, additionalProperties: false }, defaults: {} };
    writeFileSync(
      join(pkg, 'index.js'),
      `const scorer = { ...${JSON.stringify(scorer)}, score: () => ({}) };\nexport function register(c) { c.register(Symbol.for('lth.Scorer'), { useValue: scorer }); }\n`,
    );
    process.chdir(project);
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(project, { recursive: true, force: true });
  });

  it('aligns names, packages and descriptions in one set of columns, however long a name is', async () => {
    const r = await lth('plugins');
    expect(r.code, r.stderr).toBe(0);
    const table = r.stdout.slice(0, r.stdout.indexOf('backends, in the order'));
    const rows = table.split('\n').filter((line) => line.startsWith('  '));
    expect(rows.length).toBeGreaterThan(20);
    const long = rows.find((line) => line.includes(LONG_NAME));
    expect(long).toBe(`  ${LONG_NAME}  ${LONG_PACKAGE}@10.20.30  long`);
    // Every package column starts where the longest name's does; every description where the longest package@version's does.
    const packageAt = `  ${LONG_NAME}  `.length;
    const descriptionAt = packageAt + `${LONG_PACKAGE}@10.20.30  `.length;
    for (const row of rows) {
      expect(row[packageAt - 1], row).toBe(' ');
      expect(row.slice(packageAt), row).toMatch(/^@?[a-z]/);
      expect(row.slice(packageAt, descriptionAt).trimEnd()).toMatch(/^\S+@\d+\.\d+\.\d+$/);
    }
  });

  it('says which backend --backend auto uses, and why each faster one is unavailable', async () => {
    const r = await lth('plugins');
    const section = r.stdout.slice(r.stdout.indexOf('backends, in the order --backend auto tries them:'));
    const lines = section.trim().split('\n').slice(1);
    expect(lines.map((l) => l.trim().split(/\s+/)[0])).toEqual(['tensorflow', 'native', 'wasm', 'cpu']);
    expect(lines.filter((l) => l.includes('(--backend auto uses this one)'))).toHaveLength(1);
    expect(lines[0]).toMatch(/^ {2}tensorflow {2}unavailable: neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed/);
    const json = JSON.parse((await lth('plugins', '--json')).stdout) as { kind: string; name: string; available?: boolean; auto?: boolean }[];
    const backends = json.filter((row) => row.kind === 'backend');
    expect(backends.filter((b) => b.auto).map((b) => b.name)).toHaveLength(1);
    expect(backends.find((b) => b.name === 'cpu')).toMatchObject({ available: true });
    const auto = backends.find((b) => b.auto)!.name;
    expect(section).toContain(`  ${auto.padEnd(10)}  available (--backend auto uses this one)`);
  });
});

describe('backendLines', () => {
  it('names @lth/backend-native and how to install it when the package is not installed at all', () => {
    const lines = backendLines([
      { name: 'tensorflow', available: false, reason: 'not installed', auto: false },
      { name: 'wasm', available: true, auto: true },
      { name: 'cpu', available: true, auto: false },
    ]);
    expect(lines).toEqual([
      'backends, in the order --backend auto tries them:',
      '  tensorflow  unavailable: not installed',
      '  native      unavailable: @lth/backend-native is not installed: npm install @lth/backend-native (it compiles at install: needs g++, make, python3 and libopenblas-dev; libdnnl-dev for fast convolutions)',
      '  wasm        available (--backend auto uses this one)',
      '  cpu         available',
    ]);
  });
});
