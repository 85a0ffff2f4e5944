import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from './contracts.js';
import { type DependencyContainer, rootContainer } from './container.js';
import { UserError } from './errors.js';
import { PluginRegistry } from './registry.js';
import { PLUGIN_KINDS, TOKENS } from './tokens.js';

/** An installed npm package whose package.json has `"lth": { "plugin": "<module>" }`. */
export interface PluginPackage {
  name: string;
  version: string;
  dir: string;
  /** Absolute path of the module that exports `register(container)`. */
  entry: string;
}

/** What a plugin package's module exports. */
export interface PluginModule {
  register(container: DependencyContainer): void | Promise<void>;
}

export interface DiscoverOptions {
  /**
   * The user's project: the nearest directory at or above this one with a package.json (default:
   * the working directory). The plugin packages it declares (package.json dependencies,
   * devDependencies and optionalDependencies, and `"plugins": [...]` in an lth.config.json beside
   * it) are loaded; nothing else installed there, and nothing above the project, is.
   */
  project?: string;
  /** The distribution's own plugin packages (the CLI's dependencies), resolved from `from`. */
  firstParty?: { from: string; names: string[] };
  /** Extra package directories to load whether or not anything declares them (tests). */
  packages?: string[];
}

/** A package that declares a plugin but cannot be used (skipped with a warning naming it). */
export interface PluginFailure {
  package: Pick<PluginPackage, 'name' | 'dir'> & Partial<PluginPackage>;
  error: Error;
}

const isInside = (dir: string, file: string) => file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** The plugin package in `dir`, undefined when it declares no plugin, or an Error saying what is wrong with it. */
function readPluginPackage(dir: string): PluginPackage | Error | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  let pkg: { name?: string; version?: string; lth?: { plugin?: unknown } };
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return new Error(`its package.json is not valid JSON (${(error as Error).message})`);
  }
  if (pkg?.lth === undefined) return undefined;
  const plugin = pkg.lth?.plugin;
  if (typeof plugin !== 'string' || typeof pkg.name !== 'string') return new Error('its "lth" field needs "plugin": "<module path>" and the package a "name"');
  // The entry must be a file of the package itself: never a path that climbs out of it.
  const entry = resolve(dir, plugin);
  let real = entry;
  try {
    real = realpathSync(entry);
  } catch {
    // Not built yet: importing it fails later with a clear message.
  }
  if (!isInside(dir, entry) || !isInside(dir, real)) return new Error(`its plugin entry "${plugin}" is outside the package directory`);
  return { name: pkg.name, version: pkg.version ?? '0.0.0', dir, entry };
}

/** The nearest directory at or above `start` that has a package.json. */
export function projectRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The names a project declares: its package.json dependencies, and lth.config.json "plugins". */
export function declaredPlugins(root: string): string[] {
  const read = (file: string) => {
    if (!existsSync(file)) return {};
    try {
      return JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as Record<string, unknown>;
    } catch (error) {
      throw new UserError(`${file} is not valid JSON: ${(error as Error).message}`, file);
    }
  };
  const pkg = read(join(root, 'package.json'));
  const names = ['dependencies', 'devDependencies', 'optionalDependencies'].flatMap((k) => Object.keys((pkg[k] as object) ?? {}));
  const config = read(join(root, 'lth.config.json'));
  if (config.plugins !== undefined && !(Array.isArray(config.plugins) && config.plugins.every((p) => typeof p === 'string'))) {
    throw new UserError(`${join(root, 'lth.config.json')}: "plugins" must be an array of package names`, 'plugins');
  }
  return [...new Set([...names, ...((config.plugins as string[]) ?? [])])];
}

