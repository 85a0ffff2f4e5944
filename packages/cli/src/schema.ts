import { BRANCH_SLOT, ConfigSchema, configDefaults, type Plugin, type PluginRegistry, SLOTS, slotOptionsSchema } from '@lth/core';

type Json = Record<string, unknown>;

/**
 * The `use` values a plugin answers to: its name, or, for a plugin that also answers to pattern
 * names through `matches` (e.g. `lenet-500-300-100`), any string, suggesting its known examples.
 */
function useSchema(p: Plugin): Json {
  const description = `${p.meta.package}@${p.meta.version}`;
  if (!p.matches) return { const: p.meta.name, description };
  const examples = [p.meta.name, ...((p as { examples?: { name: string }[] }).examples ?? []).map((e) => e.name)];
  return { type: 'string', examples, description: `${description}; names like ${examples.slice(-1)[0]}` };
}

/**
 * A JSON Schema for run configs with the installed plugins, for editor completion
 * (`"$schema": "./lth.schema.json"`): core's schema, with each plugin slot narrowed to one branch
 * per plugin (`use` fixed to its name, its own options beside it). Validation proper stays with
 * `lth validate`, which also fills defaults and reports every problem by path.
 */
export function configJsonSchema(registry: PluginRegistry): Json {
  const schema = structuredClone(ConfigSchema) as unknown as Json;
  schema.$schema = 'http://json-schema.org/draft-07/schema#';
  schema.title = 'lth run config';
  // Defaults are filled in before validation: only what has no default is required.
  const props = schema.properties as Record<string, Json>;
  const relax = (node: Json, defaults: Record<string, unknown> | undefined) => {
    node.required = ((node.required as string[] | undefined) ?? []).filter((k) => defaults?.[k] === undefined);
    for (const [k, child] of Object.entries((node.properties as Record<string, Json>) ?? {})) {
      if (child.type === 'object' && child.properties) relax(child, defaults?.[k] as Record<string, unknown> | undefined);
    }
  };
  relax(schema, configDefaults(registry));
  const choices = (spec: Omit<(typeof SLOTS)[number], 'path'>) =>
    registry.all(spec.kind).map((p) => {
      // The same per-plugin schema validation uses (core's extras and required fields included), with `use` narrowed.
      const full = slotOptionsSchema(p, spec) as unknown as Json;
      // Plugin options have defaults (filled in before validation): only `use` and core's required extras are required.
      const required = (full.required as string[]).filter((k) => k === 'use' || k in spec.extras);
      return { ...full, required, description: p.meta.description ?? '', properties: { ...(full.properties as Json), use: useSchema(p) } };
    });
  for (const spec of SLOTS) {
    const { path } = spec;
    const parent = path.slice(0, -1).reduce((o, key) => (o.properties as Record<string, Json>)[key], schema);
    const slot = (parent.properties as Record<string, Json>)[path[path.length - 1]];
    (parent.properties as Record<string, Json>)[path[path.length - 1]] = { description: slot.description, anyOf: choices(spec) };
  }
  const branches = props.branches as Json;
  branches.items = { description: (branches.items as Json).description, anyOf: choices(BRANCH_SLOT) };
  return JSON.parse(JSON.stringify(schema)) as Json;
}
