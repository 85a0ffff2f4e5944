import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  it('discovers packages by their "lth" field in any node_modules above the search root', () => {
    const root = mkdtempSync(join(tmpdir(), 'lth-loader-'));
    dirs.push(root);
    const pkg = (dir: string, json: object) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify(json));
    };
    pkg(join(root, 'node_modules', 'lth-plugin-a'), { name: 'lth-plugin-a', version: '1.2.3', lth: { plugin: './index.js' } });
    pkg(join(root, 'node_modules', '@scope', 'b'), { name: '@scope/b', version: '0.0.1', lth: { plugin: './dist/x.js' } });
    pkg(join(root, 'node_modules', 'not-a-plugin'), { name: 'not-a-plugin', version: '1.0.0' });
    mkdirSync(join(root, 'project', 'deep'), { recursive: true });
    const found = discoverPluginPackages({ from: [join(root, 'project', 'deep')] }).filter((p) => p.dir.startsWith(root));
    expect(found.map((p) => [p.name, p.version])).toEqual([
      ['@scope/b', '0.0.1'],
      ['lth-plugin-a', '1.2.3'],
    ]);
    expect(found[0].entry).toBe(join(root, 'node_modules', '@scope', 'b', 'dist', 'x.js'));
  });

  it('tags plugins with their package; a duplicate name is an error naming both packages', async () => {
    const { registry } = await loadPlugins({ modules: { fixtures: fixturePlugins } });
    expect(registry.get('scorer', 'magnitude').meta.package).toBe('fixtures');
    expect(registry.get('optimizer', 'adam').meta.package).toBe('@lth/core');
    const twin = { register: (c: any) => c.register(TOKENS.scorer, { useValue: magnitude }) };
    await expect(loadPlugins({ modules: { fixtures: fixturePlugins, 'lth-plugin-twin': twin } })).rejects.toThrow(
      /Two scorer plugins are named "magnitude": one from fixtures and one from lth-plugin-twin/,
    );
  });

  it('rejects a plugin built for another API version, naming its package', async () => {
    const old = { register: (c: any) => c.register(TOKENS.scorer, { useValue: { ...magnitude, meta: { ...magnitude.meta, name: 'old', apiVersion: API_VERSION + 1 } } }) };
    await expect(loadPlugins({ modules: { 'lth-plugin-old': old } })).rejects.toThrow(/"old" from lth-plugin-old targets lth API version/);
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
    const { failures, registry } = await loadPlugins({ from: [root] });
    const failure = failures.find((f) => f.package.name === 'lth-plugin-unbuilt');
    expect(failure?.error.message).toMatch(/Could not load lth plugin package lth-plugin-unbuilt/);
    expect(registry.names('optimizer')).toEqual(['adam', 'sgd']);
  });
});
