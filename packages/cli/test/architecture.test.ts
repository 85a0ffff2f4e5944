/**
 * Rules of the codebase that a reader relies on (docs/architecture.md): core names no plugin of
 * another package, its functions fit on a screen or two, and its level loop on one.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLUGIN_KINDS } from '@lth/core';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { discover } from '../src/context.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const coreSrc = join(root, 'packages', 'core', 'src');

/** Core's non-test sources. */
function coreSources(dir = coreSrc): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === '__fixtures__' ? [] : coreSources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

function visit(node: ts.Node, f: (n: ts.Node) => void): void {
  f(node);
  node.forEachChild((c) => visit(c, f));
}

/**
 * Strings that are also a plugin's name but mean something else in core, each with its reason.
 * `shuffle`: a seed label of the random-within-layer sanity check, kept so masks stay the same.
 */
const ALLOWED = new Map([['shuffle', 'sanity-checks.ts']]);

describe('core', () => {
  it('names no plugin of another package (defaults naming plugins live in the CLI)', async () => {
    const { registry } = await discover();
    const names = new Set(
      PLUGIN_KINDS.flatMap((kind) => registry.all(kind).filter((p) => p.meta.package !== '@lth/core').map((p) => p.meta.name)),
    );
    expect(names.has('magnitude') && names.has('reinit')).toBe(true);
    const found: string[] = [];
    for (const file of coreSources()) {
      visit(parse(file), (n) => {
        if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && names.has(n.text) && !file.endsWith(ALLOWED.get(n.text) ?? '\0')) {
          found.push(`${relative(root, file)}: '${n.text}'`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('has no function over 80 lines, and the level loop (runExperiment) fits in 60', () => {
    const long: string[] = [];
    let loop = 0;
    for (const file of coreSources()) {
      const source = parse(file);
      visit(source, (n) => {
        if (!(ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n)) || !n.body) return;
        const lines = source.getLineAndCharacterOfPosition(n.end).line - source.getLineAndCharacterOfPosition(n.getStart()).line + 1;
        const name = (n as ts.FunctionDeclaration).name?.getText() ?? '(anonymous)';
        if (name === 'runExperiment') loop = lines;
        if (lines > 80) long.push(`${relative(root, file)}: ${name} (${lines} lines)`);
      });
    }
    expect(long).toEqual([]);
    expect(loop).toBeGreaterThan(0);
    expect(loop).toBeLessThanOrEqual(60);
  });

  it('is the only home of seeded randomness: no other generator or permutation in any package', () => {
    const packages = readdirSync(join(root, 'packages')).filter((p) => statSync(join(root, 'packages', p, 'src'), { throwIfNoEntry: false })?.isDirectory());
    const offenders = packages
      .flatMap((p) => coreSources(join(root, 'packages', p, 'src')))
      .filter((f) => !f.endsWith(join('core', 'src', 'seed.ts')))
      .filter((f) => /from 'seedrandom'|Math\.random\(|Fisher|0x6d2b79f5/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});
