import { API_VERSION, type Plugin } from './contracts.js';
import { UserError } from './errors.js';
import { PLUGIN_KINDS, type PluginKind } from './tokens.js';

const packageOf = (p: Plugin) => p.meta.package ?? '(unknown package)';

/**
 * Plugins of every kind, by name. Unknown names fail loudly, listing what exists. A name that two
 * packages register is kept for both and is an error only when a config uses it, naming both
 * packages; `"use": "<package>:<name>"` picks one.
 */
export class PluginRegistry {
  private readonly byKind = new Map<PluginKind, Map<string, Plugin[]>>(PLUGIN_KINDS.map((k) => [k, new Map()]));
  private readonly firstParty = new Set<string>();
  /**
   * The plugin a config gets for a slot it leaves out, by slot path (`pruning.scorer`): chosen by
   * the distribution (the CLI), since core names no plugin of another package.
   */
  readonly defaultChoices: Record<string, string> = {};

  /** Sets the distribution's default plugin for slots (`{ "pruning.scorer": "magnitude" }`). */
  setDefaultChoices(choices: Record<string, string>): void {
    Object.assign(this.defaultChoices, choices);
  }

  /** Marks a package as the distribution's own: its plugins' aliases (`matches`) win over others'. */
  markFirstParty(pkg: string): void {
    this.firstParty.add(pkg);
  }

  add(kind: PluginKind, plugin: Plugin): void {
    const { meta } = plugin;
    if (!meta || typeof meta.name !== 'string' || meta.name === '' || meta.name.includes(':')) {
      throw new Error(`A ${kind} plugin from ${meta?.package ?? '(unknown package)'} has no usable meta.name (a non-empty name without ":").`);
    }
    if (meta.apiVersion !== API_VERSION) {
      throw new Error(
        `${kind} plugin "${meta.name}" from ${packageOf(plugin)} targets lth API version ${meta.apiVersion}, ` +
          `but @lth/core provides API version ${API_VERSION}: install a version of ${packageOf(plugin)} built for this core.`,
      );
    }
    const known = this.byKind.get(kind)!;
    known.set(meta.name, [...(known.get(meta.name) ?? []), plugin]);
  }

  /** Names claimed by more than one package, with the packages. */
  conflicts(kind: PluginKind): { name: string; packages: string[] }[] {
    return [...this.byKind.get(kind)!.entries()].filter(([, ps]) => ps.length > 1).map(([name, ps]) => ({ name, packages: ps.map(packageOf) }));
  }

  /** The one plugin named exactly `name` (or `<package>:<name>`); undefined when there is none. */
  private exact<P extends Plugin>(kind: PluginKind, name: string, field?: string): P | undefined {
    const colon = name.lastIndexOf(':');
    if (colon > 0) {
      const [pkg, plugin] = [name.slice(0, colon), name.slice(colon + 1)];
      return this.byKind.get(kind)!.get(plugin)?.find((p) => packageOf(p) === pkg) as P | undefined;
    }
    const all = this.byKind.get(kind)!.get(name);
    if (all && all.length > 1) {
      const packages = all.map(packageOf);
      throw new UserError(
        `${field ? `${field}: ` : ''}${kind} "${name}" is registered by ${packages.join(' and ')}; ` +
          `pick one with "use": "${packages[0]}:${name}" (or uninstall one of them)`,
        field,
      );
    }
    return all?.[0] as P | undefined;
  }

  /**
   * The plugin `name` of `kind` and the options its name implies (see `Plugin.matches`), or a
   * UserError listing the names that exist. Exact names win; then the aliases of first-party
   * plugins, so no installed package can take over a name the distribution answers to; then
   * other packages' aliases (two of them answering the same name is an error naming both).
   */
  lookup<P extends Plugin>(kind: PluginKind, name: string, field?: string): { plugin: P; implied: Record<string, unknown> } {
    const exact = this.exact<P>(kind, name, field);
    if (exact) return { plugin: exact, implied: {} };
    const all = this.all(kind);
    for (const group of [all.filter((p) => this.firstParty.has(packageOf(p))), all.filter((p) => !this.firstParty.has(packageOf(p)))]) {
      const hits = group.map((plugin) => ({ plugin, implied: plugin.matches?.(name) })).filter((h) => h.implied);
      if (hits.length > 1) {
        throw new UserError(`${field ? `${field}: ` : ''}${kind} "${name}" is answered by ${hits.map((h) => `"${h.plugin.meta.name}" of ${packageOf(h.plugin)}`).join(' and ')}; name the plugin exactly`, field);
      }
      if (hits.length) return { plugin: hits[0].plugin as P, implied: hits[0].implied as Record<string, unknown> };
    }
    return { plugin: this.get<P>(kind, name, field), implied: {} };
  }

  /** The plugin `name` of `kind`, or a UserError listing the names that exist. */
  get<P extends Plugin>(kind: PluginKind, name: string, field?: string): P {
    const plugin = this.exact<P>(kind, name, field);
    if (!plugin) {
      const names = this.names(kind);
      throw new UserError(
        `${field ? `${field}: ` : ''}unknown ${kind} "${name}". Known ${kind}s: ${names.length ? names.join(', ') : '(none installed)'}.`,
        field,
      );
    }
    return plugin;
  }

  has(kind: PluginKind, name: string): boolean {
    return this.byKind.get(kind)!.has(name);
  }

  names(kind: PluginKind): string[] {
    return [...this.byKind.get(kind)!.keys()].sort();
  }

  all(kind: PluginKind): Plugin[] {
    return [...this.byKind.get(kind)!.values()].flat();
  }
}
