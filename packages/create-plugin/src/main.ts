import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { GeneratorError, generatePlugin } from './index.js';

const USAGE = `usage: npm init @lth/plugin <package-name> [-- --dir <path>] [--force]
       (or: npx @lth/create-plugin <package-name> [--dir <path>] [--force])

Writes a new lth plugin package: package.json (with the "lth" field), index.js (register),
scorer.js (one example scorer), test/scorer.test.js (the conformance checks of @lth/core/testing),
example.json (a tiny run that uses the scorer) and README.md.
`;

interface IO {
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** The generator's command line; returns the exit code (0 written, 2 bad input). */
export function main(argv: string[], io: IO): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { dir: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    io.stderr.write(`create-plugin: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(`create-plugin: ${positionals.length ? `one package name, not ${positionals.length}` : 'name the package to create, e.g. lth-plugin-demo'}\n${USAGE}`);
    return 2;
  }
  try {
    const { dir, names } = generatePlugin({ packageName: positionals[0]!, dir: values.dir, force: values.force, cwd: io.cwd });
    const shown = relative(io.cwd, dir) || '.';
    io.stdout.write(
      `wrote ${names.packageName} in ${shown} (scorer "${names.scorerName}"). Next:\n` +
        `  cd ${shown} && npm install && npm test\n` +
        `  then, in a project with @lth/cli: npm install ${names.packageName} && npx lth plugins\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof GeneratorError) {
      io.stderr.write(`create-plugin: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
