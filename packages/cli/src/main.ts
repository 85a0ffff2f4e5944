import { DivergedError, UserError } from '@lth/core';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { cliContext, type MainIO, version } from './context.js';

export { discover, type MainIO } from './context.js';

/**
 * Runs the CLI; returns the exit code: 0 success, 2 bad input (config, data, arguments, damaged
 * run files), 3 training diverged, 1 internal failure (its stack trace with --debug or LTH_DEBUG=1).
 */
export async function main(argv: string[], io: MainIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const program = new Command('lth')
    .description('Lottery-ticket pruning experiments on TensorFlow.js')
    .version(version)
    .option('--debug', 'print the stack trace of an internal error')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const ctx = cliContext(io);
  for (const addCommand of COMMANDS) addCommand(program, ctx);

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UserError) {
      io.stderr.write(`lth: ${error.message}\n`);
      return 2;
    }
    if (error instanceof DivergedError) {
      io.stderr.write(`lth: ${error.message}\n`);
      return error.exitCode;
    }
    const debug = argv.includes('--debug') || process.env.LTH_DEBUG === '1';
    const what = debug ? ((error as Error).stack ?? String(error)) : `${(error as Error).message ?? error} (run with --debug for the stack trace)`;
    io.stderr.write(`lth: internal error: ${what}\n`);
    return 1;
  }
}
