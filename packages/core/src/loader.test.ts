import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePlugins, magnitude } from './__fixtures__/plugins.js';
import { API_VERSION } from './contracts.js';
import { discoverPluginPackages, loadPlugins } from './loader.js';
import { TOKENS } from './tokens.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('plugin loader', () => {
  const pkg = (dir: string, json: object, files: Record<string, string> = {}) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify(json));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  };
  const tmpRoot = () => {
    const root = mkdtempSync(join(tmpdir(), 'lth-loader-'));
    dirs.push(root);
    return root;
  };

  it('loads only what the project declares (package.json, lth.config.json) and nothing above the project', () => {
    const root = tmpRoot();
    const project = join(root, 'project');
    pkg(project, { name: 'p', dependencies: { 'lth-plugin-a': '1' }, devDependencies: { 'nice-a': '1' } });
    writeFileSync(join(project, 'lth.config.json'), JSON.stringify({ plugins: ['@scope/b'] }));
    pkg(join(project, 'node_modules', 'lth-plugin-a'), { name: 'lth-plugin-a', version: '1.2.3', lth: { plugin: './index.js' } });
    pkg(join(project, 'node_modules', '@scope', 'b'), { name: '@scope/b', version: '0.0.1', lth: { plugin: './dist/x.js' } });
    pkg(join(project, 'node_modules', 'nice-a'), { name: 'nice-a', version: '1.0.0' });
    // Hoisted by npm but declared by nobody the project names: never imported.
    pkg(join(project, 'node_modules', 'evil-b'), { name: 'evil-b', version: '6.6.6', lth: { plugin: './index.js' } });
    // Installed above the project: never scanned.
    pkg(join(root, 'node_modules', 'lth-plugin-above'), { name: 'lth-plugin-above', version: '1.0.0', lth: { plugin: './index.js' } });
    mkdirSync(join(project, 'src', 'deep'), { recursive: true });
    const { packages, failures } = discoverPluginPackages({ project: join(project, 'src', 'deep') });
    expect(packages.map((p) => [p.name, p.version])).toEqual([
      ['@scope/b', '0.0.1'],
      ['lth-plugin-a', '1.2.3'],
    ]);
    expect(failures).toEqual([]);
    expect(packages[0].entry).toBe(join(realpathSync(project), 'node_modules', '@scope', 'b', 'dist', 'x.js'));
  });

  it('refuses an entry outside its package and warns about a malformed package, loading the rest', async () => {
    const root = tmpRoot();
    writeFileSync(join(root, 'outside.mjs'), 'export function register() { globalThis.__lthOutside = true; }');
    pkg(root, { name: 'p', dependencies: { escaper: '1', broken: '1', 'lth-plugin-ok': '1' } });
    pkg(join(root, 'node_modules', 'escaper'), { name: 'escaper', lth: { plugin: '../../outside.mjs' } });
    mkdirSync(join(root, 'node_modules', 'broken'), { recursive: true });
    writeFileSync(join(root, 'node_modules', 'broken', 'package.json'), '{ "name": "broken", "lth": ');
    pkg(join(root, 'node_modules', 'lth-plugin-ok'), { name: 'lth-plugin-ok', type: 'module', lth: { plugin: './index.js' } }, {
      'index.js': `export function register(c) { c.register(Symbol.for('lth.Scorer'), { useValue: { meta: { name: 'ok', version: '1.0.0', apiVersion: ${API_VERSION} }, optionsSchema: { type: 'object', properties: {} }, defaults: {}, score: () => ({}) } }); }`,
    });
    const { registry, failures } = await loadPlugins({ project: root });
    expect((globalThis as { __lthOutside?: boolean }).__lthOutside).toBeUndefined();
    expect(failures.map((f) => [f.package.name, f.error.message]).sort()).toEqual([
      ['broken', expect.stringMatching(/package.json is not valid JSON/)],
      ['escaper', 'its plugin entry "../../outside.mjs" is outside the package directory'],
    ]);
    expect(registry.names('scorer')).toEqual(['ok']);
  });

  it('tags plugins with their package; a name two packages claim is an error only where used, naming both; "<package>:<name>" picks one', async () => {
    const { registry } = await loadPlugins({ modules: { fixtures: fixturePlugins } });
    expect(registry.get('scorer', 'magnitude').meta.package).toBe('fixtures');
    expect(registry.get('optimizer', 'adam').meta.package).toBe('@lth/core');
    const twin = { register: (c: any) => c.register(TOKENS.scorer, { useValue: { ...magnitude, meta: { ...magnitude.meta, version: '9.9.9' } } }) };
    const both = await loadPlugins({ modules: { fixtures: fixturePlugins, 'lth-plugin-twin': twin } });
    expect(both.failures).toEqual([]);
    expect(both.registry.conflicts('scorer')).toEqual([{ name: 'magnitude', packages: ['fixtures', 'lth-plugin-twin'] }]);
    expect(() => both.registry.lookup('scorer', 'magnitude', '/pruning/scorer/use')).toThrow(
      '/pruning/scorer/use: scorer "magnitude" is registered by fixtures and lth-plugin-twin; pick one with "use": "fixtures:magnitude"',
    );
    expect(both.registry.lookup('scorer', 'lth-plugin-twin:magnitude').plugin.meta.version).toBe('9.9.9');
    expect(both.registry.get('optimizer', 'adam').meta.name).toBe('adam');
  });

  it('a first-party name cannot be taken over through another package’s matches()', async () => {
    const alias = (pkgName: string, version: string) => ({
      register: (c: any) =>
        c.register(TOKENS.model, { useValue: { meta: { name: `${pkgName}-net`, version, apiVersion: API_VERSION }, optionsSchema: {}, defaults: {}, matches: (n: string) => (n === 'lenet-300-100' ? {} : undefined), create: () => ({}) } }),
    });
    const { registry } = await loadPlugins({ modules: { 'evil-first': alias('evil', '6.6.6'), '@lth/models': alias('lenet', '0.1.0') }, firstParty: { from: '/', names: ['@lth/models'] } });
    expect(registry.lookup('model', 'lenet-300-100').plugin.meta.package).toBe('@lth/models');
  });

  it('rejects a plugin built for another API version, naming its package', async () => {
    const old = { register: (c: any) => c.register(TOKENS.scorer, { useValue: { ...magnitude, meta: { ...magnitude.meta, name: 'old', apiVersion: API_VERSION + 1 } } }) };
    const { failures, registry } = await loadPlugins({ modules: { 'lth-plugin-old': old } });
    expect(failures[0]!.error.message).toMatch(/"old" from lth-plugin-old targets lth API version/);
    expect(registry.names('optimizer')).toEqual(['adam', 'sgd']);
  });

  it('an unknown name lists the names that exist', async () => {
    const { registry } = await loadPlugins({ modules: { fixtures: fixturePlugins } });
    expect(() => registry.get('optimizer', 'adamw', '/training/optimizer/use')).toThrow('/training/optimizer/use: unknown optimizer "adamw". Known optimizers: adam, sgd.');
  });

  it('skips a package that cannot be imported, reporting why, and loads the rest', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lth-loader-'));
    dirs.push(root);
    const dir = join(root, 'node_modules', 'lth-plugin-unbuilt');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'lth-plugin-unbuilt', version: '1.0.0', lth: { plugin: './dist/index.js' } }));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'p', dependencies: { 'lth-plugin-unbuilt': '1' } }));
    const { failures, registry } = await loadPlugins({ project: root });
    const failure = failures.find((f) => f.package.name === 'lth-plugin-unbuilt');
    expect(failure?.error.message).toMatch(/Could not load lth plugin package lth-plugin-unbuilt/);
    expect(registry.names('optimizer')).toEqual(['adam', 'sgd']);
  });
});
