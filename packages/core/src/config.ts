import { createHash } from 'node:crypto';
// Hint, Kind, OptionalKind and ReadonlyKind are imported so the schema's declared type can name them.
import { type Hint, type Kind, type OptionalKind, type ReadonlyKind, type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import stringify from 'safe-stable-stringify';
import type { Branch, Plugin } from './contracts.js';
import { SANITY_CHECKS, type SanityCheck } from './sanity-checks.js';
import { DURATION_PATTERN } from './duration.js';
import { UserError } from './errors.js';
import type { PluginRegistry } from './registry.js';
import type { PluginKind } from './tokens.js';

/** A duration: iterations (`2000`, `"2000it"`) or epochs (`"2ep"`). */
export const DurationSchema = Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000_000 }), Type.String({ pattern: DURATION_PATTERN, maxLength: 40 })], {
  description: 'Iterations as a number (at most 10⁹) or "<n>it", or epochs as "<n>ep": e.g. 2000, "2000it", "2ep".',
});

/** A core-owned option that sits beside a plugin's own options in a slot (e.g. the optimizer's `lr`). */
export interface SlotExtra {
  schema: TSchema;
  /** Filled in when absent (and dropped from the hash when equal). */
  default?: unknown;
  /** May be left out without a default; otherwise a field without a default is required. */
  optional?: boolean;
}

const isRequired = (e: SlotExtra) => e.default === undefined && !e.optional;

export interface SlotSpec {
  /** Where the slot sits in a config. */
  path: string[];
  kind: PluginKind;
  description: string;
  /** Core's options of the slot, declared once: the schema, defaults, hash and docs derive from them. */
  extras: Record<string, SlotExtra>;
}

/** Every plugin slot of a config: where it sits, which kind of plugin fills it, and core's options in it. */
export const SLOTS: SlotSpec[] = [
  {
    path: ['dataset'],
    kind: 'dataset',
    description: 'The data.',
    extras: { validation: { schema: Type.Integer({ minimum: 0, description: 'Training examples held out for validation (early-stop criterion).' }), default: 5000 } },
  },
  { path: ['model'], kind: 'model', description: 'The network.', extras: {} },
  {
    path: ['training', 'optimizer'],
    kind: 'optimizer',
    description: 'The optimizer and its base learning rate.',
    extras: { lr: { schema: Type.Number({ exclusiveMinimum: 0, description: 'Base learning rate (before schedule and warmup).' }) } },
  },
  { path: ['training', 'lrSchedule'], kind: 'lrSchedule', description: 'Learning-rate schedule: lr(iteration) from the base rate.', extras: {} },
  { path: ['training', 'warmup'], kind: 'warmup', description: 'Learning-rate warmup: a factor in [0, 1] multiplying the schedule.', extras: {} },
  { path: ['pruning', 'schedule'], kind: 'schedule', description: 'How many levels, and the rate pruned before each.', extras: {} },
  { path: ['pruning', 'scorer'], kind: 'scorer', description: 'Which weights matter: scores per weight (higher = kept).', extras: {} },
  { path: ['pruning', 'masker'], kind: 'masker', description: 'How scores become masks: global or layer-wise top-k, with per-layer overrides.', extras: {} },
  { path: ['pruning', 'rewind'], kind: 'rewinder', description: 'What each pruned level starts from (θk, a re-initialisation, ...).', extras: {} },
];

/** The entries of `branches`: a branch plugin, its options, and core's `levels`. */
export const BRANCH_SLOT: Omit<SlotSpec, 'path'> = {
  kind: 'branch',
  description: 'An experiment on completed levels: a control, a landscape, an export, ...',
  extras: {
    levels: {
      optional: true,
      schema: Type.Array(Type.Integer({ minimum: 0 }), {
        minItems: 1,
        description: 'The levels to run the branch on (default: every pruned level, or every level for branches that ask so).',
      }),
    },
  },
};

/** A plugin slot in core's schema: `use` names the plugin; its options sit beside it (checked later). */
const slotSchemaOf = (spec: Omit<SlotSpec, 'path'>) =>
  Type.Object(
    {
      use: Type.String({ minLength: 1, description: `The ${spec.kind} plugin to use (\`lth plugins\` lists them).` }),
      ...Object.fromEntries(Object.entries(spec.extras).map(([k, e]) => [k, isRequired(e) ? e.schema : Type.Optional(e.schema)])),
    },
    { description: spec.description, additionalProperties: true },
  );
