import { API_VERSION, type Plugin } from './contracts.js';
import { UserError } from './errors.js';
import { PLUGIN_KINDS, type PluginKind } from './tokens.js';

/** Plugins of every kind, by name. Unknown names and duplicates fail loudly. */
export class PluginRegistry {
  private readonly byKind = new Map<PluginKind, Map<string, Plugin>>(PLUGIN_KINDS.map((k) => [k, new Map()]));
  /**
   * The plugin a config gets for a slot it leaves out, by slot path (`pruning.scorer`): chosen by
   * the distribution (the CLI), since core names no plugin of another package.
   */
  readonly defaultChoices: Record<string, string> = {};

  /** Sets the distribution's default plugin for slots (`{ "pruning.scorer": "magnitude" }`). */
  setDefaultChoices(choices: Record<string, string>): void {
    Object.assign(this.defaultChoices, choices);
  }

  add(kind: PluginKind, plugin: Plugin): void {
    const { meta } = plugin;
    const where = meta.package ?? '(unknown package)';
    if (!meta || typeof meta.name !== 'string' || meta.name === '') {
      throw new Error(`A ${kind} plugin from ${where} has no meta.name.`);
    }
    if (meta.apiVersion !== API_VERSION) {
      throw new Error(
        `${kind} plugin "${meta.name}" from ${where} targets lth API version ${meta.apiVersion}, ` +
          `but @lth/core provides API version ${API_VERSION}: install a version of ${where} built for this core.`,
      );
    }
    const known = this.byKind.get(kind)!;
    const existing = known.get(meta.name);
    if (existing) {
      throw new Error(
        `Two ${kind} plugins are named "${meta.name}": one from ${existing.meta.package ?? '(unknown package)'} ` +
          `and one from ${where}. Uninstall one of them, or rename one.`,
      );
    }
    known.set(meta.name, plugin);
  }

  /**
   * The plugin `name` of `kind` and the options its name implies (see `Plugin.matches`), or a
   * UserError listing the names that exist.
   */
  lookup<P extends Plugin>(kind: PluginKind, name: string, field?: string): { plugin: P; implied: Record<string, unknown> } {
    const exact = this.byKind.get(kind)!.get(name);
    if (exact) return { plugin: exact as P, implied: {} };
    for (const plugin of this.byKind.get(kind)!.values()) {
      const implied = plugin.matches?.(name);
      if (implied) return { plugin: plugin as P, implied: implied as Record<string, unknown> };
    }
    return { plugin: this.get<P>(kind, name, field), implied: {} };
  }

  /** The plugin `name` of `kind`, or a UserError listing the names that exist. */
  get<P extends Plugin>(kind: PluginKind, name: string, field?: string): P {
    const plugin = this.byKind.get(kind)!.get(name);
    if (!plugin) {
      const names = this.names(kind);
      throw new UserError(
        `${field ? `${field}: ` : ''}unknown ${kind} "${name}". Known ${kind}s: ${names.length ? names.join(', ') : '(none installed)'}.`,
        field,
      );
    }
    return plugin as P;
  }

  has(kind: PluginKind, name: string): boolean {
    return this.byKind.get(kind)!.has(name);
  }

  names(kind: PluginKind): string[] {
    return [...this.byKind.get(kind)!.keys()].sort();
  }

  all(kind: PluginKind): Plugin[] {
    return [...this.byKind.get(kind)!.values()];
  }
}
