import { DivergedError, UserError } from '@lth/core';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { cliContext, type Interrupts, type MainIO, version } from './context.js';

export { discover, type MainIO } from './context.js';

/** Ctrl-C (SIGINT) or SIGTERM stopped the command; the exit code is 128 + the signal's number. */
export class InterruptedError extends Error {
  readonly exitCode: number;
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
    this.name = 'InterruptedError';
    this.exitCode = signal === 'SIGINT' ? 130 : 143;
  }
}

/**
 * How long a stopped command may take to reach a point where it can stop cleanly (a run: its
 * next progress update, every 25 iterations) before the process exits anyway. Exiting at any
 * moment is safe (every file is written atomically; a killed run resumes), just less tidy.
 */
const STOP_GRACE_MS = 3000;

export interface MainOptions {
  /**
   * Handle SIGINT and SIGTERM for the process (the `lth` binary does; in-process callers do
   * not), for the commands that train (they use `ctx.signal` or `ctx.reporter()`): the first
   * aborts `ctx.signal` and the command stops at its next chance, the cursor is shown again and
   * the message says where the run was; a second one, or the grace period, exits at once.
   */
  handleSignals?: boolean;
}

function interruptedMessage(where: string | undefined): string {
  return where ? `lth: interrupted at ${where}; rerun the same command to resume\n` : 'lth: interrupted\n';
}

/**
 * Signal handling for the commands that ask for it (`ctx.signal`, `ctx.reporter()`): `arm()`
 * installs the handlers once; `disarm()` removes them.
 */
function signalHandling(controller: AbortController, endProgress: () => string | undefined, io: MainIO, enabled: boolean): Interrupts & { disarm(): void } {
  const exitNow = (error: InterruptedError) => {
    io.stderr.write(interruptedMessage(endProgress()));
    process.exit(error.exitCode);
  };
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    const error = new InterruptedError(signal);
    if (controller.signal.aborted) exitNow(error);
    controller.abort(error);
    setTimeout(() => exitNow(error), STOP_GRACE_MS).unref();
  };
  let armed = false;
  return {
    signal: controller.signal,
    arm() {
      if (!enabled || armed) return;
      armed = true;
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
    disarm() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * Runs the CLI; returns the exit code: 0 success, 2 bad input (config, data, arguments, damaged
 * run files), 3 training diverged, 1 internal failure (its stack trace with --debug or LTH_DEBUG=1),
 * 130 and 143 stopped by SIGINT and SIGTERM (with `handleSignals`).
 */
export async function main(argv: string[], io: MainIO = { stdout: process.stdout, stderr: process.stderr }, options: MainOptions = {}): Promise<number> {
  const program = new Command('lth')
    .description('Lottery-ticket pruning experiments on TensorFlow.js')
    .version(version)
    .option('--debug', 'print the stack trace of an internal error')
    .option(
      '--sparse-kernels',
      'native backend: train layers that keep ≤ 25 % of their weights with sparse kernels (faster; their float32 sums run in another order, so long runs can drift from the dense path; LTH_SPARSE_KERNELS=1 does the same)',
    )
    // Before any command loads plugins: the native backend reads it when it is created (and worker processes inherit it).
    .hook('preAction', (command) => {
      if (command.opts().sparseKernels) process.env.LTH_SPARSE_KERNELS = '1';
    })
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const controller = new AbortController();
  let endProgress = (): string | undefined => undefined;
  const interrupts = signalHandling(controller, () => endProgress(), io, options.handleSignals === true);
  const ctx = cliContext(io, interrupts);
  endProgress = ctx.endProgress;
  for (const addCommand of COMMANDS) addCommand(program, ctx);

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    // Whatever ended the command, a progress bar it drew ends too (the cursor shown again).
    const where = ctx.endProgress();
    if (error instanceof InterruptedError) {
      io.stderr.write(interruptedMessage(where));
      return error.exitCode;
    }
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
  } finally {
    interrupts.disarm();
  }
}
