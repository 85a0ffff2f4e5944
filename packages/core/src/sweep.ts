import { createHash } from 'node:crypto';
import { join } from 'node:path';
import stringify from 'safe-stable-stringify';
import type { Dataset, DatasetProvider, Reporter } from './contracts.js';
import { type ResolvedConfig, resolveConfig, runDirName } from './config.js';
import { UserError } from './errors.js';
import { writeJsonAtomic } from './io.js';
import type { PluginRegistry } from './registry.js';
import { CONTROL_KINDS, type ControlKind, type RunResult, runExperiment } from './run.js';

/**
 * A sweep (ablation study): a base run config plus
 * - `vary`: `{ "<json.path>": [values...] }`, expanded as a grid (every combination);
 * - `variants`: an explicit list of `{ "label"?: string, "set": { "<json.path>": value } }`
 *   (combined with every grid point when both are given);
 * - `controls`: `["reinit", "random-prune", "shuffle"]`, run for every variant at each of its
 *   levels' sparsities.
 * Paths are dotted (`pruning.masker.use`) or JSON pointers (`/pruning/masker/use`).
 */
export interface SweepConfig {
  name: string;
  vary?: Record<string, unknown[]>;
  variants?: { label?: string; set: Record<string, unknown> }[];
  controls?: string[];
  [key: string]: unknown;
}

