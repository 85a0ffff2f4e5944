/**
 * `@lth/create-plugin`: writes a new lth plugin package. `npm init @lth/plugin <name>` runs its
 * bin (npm maps the initializer `@lth/plugin` to the package `@lth/create-plugin`).
 *
 * It deliberately depends on nothing (not even @lth/core, which would pull TensorFlow.js into
 * every `npm init`): the package it writes depends on core.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exampleJson, gitignore, indexJs, type PluginNames, packageJson, readme, scorerJs, scorerTestJs } from './templates.js';

export type { PluginNames } from './templates.js';

/** The @lth/core range a generated plugin is written against (a test keeps it in step with core's version). */
export const CORE_RANGE = '^0.1.0';

/** Bad input to the generator (exit code 2), with a message that says what to do instead. */
export class GeneratorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeneratorError';
  }
}

// npm's rules for new package names: lowercase, URL-safe, optionally scoped, at most 214 characters.
const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** The names a package called `packageName` gets: its scorer is the name without scope and `lth-plugin-`. */
export function pluginNames(packageName: string): PluginNames {
  if (!NPM_NAME.test(packageName) || packageName.length > 214) {
    throw new GeneratorError(
      `"${packageName}" is not a valid npm package name: use lowercase letters, digits, "-", "." and "_", ` +
        'optionally under a scope, e.g. lth-plugin-demo or @you/lth-plugin-demo',
    );
  }
  const base = packageName.replace(/^@[^/]+\//, '');
  return { packageName, scorerName: base.replace(/^lth-plugin-(?=.)/, ''), coreRange: CORE_RANGE };
}

export interface GenerateOptions {
  packageName: string;
  /** Where to write the package (created if missing). Default: the package name without its scope, in `cwd`. */
  dir?: string;
  cwd?: string;
  /** Write into a directory that is not empty (existing files with the same names are replaced). */
  force?: boolean;
}

/** Writes the plugin package; returns its directory and the files written (relative paths). */
export function generatePlugin(o: GenerateOptions): { dir: string; names: PluginNames; files: string[] } {
  const names = pluginNames(o.packageName);
  const dir = resolve(o.cwd ?? process.cwd(), o.dir ?? names.packageName.replace(/^@[^/]+\//, ''));
  if (existsSync(dir) && readdirSync(dir).length > 0 && !o.force) {
    throw new GeneratorError(`${dir} exists and is not empty: choose another name or --dir, or pass --force to write into it`);
  }
  const files: Record<string, string> = {
    'package.json': packageJson(names),
    'index.js': indexJs(),
    'scorer.js': scorerJs(names),
    'test/scorer.test.js': scorerTestJs(names),
    'example.json': exampleJson(names),
    'README.md': readme(names),
    '.gitignore': gitignore,
  };
  mkdirSync(join(dir, 'test'), { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  return { dir, names, files: Object.keys(files) };
}
