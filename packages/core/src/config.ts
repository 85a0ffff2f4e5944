import { createHash } from 'node:crypto';
// Hint, Kind, OptionalKind and ReadonlyKind are imported so the schema's declared type can name them.
import { type Hint, type Kind, type OptionalKind, type ReadonlyKind, type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import stringify from 'safe-stable-stringify';
import type { Plugin } from './contracts.js';
import { PRUNING_CONTROLS, type PruningControl } from './controls.js';
import { DURATION_PATTERN } from './duration.js';
import { UserError } from './errors.js';
import type { PluginRegistry } from './registry.js';
import type { PluginKind } from './tokens.js';

/** A duration: iterations (`2000`, `"2000it"`) or epochs (`"2ep"`). */
export const DurationSchema = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], {
  description: 'Iterations as a number or "<n>it", or epochs as "<n>ep".',
});

/** A plugin slot: `use` names the plugin; the plugin's own options sit beside it. */
const slot = (kind: string, description: string, extra: Record<string, TSchema> = {}) =>
  Type.Object(
    {
      use: Type.String({ minLength: 1, description: `The ${kind} plugin to use (\`lth plugins\` lists them).` }),
      ...extra,
    },
    { description, additionalProperties: true },
  );

/** Core's part of the config schema. Each slot's options are checked against its plugin's schema. */
export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'JSON Schema for editor completion (ignored).' })),
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Run name; the run directory is <name>-<hash12>.' }),
    seed: Type.Integer({ minimum: 0, description: 'Master seed: initialisation, data order and pruning randomness derive from it.' }),
    replicates: Type.Integer({ minimum: 1, description: 'Independent repetitions with derived seeds (replicate r uses its own θ0 and data order).' }),
    dataset: slot('dataset', 'The data.', {
      validation: Type.Integer({ minimum: 0, description: 'Training examples held out for validation (early-stop criterion).' }),
    }),
    model: slot('model', 'The network.'),
    training: Type.Object(
      {
        optimizer: slot('optimizer', 'The optimizer and its base learning rate.', {
          lr: Type.Number({ exclusiveMinimum: 0, description: 'Base learning rate (before schedule and warmup).' }),
        }),
        lrSchedule: slot('lrSchedule', 'Learning-rate schedule: lr(iteration) from the base rate.'),
        warmup: slot('warmup', 'Learning-rate warmup: a factor in [0, 1] multiplying the schedule.'),
        batchSize: Type.Integer({ minimum: 1, description: 'Examples per iteration.' }),
        iterations: { ...DurationSchema, description: 'Training length of every level (iterations or epochs).' },
        evalEvery: { ...DurationSchema, description: 'Evaluate on validation and test data every this many iterations (and at the end).' },
      },
      { additionalProperties: false, description: 'How each level trains.' },
    ),
    pruning: Type.Object(
      {
        schedule: slot('schedule', 'How many levels, and the rate pruned before each.'),
        scorer: slot('scorer', 'Which weights matter: scores per weight (higher = kept).'),
        masker: slot('masker', 'How scores become masks: global or layer-wise top-k, with per-layer overrides.'),
        rewind: slot('rewinder', 'What each pruned level starts from (θk, a re-initialisation, ...).'),
        control: Type.Unsafe<PruningControl>({
          type: 'string',
          enum: [...PRUNING_CONTROLS],
          description:
            'Sanity control applied to every pruning step (Frankle et al. 2021): "none"; "invert" keeps the lowest-scored weights; ' +
            '"shuffle" keeps each layer\'s pruned count but shuffles which of its remaining weights are pruned.',
        }),
      },
      { additionalProperties: false, description: 'The lottery-ticket procedure.' },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

/** What a user may leave out: core's defaults, filled in before validation. */
export const CONFIG_DEFAULTS = {
  seed: 0,
  replicates: 1,
  dataset: { validation: 5000 },
  training: {
    lrSchedule: { use: 'constant' },
    warmup: { use: 'none' },
    evalEvery: 500,
  },
  pruning: {
    schedule: { use: 'iterative' },
    scorer: { use: 'magnitude' },
    masker: { use: 'layerwise' },
    rewind: { use: 'iteration' },
    control: 'none',
  },
} as const;

/** Every plugin slot of a config: where it sits and which kind of plugin fills it. */
export const SLOTS: { path: string[]; kind: PluginKind }[] = [
  { path: ['dataset'], kind: 'dataset' },
  { path: ['model'], kind: 'model' },
  { path: ['training', 'optimizer'], kind: 'optimizer' },
  { path: ['training', 'lrSchedule'], kind: 'lrSchedule' },
  { path: ['training', 'warmup'], kind: 'warmup' },
  { path: ['pruning', 'schedule'], kind: 'schedule' },
  { path: ['pruning', 'scorer'], kind: 'scorer' },
  { path: ['pruning', 'masker'], kind: 'masker' },
  { path: ['pruning', 'rewind'], kind: 'rewinder' },
];

/** Options that core adds to a slot (not part of the plugin's schema, not passed as defaults). */
const SLOT_EXTRAS: Partial<Record<PluginKind, string[]>> = { dataset: ['validation'], optimizer: ['lr'] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function mergeDefaults(defaults: unknown, value: unknown): unknown {
  if (value === undefined) return structuredClone(defaults);
  if (isObject(defaults) && isObject(value)) {
    const out: Record<string, unknown> = { ...value };
    for (const [k, d] of Object.entries(defaults)) out[k] = mergeDefaults(d, value[k]);
    return out;
  }
  return value;
}

// verbose: errors carry their schema, so an unknown field's message can list the allowed ones.
const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const validateCore = ajv.compile(ConfigSchema);
const slotValidators = new WeakMap<Plugin, ReturnType<typeof ajv.compile>>();

/** `/a/b` → the JSON path printed in messages. */
const at = (path: string[]) => `/${path.join('/')}`;

export function formatAjvErrors(errors: ErrorObject[], prefix = ''): string[] {
  const lines: string[] = [];
  for (const e of errors) {
    // Union branches report once per branch; the pattern/type detail of a duration is in its description.
    if (e.keyword === 'anyOf') continue;
    const path = prefix + e.instancePath || '/';
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      lines.push(`${path === '/' ? '' : path}/${extra}: unknown field "${extra}"${knownFields(e)}`);
      continue;
    }
    if (e.keyword === 'enum') message += `: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      lines.push(`${path === '/' ? '' : path}/${missing}: required field is missing`);
      continue;
    }
    lines.push(`${path}: ${message}`);
  }
  return [...new Set(lines)];
}

function knownFields(e: ErrorObject): string {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? ` (allowed: ${Object.keys(props).join(', ')})` : '';
}

function slotSchema(plugin: Plugin, kind: PluginKind): TObject {
  const base = plugin.optionsSchema as TObject;
  const coreExtras = (ConfigSchema.properties as Record<string, any>);
  const extras: Record<string, TSchema> = {};
  if (kind === 'dataset') extras.validation = coreExtras.dataset.properties.validation;
  if (kind === 'optimizer') extras.lr = coreExtras.training.properties.optimizer.properties.lr;
  return {
    ...base,
    type: 'object',
    properties: { use: { type: 'string' }, ...(base.properties ?? {}), ...extras },
    required: [...new Set(['use', ...(base.required ?? []), ...Object.keys(extras)])],
    additionalProperties: false,
  } as unknown as TObject;
}

export interface ResolvedSlot {
  plugin: Plugin;
  options: Record<string, unknown>;
}

export interface ResolvedConfig {
  config: Config;
  /** The plugin behind each slot, by slot path (`training.optimizer`). */
  slots: Record<string, ResolvedSlot>;
  /** Canonical form without defaults: what the hash covers. */
  canonical: string;
  hash: string;
}

function getAt(obj: Record<string, unknown>, path: string[]): unknown {
  return path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), obj);
}

/**
 * Fills defaults, validates core's schema and each slot against its plugin's schema, and
 * computes the run hash. Every problem is reported at once, each line naming its JSON path.
 */
export function resolveConfig(raw: unknown, registry: PluginRegistry): ResolvedConfig {
  if (!isObject(raw)) throw new UserError('the config must be a JSON object', '/');
  const config = mergeDefaults(CONFIG_DEFAULTS, raw) as Record<string, unknown>;
  if (!validateCore(config)) {
    throw new UserError(`invalid config:\n  ${formatAjvErrors(validateCore.errors ?? []).join('\n  ')}`, validateCore.errors?.[0]?.instancePath);
  }
  const problems: string[] = [];
  const slots: Record<string, ResolvedSlot> = {};
  const stripped = structuredClone(config) as Record<string, any>;
  delete stripped.$schema;
  delete stripped.name;
  delete stripped.replicates;
  for (const { path, kind } of SLOTS) {
    const value = getAt(config, path) as Record<string, unknown>;
    const field = at([...path, 'use']);
    let plugin: Plugin;
    let implied: Record<string, unknown>;
    try {
      ({ plugin, implied } = registry.lookup(kind, value.use as string, field));
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    const options = { ...structuredClone(plugin.defaults), ...implied, ...value };
    let validate = slotValidators.get(plugin);
    if (!validate) {
      validate = ajv.compile(slotSchema(plugin, kind));
      slotValidators.set(plugin, validate);
    }
    if (!validate(options)) {
      problems.push(...formatAjvErrors(validate.errors ?? [], at(path)).map((l) => `${l} (${kind} "${plugin.meta.name}")`));
      continue;
    }
    // Write the filled-in options back so config.json shows what ran.
    const parent = getAt(config, path.slice(0, -1)) as Record<string, unknown> | undefined;
    (parent ?? config)[path[path.length - 1]] = options;
    slots[path.join('.')] = { plugin, options };
    // The hash drops options equal to their defaults, so adding an option never renames old runs.
    const canon = getAt(stripped, path.slice(0, -1)) as Record<string, unknown> | undefined;
    // The plugin's own name, so `lenet-300-100` and `lenet` with hidden [300, 100] hash alike.
    const reduced: Record<string, unknown> = { use: plugin.meta.name };
    for (const [k, v] of Object.entries(options)) {
      if (k === 'use') continue;
      const isExtra = SLOT_EXTRAS[kind]?.includes(k);
      const d = isExtra ? getAt(CONFIG_DEFAULTS as Record<string, unknown>, [...path, k]) : (plugin.defaults as Record<string, unknown>)[k];
      if (d !== undefined && stringify(d) === stringify(v)) continue;
      reduced[k] = v;
    }
    (canon ?? stripped)[path[path.length - 1]] = reduced;
  }
  if (problems.length) throw new UserError(`invalid config:\n  ${problems.join('\n  ')}`, problems[0].split(':')[0]);
  if (stripped.seed === CONFIG_DEFAULTS.seed) delete stripped.seed;
  if (stripped.training.evalEvery === CONFIG_DEFAULTS.training.evalEvery) delete stripped.training.evalEvery;
  if (stripped.pruning.control === CONFIG_DEFAULTS.pruning.control) delete stripped.pruning.control;
  const canonical = stringify(stripped) as string;
  const hash = createHash('sha256').update(canonical).digest('hex');
  return { config: config as Config, slots, canonical, hash };
}

/**
 * The hash of what the dense level 0 depends on: everything but the pruning options. Runs that
 * differ only in pruning (and do not prune at initialisation) share their dense run.
 */
export function denseHash(resolved: ResolvedConfig): string {
  const { pruning: _pruning, ...rest } = JSON.parse(resolved.canonical) as Record<string, unknown>;
  return createHash('sha256').update(stringify(rest) as string).digest('hex');
}

/** The directory name of a run: `<name>-<first 12 hex digits of the hash>`. */
export function runDirName(resolved: ResolvedConfig): string {
  return `${resolved.config.name}-${resolved.hash.slice(0, 12)}`;
}
