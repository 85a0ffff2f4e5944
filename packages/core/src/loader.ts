import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from './contracts.js';
import { type DependencyContainer, rootContainer } from './container.js';
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
  /** Directories to search from: each one's `node_modules` and those of its parents. */
  from?: string[];
  /** Extra package directories to load whether or not they are installed anywhere. */
  packages?: string[];
}

function readPluginPackage(dir: string): PluginPackage | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  let pkg: { name?: string; version?: string; lth?: { plugin?: string } };
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const plugin = pkg.lth?.plugin;
  if (typeof plugin !== 'string' || !pkg.name) return undefined;
  return { name: pkg.name, version: pkg.version ?? '0.0.0', dir, entry: resolve(dir, plugin) };
}

function packagesIn(nodeModules: string): string[] {
  const dirs: string[] = [];
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      for (const scoped of readdirSync(full, { withFileTypes: true })) dirs.push(join(full, scoped.name));
    } else {
      dirs.push(full);
    }
  }
  return dirs;
}

/** The default search roots: the working directory and the place this copy of core is installed. */
export function defaultSearchRoots(): string[] {
  return [process.cwd(), dirname(fileURLToPath(import.meta.url))];
}

/**
 * Finds every installed plugin package: first-party and third-party alike, in any
 * `node_modules` above the search roots. A package reachable twice (symlinks) counts once.
 */
export function discoverPluginPackages(options: DiscoverOptions = {}): PluginPackage[] {
  const seen = new Set<string>();
  const found: PluginPackage[] = [];
  const consider = (dir: string) => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    const pkg = readPluginPackage(real);
    if (pkg) found.push(pkg);
  };
  for (const dir of options.packages ?? []) consider(resolve(dir));
  for (const start of options.from ?? defaultSearchRoots()) {
    let dir = resolve(start);
    for (;;) {
      const nm = join(dir, 'node_modules');
      if (existsSync(nm)) for (const p of packagesIn(nm)) consider(p);
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
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
  /** Packages that declare an lth plugin but could not be imported (skipped, with the reason). */
  failures: { package: PluginPackage; error: Error }[];
}

/**
 * Builds a run's container: core's built-ins plus every discovered plugin package (or the
 * modules given directly, for tests), registered into a child of `parent`.
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
  }
  let packages: PluginPackage[] = [];
  const failures: LoadedPlugins['failures'] = [];
  if (options.modules) {
    for (const [name, mod] of Object.entries(options.modules)) {
      await collectPlugins(container, name, mod.register, registry);
    }
  } else {
    packages = discoverPluginPackages(options);
    for (const pkg of packages) {
      // One unloadable package (not built, broken install) must not take the others down; a
      // config that names one of its plugins still fails, listing the names that did load.
      let mod: PluginModule;
      try {
        mod = await importPluginPackage(pkg);
      } catch (error) {
        failures.push({ package: pkg, error: error as Error });
        continue;
      }
      await collectPlugins(container, pkg.name, mod.register, registry);
    }
  }
  container.register(TOKENS.registry, { useValue: registry });
  return { container, registry, packages, failures };
}
