import { createHash } from 'node:crypto';
import { join } from 'node:path';
import stringify from 'safe-stable-stringify';
import type { Dataset, Reporter } from './contracts.js';
import { loadDataset, type RunOptions } from './run/context.js';
import { preflight } from './run/preflight.js';
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { denseHash, formatAjvErrors, type ResolvedConfig, resolveConfig, runDirName } from './config.js';
import { DivergedError, UserError } from './errors.js';
import { ensureWritableDir, removeStaleTemps, writeJsonAtomic } from './store/io.js';
import { processAlive, RunLock } from './store/lock.js';
import type { PluginRegistry } from './registry.js';
import { type RunResult, runExperiment } from './run/loop.js';

/**
 * A sweep (ablation study): a base run config plus
 * - `vary`: `{ "<json.path>": [values...] }`, expanded as a grid (every combination);
 * - `variants`: an explicit list of `{ "label"?: string, "set": { "<json.path>": value } }`
 *   (combined with every grid point when both are given);
 * - `controls`: `["reinit", "random-prune", "shuffle"]`: shorthand for those branches in every
 *   variant's `branches` (run at each of its pruned levels).
 * Paths are dotted (`pruning.masker.use`) or JSON pointers (`/pruning/masker/use`).
 */
export interface SweepConfig {
  name: string;
  vary?: Record<string, unknown[]>;
  variants?: { label?: string; set: Record<string, unknown> }[];
  controls?: string[];
  [key: string]: unknown;
}

/** The sweep file's own fields (the rest is the base run config, validated per variant). */
export const SweepSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 100, description: 'Sweep name; the sweep directory is <name>-<hash12>.' }),
    vary: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.Unknown(), { minItems: 1 }), {
        description: 'A grid: "<json.path>": [values...]; every combination is a variant.',
      }),
    ),
    variants: Type.Optional(
      Type.Array(
        Type.Object(
          {
            label: Type.Optional(Type.String({ minLength: 1, description: 'The variant\'s name in the report (default: its settings).' })),
            set: Type.Record(Type.String({ minLength: 1 }), Type.Unknown(), { description: '"<json.path>": value pairs applied to the base config.' }),
          },
          { additionalProperties: false },
        ),
        { description: 'Explicit variants (combined with every grid point when both are given).' },
      ),
    ),
    controls: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Branches added to every variant (shorthand for "branches": [{ "use": ... }]), e.g. reinit, random-prune, shuffle.',
      }),
    ),
  },
  { additionalProperties: true },
);

const validateSweep = new Ajv({ allErrors: true, strict: false }).compile(SweepSchema);

export interface SweepRun {
  id: string;
  label: string;
  variant: Record<string, unknown>;
  /** Set in sweeps written before controls became branches (a control's own run directory). */
  control?: string | null;
  /** Why this variant stopped (training diverged); the others go on. */
  failed?: string;
  /** The run directory, relative to the sweep directory. */
  dir: string;
}

/** The sweep directory's manifest (`sweep.json`): what the report reads. */
export interface SweepManifest {
  name: string;
  hash: string;
  runs: SweepRun[];
}

export interface ExpandedVariant {
  label: string;
  set: Record<string, unknown>;
  /** The variant's run config as written (before defaults): what a worker process resolves again. */
  raw: Record<string, unknown>;
  resolved: ResolvedConfig;
}

const SWEEP_KEYS = ['vary', 'variants', 'controls'];

function pathOf(path: string): string[] {
  const parts = path.startsWith('/') ? path.slice(1).split('/') : path.split('.');
  if (parts.some((p) => p === '')) throw new UserError(`sweep: "${path}" is not a config path (write pruning.masker.use or /pruning/masker/use)`, '/vary');
  return parts;
}

function setAt(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof o[key] !== 'object' || o[key] === null) o[key] = {};
    o = o[key] as Record<string, unknown>;
  }
  o[path[path.length - 1]] = structuredClone(value);
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** `pruning.masker.use` → `masker.use`: the last two segments name a field well enough. */
const shortPath = (path: string) => pathOf(path).slice(-2).join('.');

/**
 * Expands a sweep into run configs and validates every one before anything trains. An invalid
 * variant fails the whole sweep, naming the variant and the field.
 */