const slotAt = (...path: string[]) => slotSchemaOf(SLOTS.find((s) => s.path.join('.') === path.join('.'))!);

/** Core's part of the config schema. Each slot's options are checked against its plugin's schema. */
export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'JSON Schema for editor completion (ignored).' })),
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 100, description: 'Run name; the run directory is <name>-<hash12>.' }),
    seed: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Master seed: initialisation, data order and pruning randomness derive from it.' }),
    replicates: Type.Integer({ minimum: 1, maximum: 1000, description: 'Independent repetitions with derived seeds (replicate r uses its own θ0 and data order); at most 1000.' }),
    dataset: slotAt('dataset'),
    model: slotAt('model'),
    training: Type.Object(
      {
        optimizer: slotAt('training', 'optimizer'),
        lrSchedule: slotAt('training', 'lrSchedule'),
        warmup: slotAt('training', 'warmup'),
        batchSize: Type.Integer({ minimum: 1, maximum: 65536, description: 'Examples per iteration (at most 65,536, and at most the training split).' }),
        iterations: { ...DurationSchema, description: 'Training length of every level (iterations or epochs).' },
        evalEvery: {
          ...Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000_000 }), Type.String({ pattern: DURATION_PATTERN, maxLength: 40 })]),
          description: 'Evaluate on validation and test data every this many iterations (and at the end); at least 1: e.g. 500, "500it", "1ep".',
        },
      },
      { additionalProperties: false, description: 'How each level trains.' },
    ),
    pruning: Type.Object(
      {
        schedule: slotAt('pruning', 'schedule'),
        scorer: slotAt('pruning', 'scorer'),
        masker: slotAt('pruning', 'masker'),
        rewind: slotAt('pruning', 'rewind'),
        sanityCheck: Type.Unsafe<SanityCheck>({
          type: 'string',
          enum: [...SANITY_CHECKS],
          description:
            'Sanity check applied to every pruning step (Frankle et al. 2021): "none"; "invert" keeps the lowest-scored weights; ' +
            '"random-within-layer" keeps each layer\'s pruned count but prunes random positions among its remaining weights.',
        }),
      },
      { additionalProperties: false, description: 'The lottery-ticket procedure.' },
    ),
    branches: Type.Optional(
      Type.Array(slotSchemaOf(BRANCH_SLOT), {
        description: 'Branches run on completed levels (`lth plugins` lists them); outputs go to level-<L>/branch-<name>-<hash12>/. Not part of the run hash.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

/**
 * What a user may leave out: core's defaults, filled in before validation (with the slots'
 * `extras` defaults). The scorer, masker and rewinder default to plugins of other packages: the
 * distribution names them (`PluginRegistry.defaultChoices`), core names no plugin but its own.
 */
export const CONFIG_DEFAULTS = {
  seed: 0,
  replicates: 1,
  training: {
    lrSchedule: { use: 'constant' },
    warmup: { use: 'none' },
    evalEvery: 500,
  },
  pruning: {
    schedule: { use: 'iterative' },
    sanityCheck: 'none',
  },
} as const;

/** Fields that never change results: left out of the hash. */
const NOT_HASHED = ['$schema', 'name', 'replicates', 'branches'];

/** Every default: core's, the slots' extras', and the distribution's plugin choices for slots. */
export function configDefaults(registry?: PluginRegistry): Record<string, unknown> {
  const out = structuredClone(CONFIG_DEFAULTS) as unknown as Record<string, any>;
  for (const spec of SLOTS) {
    const parent = spec.path.slice(0, -1).reduce((o, k) => (o[k] ??= {}), out);
    const key = spec.path[spec.path.length - 1];
    const choice = registry?.defaultChoices[spec.path.join('.')];
    const extras = Object.fromEntries(Object.entries(spec.extras).filter(([, e]) => e.default !== undefined).map(([k, e]) => [k, e.default]));
    if (choice || Object.keys(extras).length || parent[key]) parent[key] = { ...(choice ? { use: choice } : {}), ...extras, ...(parent[key] ?? {}) };
  }
  return out;
}

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
  // A union (a duration: a number or a string) reports a failure per branch; where a branch got
  // further than "wrong type", its message is the useful one.
  const typed = new Set(errors.filter((e) => e.keyword !== 'type' && e.keyword !== 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword === 'type' && typed.has(e.instancePath) && errors.some((o) => o.keyword === 'anyOf' && o.instancePath === e.instancePath)) continue;
    if (e.keyword === 'pattern' && (e.params as { pattern: string }).pattern === DURATION_PATTERN) {
      lines.push(`${prefix + e.instancePath}: ${JSON.stringify(e.data)} is not a duration; write iterations (2000 or "2000it") or epochs ("2ep")`);
      continue;
    }
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
    // A union of literals (Type.Union([Type.Literal(...), ...])) fails once per literal: one line listing them all.
    if (e.keyword === 'const') {
      const allowed = errors.filter((o) => o.keyword === 'const' && o.instancePath === e.instancePath).map((o) => JSON.stringify((o.params as { allowedValue: unknown }).allowedValue));
      lines.push(`${path}: must be equal to one of the allowed values: ${allowed.join(', ')}`);
      continue;
    }
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

/** The full schema of one slot's value for `plugin`: `use`, the plugin's options and core's extras. */
export function slotOptionsSchema(plugin: Plugin, spec: Omit<SlotSpec, 'path'>): TObject {
  const base = plugin.optionsSchema as TObject;
  const extras = Object.fromEntries(Object.entries(spec.extras).map(([k, e]) => [k, e.schema]));
  const requiredExtras = Object.entries(spec.extras).filter(([, e]) => isRequired(e)).map(([k]) => k);
  return {
    ...base,
    type: 'object',
    properties: { use: { type: 'string' }, ...(base.properties ?? {}), ...extras },
    required: [...new Set(['use', ...(base.required ?? []), ...requiredExtras])],
    additionalProperties: false,
  } as unknown as TObject;
}

const pluginValidators = new WeakMap<Plugin, ReturnType<typeof ajv.compile>>();

/**
 * Options for a plugin used outside a config (an exporter's, from `lth export` flags): its
 * defaults filled in and the result checked against its schema; a UserError names the plugin and
 * lists every problem.
 */
export function resolvePluginOptions<O>(kind: PluginKind, plugin: Plugin<O>, given: Record<string, unknown>, field?: string): O {
  const options = { ...structuredClone(plugin.defaults), ...given };
  let validate = pluginValidators.get(plugin as Plugin);
  if (!validate) {
    validate = ajv.compile(plugin.optionsSchema);
    pluginValidators.set(plugin as Plugin, validate);
  }
  if (!validate(options)) throw new UserError(`${kind} "${plugin.meta.name}": ${formatAjvErrors(validate.errors ?? []).join('; ')}`, field);
  return options as O;
}

export interface ResolvedSlot {
  plugin: Plugin;
  options: Record<string, unknown>;
}

/** One entry of `branches`, resolved: the plugin, its options, the levels asked for and its hash. */
export interface ResolvedBranch {
  plugin: Branch;
  /** The plugin's options (defaults filled in), without `use` and `levels`. */
  options: Record<string, unknown>;
  levels?: number[];
  /** Hash of the plugin's name and its options without defaults: names `branch-<name>-<hash12>`. */
  hash: string;
}

export interface ResolvedConfig {
  config: Config;
  /** The plugin behind each slot, by slot path (`training.optimizer`). */
  slots: Record<string, ResolvedSlot>;
  branches: ResolvedBranch[];
  /** Canonical form without defaults: what the hash covers. */
  canonical: string;
  hash: string;
}

function getAt(obj: Record<string, unknown>, path: string[]): unknown {
  return path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), obj);
}

/**
 * A slot's value resolved against its plugin: defaults filled in, validated, and reduced to what
 * the hash covers (the plugin's own name, options that differ from their defaults).
 */
function resolveSlot(
  value: Record<string, unknown>,
  spec: Omit<SlotSpec, 'path'>,
  path: string[],
  registry: PluginRegistry,
  problems: string[],
): { slot: ResolvedSlot; reduced: Record<string, unknown> } | undefined {
  let plugin: Plugin;
  let implied: Record<string, unknown>;
  try {
    ({ plugin, implied } = registry.lookup(spec.kind, value.use as string, at([...path, 'use'])));
  } catch (error) {
    problems.push((error as Error).message);
    return undefined;
  }
  const extrasDefaults = Object.fromEntries(Object.entries(spec.extras).filter(([, e]) => e.default !== undefined).map(([k, e]) => [k, e.default]));
  const options = { ...structuredClone(plugin.defaults), ...implied, ...value };
  let validate = slotValidators.get(plugin);
  if (!validate) {
    validate = ajv.compile(slotOptionsSchema(plugin, spec));
    slotValidators.set(plugin, validate);
  }
  if (!validate(options)) {
    problems.push(...formatAjvErrors(validate.errors ?? [], at(path)).map((l) => `${l} (${spec.kind} "${plugin.meta.name}")`));
    return undefined;
  }
  // The plugin's own name, so `lenet-300-100` and `lenet` with hidden [300, 100] hash alike; the
  // hash drops options equal to their defaults, so adding an option never renames old runs.
  // `<package>:<name>` (picking one of two packages' plugins) stays in the hash: they differ.
  const reduced: Record<string, unknown> = { use: String(value.use).includes(':') ? `${plugin.meta.package}:${plugin.meta.name}` : plugin.meta.name };
  for (const [k, v] of Object.entries(options)) {
    if (k === 'use') continue;
    const d = k in spec.extras ? extrasDefaults[k] : (plugin.defaults as Record<string, unknown>)[k];
    if (d !== undefined && stringify(d) === stringify(v)) continue;
    reduced[k] = v;
  }
  return { slot: { plugin, options }, reduced };
}

/**
 * Fills defaults, validates core's schema and each slot against its plugin's schema, and
 * computes the run hash. Every problem is reported at once, each line naming its JSON path.
 */
export function resolveConfig(raw: unknown, registry: PluginRegistry): ResolvedConfig {
  if (!isObject(raw)) throw new UserError('the config must be a JSON object', '/');
  if (isObject(raw.pruning) && 'control' in raw.pruning) {
    throw new UserError('/pruning/control: renamed to /pruning/sanityCheck ("invert", or "random-within-layer" for the former "shuffle")', '/pruning/control');
  }
  const config = mergeDefaults(configDefaults(registry), raw) as Record<string, unknown>;
  if (!validateCore(config)) {
    throw new UserError(`invalid config:\n  ${formatAjvErrors(validateCore.errors ?? []).join('\n  ')}`, validateCore.errors?.[0]?.instancePath);
  }
  const problems: string[] = [];
  const slots: Record<string, ResolvedSlot> = {};
  const stripped = structuredClone(config) as Record<string, any>;
  for (const key of NOT_HASHED) delete stripped[key];
  for (const spec of SLOTS) {
    const { path } = spec;
    const resolved = resolveSlot(getAt(config, path) as Record<string, unknown>, spec, path, registry, problems);
    if (!resolved) continue;
    // Write the filled-in options back so config.json shows what ran.
    (getAt(config, path.slice(0, -1)) as Record<string, unknown>)[path[path.length - 1]] = resolved.slot.options;
    slots[path.join('.')] = resolved.slot;
    (getAt(stripped, path.slice(0, -1)) as Record<string, unknown>)[path[path.length - 1]] = resolved.reduced;
  }
  const branches: ResolvedBranch[] = [];
  ((config.branches ?? []) as Record<string, unknown>[]).forEach((value, i) => {
    const resolved = resolveSlot(value, BRANCH_SLOT, ['branches', String(i)], registry, problems);
    if (!resolved) return;
    const { use: _use, levels, ...options } = resolved.slot.options;
    const { levels: _levels, ...identity } = resolved.reduced;
    const hash = createHash('sha256').update(stringify(identity) as string).digest('hex');
    branches.push({ plugin: resolved.slot.plugin as Branch, options, levels: levels as number[] | undefined, hash });
    (config.branches as unknown[])[i] = resolved.slot.options;
  });
  if (problems.length) throw new UserError(`invalid config:\n  ${problems.join('\n  ')}`, problems[0].split(':')[0]);
  // Core's own defaults are dropped from the hash as the plugins' are.
  if (stripped.seed === CONFIG_DEFAULTS.seed) delete stripped.seed;
  if (stripped.training.evalEvery === CONFIG_DEFAULTS.training.evalEvery) delete stripped.training.evalEvery;
  if (stripped.pruning.sanityCheck === CONFIG_DEFAULTS.pruning.sanityCheck) delete stripped.pruning.sanityCheck;
  const canonical = stringify(stripped) as string;
  const hash = createHash('sha256').update(canonical).digest('hex');
  return { config: config as Config, slots, branches, canonical, hash };
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
