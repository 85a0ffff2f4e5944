import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LoadedPlugins, loadPlugins, PLUGIN_KINDS, type PluginRegistry, type Reporter, selectBackend, UserError } from '@lth/core';
import { type Command, Option } from 'commander';
import { ConsoleReporter } from './reporter.js';

// Where lth is installed: plugin packages are discovered from here as well as from the working directory.
const here = dirname(fileURLToPath(import.meta.url));

/**
 * The plugins a config gets for the slots it leaves out: the distribution's choice (core names
 * no plugin of another package). The paper's procedure: magnitude scores, layer-wise masks,
 * rewinding to θ0.
 */
export const DEFAULT_CHOICES: Record<string, string> = { 'pruning.scorer': 'magnitude', 'pruning.masker': 'layerwise', 'pruning.rewind': 'iteration' };

/** The version of @lth/cli, for `lth --version`. */
export const version = (JSON.parse(readFileSync(resolve(here, '../package.json'), 'utf8')) as { version: string }).version;

const cliPackage = JSON.parse(readFileSync(resolve(here, '../package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  /** @lth/backend-native: compiled at install, so an install without a compiler or OpenBLAS still succeeds. */
  optionalDependencies?: Record<string, string>;
};

/**
 * The plugins lth loads (the trust rule, README "Plugins"): the distribution's own (the CLI's
 * @lth dependencies, optional ones included when they are installed), and those the user's
 * project declares (its package.json dependencies and lth.config.json "plugins"). Nothing else
 * installed is imported.
 */
export async function discover(stderr: NodeJS.WritableStream = process.stderr, project = process.cwd()): Promise<LoadedPlugins> {
  const names = Object.keys({ ...cliPackage.dependencies, ...cliPackage.optionalDependencies }).filter((n) => n.startsWith('@lth/'));
  const firstParty = { from: resolve(here, '..'), names };
  const loaded = await loadPlugins({ project, firstParty });
  loaded.registry.setDefaultChoices(DEFAULT_CHOICES);
  for (const f of loaded.failures) stderr.write(`lth: warning: skipped plugin package ${f.package.name} (${f.package.dir}): ${f.error.message}\n`);
  for (const kind of PLUGIN_KINDS) {
    for (const c of loaded.registry.conflicts(kind)) {
      stderr.write(`lth: warning: ${kind} "${c.name}" is registered by ${c.packages.join(' and ')}; a config must pick one ("use": "${c.packages[0]}:${c.name}")\n`);
    }
  }
  return loaded;
}

/** Reads a JSON config or sweep file; a missing file or bad JSON is the user's error (exit code 2). */
export function readConfig(file: string): unknown {
  const path = resolve(file);
  if (!existsSync(path)) throw new UserError(`config file not found: ${file}`, '<config>');
  try {
    // A UTF-8 byte-order mark (some Windows editors write one) is not part of the JSON.
    return JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new UserError(`${file} is not valid JSON: ${(error as Error).message}`, '<config>');
  }
}

/** Where the CLI writes; tests pass collecting streams and a reporter to run it in-process. */
export interface MainIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  reporter?: Reporter;
}

/** What every command gets: the IO, and the helpers that several commands share. */
export interface CliContext {
  io: MainIO;
  /** Writes one line to stdout. */
  out(line: string): void;
  /** Discovers the installed plugins, warning on stderr about packages that failed to load. */
  discover(): Promise<LoadedPlugins>;
  readConfig(file: string): unknown;
  /** A fresh `--backend <name>` option (commander options cannot be shared between commands). */
  backendOption(): Option;
  /** Activates the chosen backend, saying once why a faster one was passed over. */
  selectBackend(registry: PluginRegistry, name: string): Promise<void>;
  /** The reporter for training progress: the one in `io`, else progress bars on stderr. */
  reporter(): Reporter;
  /**
   * Aborted by Ctrl-C or SIGTERM: long commands pass it to core, which stops at the next progress
   * update. Reading it (or asking for `reporter()`) is what makes `main` handle those signals for
   * the command; a command that handles them itself (serve, worker) uses neither.
   */
  readonly signal: AbortSignal;
  /** Ends the progress bar the last `reporter()` drew (cursor shown again); says where the run was, e.g. "replicate 0, level 3". */
  endProgress(): string | undefined;
}

/** A command's file exports one of these: it adds the command (with its options and action) to the program. */
export type AddCommand = (program: Command, ctx: CliContext) => void;

/** Ctrl-C and SIGTERM for the commands that want them: the signal they abort, and `arm()`, which installs the handlers (once). */
export interface Interrupts {
  signal: AbortSignal;
  arm(): void;
}

export function cliContext(io: MainIO, interrupts: Interrupts = { signal: new AbortController().signal, arm: () => {} }): CliContext {
  let progress: ConsoleReporter | undefined;
  return {
    io,
    out: (line) => io.stdout.write(`${line}\n`),
    discover: () => discover(io.stderr),
    readConfig,
    backendOption: () =>
      new Option('--backend <name>', 'TensorFlow.js backend: auto picks the fastest installed (tensorflow, native, wasm, cpu)').default('auto'),
    selectBackend: async (registry, name) => {
      const backend = await selectBackend(registry, name);
      // tfjs-node is an optional extra: its absence is no news.
      for (const s of backend.skipped) if (s.name !== 'tensorflow') io.stderr.write(`lth: backend ${s.name} unavailable: ${s.reason}\n`);
    },
    reporter: () => {
      interrupts.arm();
      return io.reporter ?? (progress = new ConsoleReporter(io.stderr));
    },
    get signal() {
      interrupts.arm();
      return interrupts.signal;
    },
    endProgress: () => progress?.interrupt(),
  };
}
