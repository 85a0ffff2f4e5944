import { ConfigSchema, type Plugin, type PluginRegistry, SLOTS, type TSchema } from '@lth/core';

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
  schema.required = ['name', 'dataset', 'model', 'training'];
  props.training.required = ['optimizer', 'batchSize', 'iterations'];
  props.pruning.required = [];
  for (const { path, kind } of SLOTS) {
    const parent = path.slice(0, -1).reduce((o, key) => (o.properties as Record<string, Json>)[key], schema);
    const slot = (parent.properties as Record<string, Json>)[path[path.length - 1]];
    const extras = Object.fromEntries(Object.entries((slot.properties as Record<string, TSchema>) ?? {}).filter(([k]) => k !== 'use'));
    const branches = registry.all(kind).map((p) => {
      const options = p.optionsSchema as unknown as Json;
      return {
        type: 'object',
        description: p.meta.description ?? '',
        properties: { use: useSchema(p), ...((options.properties as Json) ?? {}), ...extras },
        required: kind === 'optimizer' ? ['use', 'lr'] : ['use'],
        additionalProperties: false,
      };
    });
    (parent.properties as Record<string, Json>)[path[path.length - 1]] = { description: slot.description, anyOf: branches };
  }
  return JSON.parse(JSON.stringify(schema)) as Json;
}