/** Where package `name` is installed for code in `from`: the nearest node_modules/<name> at or above it. */
function installedAt(name: string, from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The plugin packages to load, by the trust rule: the distribution's own, those the project
 * declares, and any given explicitly. Nothing merely present in a node_modules is imported.
 */
export function discoverPluginPackages(options: DiscoverOptions = {}): { packages: PluginPackage[]; failures: PluginFailure[] } {
  const seen = new Set<string>();
  const packages: PluginPackage[] = [];
  const failures: PluginFailure[] = [];
  const consider = (dir: string, name = dir) => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    const pkg = readPluginPackage(real);
    if (pkg instanceof Error) failures.push({ package: { name, dir: real }, error: pkg });
    else if (pkg) packages.push(pkg);
  };
  for (const dir of options.packages ?? []) consider(resolve(dir));
  if (options.firstParty) for (const name of options.firstParty.names) consider(installedAt(name, options.firstParty.from) ?? '', name);
  const root = projectRoot(options.project ?? process.cwd());
  if (root) for (const name of declaredPlugins(root)) consider(installedAt(name, root) ?? '', name);
  return { packages: packages.sort((a, b) => a.name.localeCompare(b.name)), failures };
}

/**
 * Calls `register` on a fresh child container and collects what it registered, tagging each
 * plugin with the package it came from. Nothing leaks into `parent`.
 */
export async function collectPlugins(
  parent: DependencyContainer,
  packageName: string,
  register: PluginModule['register'],
  registry: PluginRegistry,
): Promise<void> {
  const scratch = parent.createChildContainer();
  await register(scratch);
  for (const kind of PLUGIN_KINDS) {
    const token = TOKENS[kind];
    if (!scratch.isRegistered(token, false)) continue;
    for (const plugin of scratch.resolveAll<Plugin>(token)) {
      registry.add(kind, { ...plugin, meta: { ...plugin.meta, package: packageName } });
    }
  }
}

export async function importPluginPackage(pkg: PluginPackage): Promise<PluginModule> {
  let mod: Partial<PluginModule>;
  try {
    mod = (await import(pathToFileURL(pkg.entry).href)) as Partial<PluginModule>;
  } catch (error) {
    throw new Error(`Could not load lth plugin package ${pkg.name} (${pkg.entry}): ${(error as Error).message}`);
  }
  if (typeof mod.register !== 'function') {
    throw new Error(`lth plugin package ${pkg.name} (${pkg.entry}) does not export a register(container) function.`);
  }
  return mod as PluginModule;
}

export interface LoadedPlugins {
  container: DependencyContainer;
  registry: PluginRegistry;
  packages: PluginPackage[];
  /** Packages that declare an lth plugin but could not be used (skipped, with the reason). */
  failures: PluginFailure[];
}

/**
 * Builds a run's container: core's built-ins plus the plugin packages of the trust rule
 * (`discoverPluginPackages`; or the modules given directly, for tests), registered into a child
 * of `parent`. A package that cannot be used is a failure (a warning), never the end of every
 * command.
 */
export async function loadPlugins(
  options: DiscoverOptions & {
    parent?: DependencyContainer;
    /** Plugin modules given directly, by package name (skips discovery when set). */
    modules?: Record<string, PluginModule>;
    /** Register core's built-ins (schedules, LR, warmup, optimizers, backends). Default true. */
    builtins?: boolean;
  } = {},
): Promise<LoadedPlugins> {
  const container = (options.parent ?? rootContainer).createChildContainer();
  const registry = new PluginRegistry();
  if (options.builtins !== false) {
    const { registerBuiltins } = await import('./builtins/index.js');
    await collectPlugins(container, '@lth/core', registerBuiltins, registry);
    registry.markFirstParty('@lth/core');
  }
  for (const name of options.firstParty?.names ?? []) registry.markFirstParty(name);
  const found = options.modules
    ? { packages: [] as PluginPackage[], failures: [] as PluginFailure[] }
    : discoverPluginPackages(options);
  const failures = [...found.failures];
  const load = async (name: string, dir: string, mod: () => Promise<PluginModule>, pkg?: PluginPackage) => {
    try {
      await collectPlugins(container, name, (await mod()).register, registry);
    } catch (error) {
      // One unusable package (not built, broken install, another API version) must not take the
      // others down; a config that names one of its plugins still fails, listing those that loaded.
      failures.push({ package: pkg ?? { name, dir }, error: error as Error });
    }
  };
  for (const [name, mod] of Object.entries(options.modules ?? {})) await load(name, '(module)', async () => mod);
  for (const pkg of found.packages) await load(pkg.name, pkg.dir, () => importPluginPackage(pkg), pkg);
  container.register(TOKENS.registry, { useValue: registry });
  return { container, registry, packages: found.packages, failures };
}
