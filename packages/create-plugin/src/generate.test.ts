import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE_RANGE, GeneratorError, generatePlugin, pluginNames } from './index.js';
import { main } from './main.js';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

function collect() {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
}

describe('pluginNames', () => {
  it('names the scorer after the package, without scope and "lth-plugin-"', () => {
    expect(pluginNames('lth-plugin-demo').scorerName).toBe('demo');
    expect(pluginNames('@you/lth-plugin-fisher').scorerName).toBe('fisher');
    expect(pluginNames('my-scorer').scorerName).toBe('my-scorer');
    expect(pluginNames('lth-plugin-').scorerName).toBe('lth-plugin-');
  });

  it('refuses what npm would refuse, saying what a name may contain', () => {
    for (const bad of ['Demo', 'has space', '.dot', '@scope', '@/x', 'a'.repeat(215), '']) {
      expect(() => pluginNames(bad), bad).toThrow(GeneratorError);
    }
    expect(() => pluginNames('My_Plugin')).toThrow(/"My_Plugin" is not a valid npm package name: use lowercase letters/);
  });

  it('writes plugins against the @lth/core of this workspace (CORE_RANGE is ^ its version)', () => {
    const core = JSON.parse(readFileSync(join(repo, 'packages/core/package.json'), 'utf8')) as { version: string };
    expect(CORE_RANGE).toBe(`^${core.version}`);
  });
});

describe('the create-plugin command', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'lth-create-plugin-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('writes a package that lth discovers: "lth" field, exports, @lth/core as a peer, the files it lists', () => {
    const out = collect();
    const err = collect();
    expect(main(['@you/lth-plugin-demo'], { cwd: work, stdout: out.stream, stderr: err.stream })).toBe(0);
    expect(err.text()).toBe('');
    expect(out.text()).toContain('wrote @you/lth-plugin-demo in lth-plugin-demo (scorer "demo")');
    const dir = join(work, 'lth-plugin-demo');
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name: '@you/lth-plugin-demo',
      type: 'module',
      lth: { plugin: './index.js' },
      exports: { '.': './index.js' },
      peerDependencies: { '@lth/core': CORE_RANGE },
      devDependencies: { '@lth/core': CORE_RANGE },
      scripts: { test: 'node --test' },
    });
    for (const file of manifest.files as string[]) expect(existsSync(join(dir, file)), file).toBe(true);
    expect(existsSync(join(dir, 'test/scorer.test.js'))).toBe(true);
    expect(readFileSync(join(dir, 'scorer.js'), 'utf8')).toContain("name: 'demo'");
    expect(JSON.parse(readFileSync(join(dir, 'example.json'), 'utf8')).pruning.scorer).toEqual({ use: 'demo', initWeight: 0.5 });
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('npm install @lth/cli @you/lth-plugin-demo');
  });

  it('refuses to write into a directory that is not empty (exit 2), unless --force', () => {
    const dir = join(work, 'taken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const err = collect();
    expect(main(['lth-plugin-x', '--dir', dir], { cwd: work, stdout: collect().stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toContain(`${dir} exists and is not empty: choose another name or --dir, or pass --force`);
    expect(existsSync(join(dir, 'package.json'))).toBe(false);
    expect(main(['lth-plugin-x', '--dir', dir, '--force'], { cwd: work, stdout: collect().stream, stderr: collect().stream })).toBe(0);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, 'scorer.js'))).toBe(true);
  });

  it('says what is missing or wrong in its arguments (exit 2)', () => {
    const cases: [string[], RegExp][] = [
      [[], /name the package to create, e.g. lth-plugin-demo/],
      [['a', 'b'], /one package name, not 2/],
      [['--colour'], /Unknown option '--colour'/],
      [['Bad'], /"Bad" is not a valid npm package name/],
    ];
    for (const [args, message] of cases) {
      const err = collect();
      expect(main(args, { cwd: work, stdout: collect().stream, stderr: err.stream }), args.join(' ')).toBe(2);
      expect(err.text()).toMatch(message);
    }
  });
});

describe("the generated package's own tests (node --test, against this workspace's built @lth/core)", () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(repo, 'packages/core/dist/testing/index.js'))) {
      throw new Error('packages/core/dist is missing: run `npx tsc -b tsconfig.build.json` at the repository root first.');
    }
    const work = mkdtempSync(join(tmpdir(), 'lth-create-plugin-test-'));
    // What `npm install` would give the package: @lth/core in its node_modules.
    mkdirSync(join(work, 'node_modules/@lth'), { recursive: true });
    symlinkSync(join(repo, 'packages/core'), join(work, 'node_modules/@lth/core'), 'dir');
    dir = generatePlugin({ packageName: 'lth-plugin-demo', cwd: work }).dir;
  });
  afterAll(() => rmSync(resolve(dir, '..'), { recursive: true, force: true }));

  const nodeTest = async () => {
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--test'], { cwd: dir });
      return { code: 0, stdout };
    } catch (error) {
      const e = error as { code: number; stdout: string };
      return { code: e.code, stdout: e.stdout };
    }
  };

  it('pass as written', async () => {
    const r = await nodeTest();
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/# pass 3\n/);
  });

  it('fail when the scorer breaks the contract (a layer left unscored)', async () => {
    const file = join(dir, 'scorer.js');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('for (const name of ctx.model.prunable) {', 'for (const name of ctx.model.prunable.slice(1)) {'));
    try {
      const r = await nodeTest();
      expect(r.code).not.toBe(0);
      expect(r.stdout).toContain('scorer "demo": must return one score tensor per prunable weight');
    } finally {
      writeFileSync(file, good);
    }
  });
});
