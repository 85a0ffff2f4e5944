import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBoundaries } from './boundaries.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('package boundaries', () => {
  it('hold in this workspace: plugins use core only, core uses no other @lth package', () => {
    expect(checkBoundaries(repo)).toEqual([]);
  });
});

describe('checkBoundaries on a synthetic workspace', () => {
  const root = mkdtempSync(join(tmpdir(), 'lth-boundaries-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Writes packages/<dir>/package.json and the given source files. */
  const pkg = (dir: string, json: object, files: Record<string, string> = {}) => {
    mkdirSync(join(root, 'packages', dir), { recursive: true });
    writeFileSync(join(root, 'packages', dir, 'package.json'), JSON.stringify(json));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, 'packages', dir, path)), { recursive: true });
      writeFileSync(join(root, 'packages', dir, path), text);
    }
  };
  const plugin = { lth: { plugin: './dist/index.js' }, nx: { tags: ['type:plugin'] }, peerDependencies: { '@lth/core': '*' } };

  pkg('core', { name: '@lth/core', nx: { tags: ['type:core'] } }, {
    'src/index.ts': "export * from './run.js';\n",
    'src/run.ts': "// a comment naming '@lth/models' is not an import\nconst m = await import('@lth/models');\n",
  });
  pkg('models', { name: '@lth/models', ...plugin }, { 'src/index.ts': "import { top } from '@lth/core';\n" });
  pkg('strategy-x', { name: '@lth/strategy-x', ...plugin, peerDependencies: { '@lth/core': '*', '@lth/models': '*' } });
  pkg('strategy-y', { name: '@lth/strategy-y', ...plugin }, {
    'src/y.test.ts': "import type { Spec } from '@lth/models/spec';\n",
    'test/e2e.test.ts': "import { lenet } from '../../models/src/index.js';\n",
  });
  pkg('untagged', { name: '@lth/untagged', lth: { plugin: './dist/index.js' }, dependencies: { '@lth/models': '*' } });
  pkg('report', { name: '@lth/report', nx: { tags: ['type:tool'] } }, { 'src/data.ts': "export { x } from '@lth/strategy-x';\n" });
  pkg('runtime', { name: '@lth/runtime', nx: { tags: ['type:runtime'] }, dependencies: { '@lth/core': '*' } }, { 'src/index.ts': "import type { ModelSpec } from '@lth/core';\n" });
  pkg('export', { name: '@lth/export', nx: { tags: ['type:tool'] }, dependencies: { '@lth/runtime': '*' }, peerDependencies: { '@lth/core': '*' } }, {
    'src/index.ts': "import { SparseModel } from '@lth/runtime';\nimport { RunStore } from '@lth/core';\n",
  });
  pkg('cli', { name: '@lth/cli', nx: { tags: ['type:app'] }, dependencies: { '@lth/core': '*', '@lth/models': '*', '@lth/report': '*' } }, {
    'src/main.ts': "import '@lth/models';\nimport '@lth/strategy-x';\n",
  });

  const problems = checkBoundaries(root);

  it('fails when core imports a plugin, even by dynamic import', () => {
    expect(problems).toContainEqual(expect.stringMatching(/^@lth\/core \(type:core\) imports \('@lth\/models' in packages\/core\/src\/run\.ts\) @lth\/models/));
  });

  it('fails when a plugin depends on or imports another plugin (by name, subpath, type-only or relative path)', () => {
    expect(problems).toContainEqual(expect.stringMatching(/^@lth\/strategy-x \(type:plugin\) depends on @lth\/models \(type:plugin\)/));
    expect(problems).toContainEqual(expect.stringMatching(/^@lth\/strategy-y .* imports \('@lth\/models\/spec' in packages\/strategy-y\/src\/y\.test\.ts\) @lth\/models/));
    expect(problems).toContainEqual(expect.stringMatching(/^@lth\/strategy-y .* imports \('\.\.\/\.\.\/models\/src\/index\.js' in packages\/strategy-y\/test\/e2e\.test\.ts\) @lth\/models/));
  });

  it('fails when a tool imports a plugin', () => {
    expect(problems).toContainEqual(expect.stringMatching(/^@lth\/report \(type:tool\) imports \('@lth\/strategy-x'/));
  });

  it('fails when a package has no type tag, or declares a plugin without the plugin tag', () => {
    expect(problems).toContainEqual(expect.stringMatching(/^@lth\/untagged: needs exactly one of the tags/));
    expect(problems).toContainEqual(expect.stringMatching(/^@lth\/untagged: declares "lth.plugin", so it must be tagged type:plugin/));
  });

  it('fails when a runtime depends on or imports any workspace package, core included', () => {
    expect(problems).toContainEqual(expect.stringMatching(/^@lth\/runtime \(type:runtime\) depends on @lth\/core \(type:core\); a type:runtime package may use no other workspace package/));
    expect(problems).toContainEqual(expect.stringMatching(/^@lth\/runtime \(type:runtime\) imports \('@lth\/core' in packages\/runtime\/src\/index\.ts\) @lth\/core/));
  });

  it('allows plugins to use core, tools core and runtimes, and the app everything; reports nothing else', () => {
    expect(problems.filter((p) => p.startsWith('@lth/cli') || p.startsWith('@lth/models') || p.startsWith('@lth/export'))).toEqual([]);
    expect(problems).toHaveLength(9);
  });
});