export interface SweepRun {
  id: string;
  label: string;
  variant: Record<string, unknown>;
  control: ControlKind | null;
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
export function expandSweep(raw: unknown, registry: PluginRegistry): { variants: ExpandedVariant[]; controls: ControlKind[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError('the sweep must be a JSON object', '/');
  const sweep = raw as SweepConfig;
  const base = Object.fromEntries(Object.entries(sweep).filter(([k]) => !SWEEP_KEYS.includes(k)));
  const vary = sweep.vary ?? {};
  if (typeof vary !== 'object' || Array.isArray(vary)) throw new UserError('/vary: must be an object of "<json.path>": [values]', '/vary');
  for (const [path, values] of Object.entries(vary)) {
    pathOf(path);
    if (!Array.isArray(values) || values.length === 0) throw new UserError(`/vary/${path}: must be a non-empty array of values`, `/vary/${path}`);
  }
  const controls = (sweep.controls ?? []) as string[];
  if (!Array.isArray(controls)) throw new UserError('/controls: must be an array', '/controls');
  controls.forEach((c, i) => {
    if (!(CONTROL_KINDS as readonly string[]).includes(c)) {
      throw new UserError(`/controls/${i}: unknown control "${c}". Known controls: ${CONTROL_KINDS.join(', ')}.`, `/controls/${i}`);
    }
  });

  // Grid product of `vary`, then each grid point with each explicit variant.
  let grid: { labels: string[]; set: Record<string, unknown> }[] = [{ labels: [], set: {} }];
  for (const [path, values] of Object.entries(vary)) {
    grid = grid.flatMap((g) => values.map((v) => ({ labels: [...g.labels, `${shortPath(path)}=${show(v)}`], set: { ...g.set, [path]: v } })));
  }
  const explicit = sweep.variants ?? [{ set: {} }];
  if (!Array.isArray(explicit)) throw new UserError('/variants: must be an array of { label?, set }', '/variants');
  const variants: ExpandedVariant[] = [];
  for (const g of grid) {
    explicit.forEach((e, i) => {
      if (typeof e?.set !== 'object' || e.set === null) throw new UserError(`/variants/${i}/set: must be an object of "<json.path>": value`, `/variants/${i}/set`);
      const set = { ...g.set, ...e.set };
      const labels = [...g.labels, ...(e.label ? [e.label] : Object.entries(e.set).map(([p, v]) => `${shortPath(p)}=${show(v)}`))];
      const label = labels.join(', ') || 'base';
      const config = structuredClone(base) as Record<string, unknown>;
      for (const [path, value] of Object.entries(set)) setAt(config, pathOf(path), value);
      try {
        variants.push({ label, set, resolved: resolveConfig(config, registry) });
      } catch (error) {
        if (error instanceof UserError) throw new UserError(`variant "${label}": ${error.message}`, error.field);
        throw error;
      }
    });
  }
  const seen = new Map<string, string>();
  for (const v of variants) {
    const other = seen.get(v.resolved.hash);
    if (other) throw new UserError(`variants "${other}" and "${v.label}" are the same run (identical resolved configs)`, '/vary');
    seen.set(v.resolved.hash, v.label);
  }
  return { variants, controls: controls as ControlKind[] };
}

export function sweepHash(variants: ExpandedVariant[], controls: ControlKind[]): string {
  return createHash('sha256')
    .update(stringify({ runs: variants.map((v) => v.resolved.hash).sort(), controls: [...controls].sort() }) as string)
    .digest('hex');
}

export interface SweepOptions {
  outDir: string;
  baseDir?: string;
  reporter?: Reporter;
  /** Stop after this many levels have been trained in this invocation (tests of resume). */
  stopAfterLevels?: number;
}

export interface SweepResult {
  sweepDir: string;
  manifest: SweepManifest;
  results: RunResult[];
  complete: boolean;
}

/**
 * Runs every variant (sharing dense runs between variants that differ only in pruning), then
 * every control of every variant. Complete levels on disk are skipped, so a killed sweep resumes.
 */
export async function runSweep(raw: unknown, registry: PluginRegistry, options: SweepOptions): Promise<SweepResult> {
  const { variants, controls } = expandSweep(raw, registry);
  const name = (raw as SweepConfig).name;
  const hash = sweepHash(variants, controls);
  const sweepDir = join(options.outDir, `${name}-${hash.slice(0, 12)}`);
  const runs: SweepRun[] = [];
  for (const v of variants) {
    runs.push({ id: v.resolved.hash.slice(0, 12), label: v.label, variant: v.set, control: null, dir: join('runs', runDirName(v.resolved)) });
    for (const c of controls) {
      runs.push({ id: `${v.resolved.hash.slice(0, 12)}-${c}`, label: v.label, variant: v.set, control: c, dir: join('runs', `${runDirName(v.resolved)}-${c}`) });
    }
  }
  const manifest: SweepManifest = { name, hash, runs };
  writeJsonAtomic(join(sweepDir, 'sweep.json'), manifest);

  // One load per distinct dataset config (variants rarely vary the data).
  const datasets = new Map<string, Promise<Dataset>>();
  const datasetFor = (resolved: ResolvedConfig) => {
    const key = stringify(resolved.config.dataset) as string;
    let d = datasets.get(key);
    if (!d) {
      const slot = resolved.slots.dataset;
      d = (slot.plugin as DatasetProvider).load(slot.options as never, {
        seed: resolved.config.seed,
        resolvePath: (p) => join(options.baseDir ?? process.cwd(), p),
      });
      datasets.set(key, d);
    }
    return d;
  };

  const results: RunResult[] = [];
  let remaining = options.stopAfterLevels;
  let complete = true;
  const order = [...runs.filter((r) => !r.control), ...runs.filter((r) => r.control)];
  for (const [index, run] of order.entries()) {
    const variant = variants.find((v) => v.label === run.label)!;
    options.reporter?.onEvent({ type: 'sweep-run', index, total: order.length, label: run.control ? `${run.label} / ${run.control}` : run.label });
    let trained = 0;
    const counting: Reporter = {
      onEvent(e) {
        if (e.type === 'level-end') trained++;
        options.reporter?.onEvent(e);
      },
    };
    const result = await runExperiment(variant.resolved, {
      outDir: join(sweepDir, 'runs'),
      baseDir: options.baseDir,
      reporter: counting,
      dataset: await datasetFor(variant.resolved),
      denseCache: join(sweepDir, 'dense'),
      control: run.control ? { kind: run.control, source: join(sweepDir, 'runs', runDirName(variant.resolved)) } : undefined,
      stopAfterLevels: remaining,
    });
    results.push(result);
    if (remaining !== undefined) remaining -= trained;
    if (!result.complete) {
      complete = false;
      break;
    }
  }
  return { sweepDir, manifest, results, complete };
}