export function expandSweep(raw: unknown, registry: PluginRegistry): { variants: ExpandedVariant[]; controls: string[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError('the sweep must be a JSON object', '/');
  if (!validateSweep(raw)) throw new UserError(`invalid sweep:\n  ${formatAjvErrors(validateSweep.errors ?? []).join('\n  ')}`, validateSweep.errors?.[0]?.instancePath);
  const sweep = raw as SweepConfig;
  const base = Object.fromEntries(Object.entries(sweep).filter(([k]) => !SWEEP_KEYS.includes(k)));
  const vary = sweep.vary ?? {};
  for (const path of Object.keys(vary)) pathOf(path);
  const controls = sweep.controls ?? [];
  controls.forEach((c, i) => {
    if (!registry.has('branch', c)) {
      throw new UserError(`/controls/${i}: unknown branch "${c}". Known branches: ${registry.names('branch').join(', ') || '(none installed)'}.`, `/controls/${i}`);
    }
  });
  if (controls.length) base.branches = [...((base.branches as unknown[]) ?? []), ...controls.map((use) => ({ use }))];

  // Grid product of `vary`, then each grid point with each explicit variant.
  let grid: { labels: string[]; set: Record<string, unknown> }[] = [{ labels: [], set: {} }];
  for (const [path, values] of Object.entries(vary)) {
    grid = grid.flatMap((g) => values.map((v) => ({ labels: [...g.labels, `${shortPath(path)}=${show(v)}`], set: { ...g.set, [path]: v } })));
  }
  const explicit = sweep.variants ?? [{ set: {} }];
  const variants: ExpandedVariant[] = [];
  for (const g of grid) {
    explicit.forEach((e, i) => {
      const set = { ...g.set, ...e.set };
      const labels = [...g.labels, ...(e.label ? [e.label] : Object.entries(e.set).map(([p, v]) => `${shortPath(p)}=${show(v)}`))];
      const label = labels.join(', ') || 'base';
      const config = structuredClone(base) as Record<string, unknown>;
      for (const [path, value] of Object.entries(set)) setAt(config, pathOf(path), value);
      try {
        variants.push({ label, set, raw: structuredClone(config), resolved: resolveConfig(config, registry) });
      } catch (error) {
        if (error instanceof UserError) throw new UserError(`variant "${label}": ${error.message}`, error.field);
        throw error;
      }
    });
  }
  const labels = new Set<string>();
  for (const v of variants) {
    if (labels.has(v.label)) throw new UserError(`two variants are labelled "${v.label}": give each a distinct label`, '/variants');
    labels.add(v.label);
  }
  const seen = new Map<string, string>();
  for (const v of variants) {
    const other = seen.get(v.resolved.hash);
    if (other) throw new UserError(`variants "${other}" and "${v.label}" are the same run (identical resolved configs)`, '/vary');
    seen.set(v.resolved.hash, v.label);
  }
  return { variants, controls };
}

export function sweepHash(variants: ExpandedVariant[], controls: string[]): string {
  return createHash('sha256')
    .update(stringify({ runs: variants.map((v) => v.resolved.hash).sort(), controls: [...controls].sort() }) as string)
    .digest('hex');
}

/** Calls `f` on every item, at most `size` at a time. */
async function pool<T>(items: T[], size: number, f: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await f(item);
  };
  await Promise.all(Array.from({ length: Math.min(size, queue.length) }, worker));
}

/** Loads each distinct dataset config once (variants rarely vary the data). */
export function datasetCache(baseDir?: string): (resolved: ResolvedConfig) => Promise<Dataset> {
  const datasets = new Map<string, Promise<Dataset>>();
  return (resolved) => {
    const key = stringify(resolved.config.dataset) as string;
    if (!datasets.has(key)) datasets.set(key, loadDataset(resolved, baseDir));
    return datasets.get(key)!;
  };
}

/** Every variant's mistakes that can be known before training (`preflight`), each named by its variant. */
export async function preflightVariants(variants: ExpandedVariant[], datasetFor: (resolved: ResolvedConfig) => Promise<Dataset>): Promise<void> {
  for (const v of variants) {
    try {
      preflight(v.resolved, await datasetFor(v.resolved));
    } catch (error) {
      if (error instanceof UserError) throw new UserError(`variant "${v.label}": ${error.message}`, error.field);
      throw error;
    }
  }
}

/** Runs one variant's run (where: this process, or a worker the caller starts). */
export type RunVariant = (variant: ExpandedVariant, options: RunOptions) => Promise<RunResult>;

export interface SweepOptions {
  outDir: string;
  baseDir?: string;
  reporter?: Reporter;
  /** Stop after this many levels have been trained in this invocation (tests of resume; one job only). */
  stopAfterLevels?: number;
  /**
   * How many variants run at once (default 1). With more than one, `runVariant` must run them
   * elsewhere (worker processes: training blocks its process); the results are the same.
   */
  jobs?: number;
  runVariant?: RunVariant;
  /** Stops the variant training in this process at its next progress update (RunOptions.signal); worker processes get their own signals. */
  signal?: AbortSignal;
}

export interface SweepResult {
  sweepDir: string;
  manifest: SweepManifest;
  results: RunResult[];
  complete: boolean;
}

/** A sweep laid out: its directory, manifest and variants (nothing written, nothing trained). */
export interface SweepPlan {
  sweepDir: string;
  manifest: SweepManifest;
  variants: ExpandedVariant[];
  controls: string[];
}

/** Expands and validates a sweep and names its directory under `outDir` (`<name>-<hash12>`). */
export function planSweep(raw: unknown, registry: PluginRegistry, outDir: string): SweepPlan {
  const { variants, controls } = expandSweep(raw, registry);
  const name = (raw as SweepConfig).name;
  const hash = sweepHash(variants, controls);
  const sweepDir = join(outDir, `${name}-${hash.slice(0, 12)}`);
  const runs: SweepRun[] = variants.map((v) => ({ id: v.resolved.hash.slice(0, 12), label: v.label, variant: v.set, dir: join('runs', runDirName(v.resolved)) }));
  return { sweepDir, manifest: { name, hash, runs }, variants, controls };
}

/** The variant a manifest's run was expanded from (keyed by id: what the manifest names). */
export function variantOf(plan: Pick<SweepPlan, 'variants'>, run: SweepRun): ExpandedVariant {
  return plan.variants.find((v) => v.resolved.hash.startsWith(run.id))!;
}

/**
 * For each run of a sweep, the index of the run that trains its dense level 0 (itself, for the
 * first run of each shared dense run): the others copy it once it is published, so run them after.
 */
export function denseTrainers(plan: Pick<SweepPlan, 'variants' | 'manifest'>): number[] {
  const first = new Map<string, number>();
  return plan.manifest.runs.map((run, i) => {
    const key = denseHash(variantOf(plan, run).resolved);
    if (!first.has(key)) first.set(key, i);
    return first.get(key)!;
  });
}

/** Creates the sweep directory (removing temporary files of dead processes) and writes its manifest. */
export function writeSweep(plan: SweepPlan): void {
  ensureWritableDir(plan.sweepDir);
  removeStaleTemps(plan.sweepDir, processAlive);
  writeJsonAtomic(join(plan.sweepDir, 'sweep.json'), plan.manifest);
}

/**
 * Runs every variant (sharing dense runs between variants that differ only in pruning), then
 * every control of every variant. Complete levels on disk are skipped, so a killed sweep resumes.
 */
export async function runSweep(raw: unknown, registry: PluginRegistry, options: SweepOptions): Promise<SweepResult> {
  const plan = planSweep(raw, registry, options.outDir);
  // One process per sweep directory (its shared dense runs are written outside any run's lock).
  const lock = new RunLock(plan.sweepDir);
  ensureWritableDir(plan.sweepDir);
  lock.lock();
  try {
    writeSweep(plan);
    return await runVariants(plan.variants, plan.manifest, plan.sweepDir, options);
  } finally {
    lock.unlock();
  }
}

async function runVariants(variants: ExpandedVariant[], manifest: SweepManifest, sweepDir: string, options: SweepOptions): Promise<SweepResult> {
  const { runs } = manifest;

  const datasetFor = datasetCache(options.baseDir);
  await preflightVariants(variants, datasetFor);

  const results: RunResult[] = [];
  let remaining = options.stopAfterLevels;
  let complete = true;
  const runOne = async (index: number) => {
    const run = runs[index]!;
    const variant = variantOf({ variants }, run);
    options.reporter?.onEvent({ type: 'sweep-run', index, total: runs.length, label: run.label });
    let computed = 0;
    const counting: Reporter = {
      onEvent(e) {
        if (e.type === 'level-end' || e.type === 'branch-end') computed++;
        options.reporter?.onEvent(e);
      },
    };
    const runOptions: RunOptions = {
      outDir: join(sweepDir, 'runs'),
      baseDir: options.baseDir,
      reporter: counting,
      denseCache: join(sweepDir, 'dense'),
      stopAfterLevels: remaining,
    };
    let result: RunResult;
    try {
      result = options.runVariant
        ? await options.runVariant(variant, runOptions)
        : await runExperiment(variant.resolved, { ...runOptions, dataset: await datasetFor(variant.resolved), signal: options.signal });
      delete run.failed;
    } catch (error) {
      if (!(error instanceof DivergedError)) throw error;
      // A diverged variant is a result too: marked in the manifest (and the report); the others go on.
      run.failed = error.message;
      options.reporter?.onEvent({ type: 'warning', message: `variant "${run.label}": ${error.message}` });
      return;
    } finally {
      writeJsonAtomic(join(sweepDir, 'sweep.json'), manifest);
    }
    results.push(result);
    if (remaining !== undefined) remaining -= computed;
    if (!result.complete) complete = false;
  };
  const jobs = Math.max(1, Math.floor(options.jobs ?? 1));
  if (jobs === 1) {
    for (const index of runs.keys()) {
      await runOne(index);
      if (!complete) break;
    }
  } else {
    // The first variant of each shared dense run trains it; the others start once it is
    // published (they copy it), so every dense level is still trained once.
    const trainers = denseTrainers({ variants, manifest });
    const firsts = [...runs.keys()].filter((i) => trainers[i] === i);
    await pool(firsts, jobs, runOne);
    await pool([...runs.keys()].filter((i) => trainers[i] !== i), jobs, runOne);
  }
  results.sort((a, b) => runs.findIndex((r) => a.runDir.endsWith(r.dir)) - runs.findIndex((r) => b.runDir.endsWith(r.dir)));
  return { sweepDir, manifest, results, complete };
}
