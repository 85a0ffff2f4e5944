import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type {
  Dataset,
  DatasetProvider,
  LrSchedule,
  Masker,
  ModelFactory,
  ModelSpec,
  Optimizer,
  PruningPlan,
  PruningSchedule,
  Reporter,
  Rewinder,
  RunEvent,
  Scorer,
  Warmup,
} from '../contracts.js';
import { stateNames } from '../contracts.js';
import { type ResolvedBranch, type ResolvedConfig, runDirName } from '../config.js';
import { EvalSet } from '../data.js';
import type { BranchTrainer } from './branch-jobs.js';
import { parseDuration } from '../duration.js';
import { UserError } from '../errors.js';
import { preflight } from './preflight.js';
import { RunStore } from '../store/run-store.js';
import { checkProvenance, type Provenance, provenance } from '../store/provenance.js';
import { ensureWritableDir, removeStaleTemps } from '../store/io.js';
import { processAlive, RunLock } from '../store/lock.js';

export interface RunOptions {
  /** Parent of run directories (`./runs` by default in the CLI). */
  outDir: string;
  /** Resolves relative paths in the config (the config file's directory). */
  baseDir?: string;
  reporter?: Reporter;
  /** Loaded dataset to reuse (tests, sweeps); loaded from the config when absent. */
  dataset?: Dataset;
  /** Stop after this many levels (and branches) have been computed in this invocation (tests of resume). */
  stopAfterLevels?: number;
  /** Evaluation set sizes (all of validation and test by default; train: 10,000). */
  trainEvalExamples?: number;
  /**
   * A directory shared by runs that differ only in pruning options (a sweep's variants): the
   * dense level 0 of each replicate is trained once, stored there by the dense hash, and copied
   * into every run that needs it. A rewind point the shared run lacks is recomputed by replaying
   * the dense training up to that iteration, not by training to the end.
   */
  denseCache?: string;
  /** Branches to run instead of the config's own `branches` (`lth branch`). */
  branches?: ResolvedBranch[];
  /** False: train nothing, only run branches on complete levels (`lth branch`); stops at the first incomplete level. */
  trainLevels?: boolean;
  /** The run directory, when it is not `<outDir>/<name>-<hash12>` (a renamed or moved run). */
  runDir?: string;
  /** Discard level `redoFrom` and every later level (of every replicate), to recompute them. */
  redoFrom?: number;
  /**
   * Hold the run directory as a lease of this many milliseconds, renewed as the run reports
   * progress (distributed workers: a holder that dies on any host loses it when it expires).
   */
  leaseMs?: number;
  /**
   * Stops the run at the next progress update (every 25 iterations) once aborted, throwing
   * `signal.reason` after the usual cleanup (the run's lock released, tensors disposed). The level
   * in training has no summary yet, so rerunning the same command trains it again (Ctrl-C in the CLI).
   */
  signal?: AbortSignal;
  /**
   * Trains the independent trainings a branch asks for at once (`BranchContext.trainAll`, e.g.
   * instability's two copies) in other processes: the CLI's worker pool (`--jobs N`). Without it
   * they train one after the other in this process.
   */
  branchTrainer?: BranchTrainer;
  /** Called with each level's starting weights (masked, before training): for tests and debugging. */
  onLevelStart?(replicate: number, level: number, weights: import('../contracts.js').TensorMap, masks: import('../contracts.js').Masks): void;
}

/** Everything about a run that stays fixed while it trains: plugins, data, model, timing, store. */
export interface RunContext {
  resolved: ResolvedConfig;
  options: RunOptions;
  store: RunStore;
  dataset: Dataset;
  model: ModelSpec;
  /** Every tensor name of the model's state (weights, then buffers). */
  stateNames: string[];
  plan: PruningPlan;
  scorer: Scorer;
  masker: Masker;
  rewinder: Rewinder;
  optimizer: Optimizer;
  /** The validated options of a slot (`pruning.scorer`, ...). */
  opts(slot: string): any;
  timing: { iterationsPerEpoch: number; totalIterations: number };
  evalEvery: number;
  /** The scheduled learning rate (schedule × warmup) at an iteration. */
  lr(iteration: number): number;
  /** Dense-run iterations (> 0) whose weights are saved as rewind snapshots. */
  captureAt: number[];
  evalSets: { train: EvalSet; validation: EvalSet; test: EvalSet };
  branches: ResolvedBranch[];
  backend: string;
  provenance: Provenance;
  /** Held while the run computes; released by `closeRun`. */
  lock: RunLock;
  report(event: RunEvent): void;
}

/** The directory of a run under `outDir`: `<name>-<hash12>`. */
export function runDirOf(resolved: ResolvedConfig, outDir: string): string {
  return join(outDir, runDirName(resolved));
}

/** Loads a config's dataset through its plugin (relative paths resolved from `baseDir`). */
export function loadDataset(resolved: ResolvedConfig, baseDir = process.cwd()): Promise<Dataset> {
  const slot = resolved.slots.dataset;
  return (slot.plugin as DatasetProvider).load(slot.options as never, { seed: resolved.config.seed, resolvePath: (p) => join(baseDir, p) });
}

/** Opens (or creates) a run directory and prepares everything its stages share. */
export async function openRun(resolved: ResolvedConfig, options: RunOptions): Promise<RunContext> {
  const store = new RunStore(options.runDir ?? runDirOf(resolved, options.outDir));
  if (store.hasConfig()) {
    const previous = store.readConfig<{ hash?: string }>();
    if (previous.hash && previous.hash !== resolved.hash) {
      throw new UserError(`${store.dir} holds a run with a different config (hash ${previous.hash}); use another --out or delete it`, '--out');
    }
  }
  const backend = tf.getBackend();
  const current = provenance(resolved, backend);
  const before = store.readProvenance<Provenance>()?.backends ?? [];
  checkProvenance(store, current);
  if (before.length && !before.includes(backend)) {
    const message = `${store.dir} was computed on ${before.join(', ')} so far; its remaining levels run on ${backend} (provenance.json lists every backend used)`;
    options.reporter?.onEvent({ type: 'warning', message });
  }
  const lock = new RunLock(store.dir, { leaseMs: options.leaseMs });
  ensureWritableDir(store.dir);
  lock.lock();
  try {
    removeStaleTemps(store.dir, processAlive);
    if (options.redoFrom !== undefined) for (const r of store.replicates()) for (const L of store.replicate(r).levels()) if (L >= options.redoFrom) store.replicate(r).level(L).remove();
    store.writeConfig({ ...resolved.config, hash: resolved.hash, canonical: JSON.parse(resolved.canonical) });
    store.writeProvenance(current);
    const ctx = await prepareRun(resolved, options, store, backend, current, lock);
    ctx.report({ type: 'run-start', runDir: store.dir, replicates: resolved.config.replicates, levels: ctx.plan.levels, iterations: ctx.timing.totalIterations, backend });
    return ctx;
  } catch (error) {
    lock.unlock();
    throw error;
  }
}

/**
 * The context of a run that another process holds (`openRun`'s), to do one piece of its work
 * (a branch's training job, see branch-jobs.ts): no lock taken, nothing written but that work's
 * own files, no run-start event. The run directory must exist with this config.
 */
export async function attachRun(resolved: ResolvedConfig, options: RunOptions): Promise<RunContext> {
  const store = new RunStore(options.runDir ?? runDirOf(resolved, options.outDir));
  const stored = store.hasConfig() ? store.readConfig<{ hash?: string }>().hash : undefined;
  if (stored !== resolved.hash) throw new UserError(`${store.dir} does not hold this run (its config.json has hash ${stored ?? 'none'}, not ${resolved.hash})`, '--out');
  const backend = tf.getBackend();
  return prepareRun(resolved, options, store, backend, provenance(resolved, backend), new RunLock(store.dir));
}

async function prepareRun(resolved: ResolvedConfig, options: RunOptions, store: RunStore, backend: string, current: Provenance, lock: RunLock): Promise<RunContext> {
  const { config, slots } = resolved;
  const plugin = <P>(path: string) => slots[path].plugin as P;
  const opts = (path: string) => slots[path].options as any;

  const dataset = options.dataset ?? (await loadDataset(resolved, options.baseDir));
  preflight(resolved, dataset);
  const model = plugin<ModelFactory>('model').create(opts('model'), dataset);
  const masker = plugin<Masker>('pruning.masker');
  const batchSize = config.training.batchSize;
  const iterationsPerEpoch = Math.floor(dataset.train.count / batchSize);
  const totalIterations = parseDuration(config.training.iterations, iterationsPerEpoch, '/training/iterations');
  const timing = { iterationsPerEpoch, totalIterations };
  const evalEvery = Math.max(1, parseDuration(config.training.evalEvery, iterationsPerEpoch, '/training/evalEvery'));
  const baseLr = opts('training.optimizer').lr as number;
  const lrSchedule = plugin<LrSchedule>('training.lrSchedule');
  const warmup = plugin<Warmup>('training.warmup');
  const lr = (it: number) => lrSchedule.lr(it, baseLr, opts('training.lrSchedule'), timing) * warmup.factor(it, opts('training.warmup'), timing);
  const rewinder = plugin<Rewinder>('pruning.rewind');
  const captureAt = [...new Set(rewinder.captureAt(opts('pruning.rewind'), timing))].filter((k) => k > 0 && k <= totalIterations).sort((a, b) => a - b);
  const evalSets = {
    train: new EvalSet(dataset, dataset.train, options.trainEvalExamples ?? 10_000),
    validation: new EvalSet(dataset, dataset.validation),
    test: new EvalSet(dataset, dataset.test),
  };
  const plan = plugin<PruningSchedule>('pruning.schedule').plan(opts('pruning.schedule'));
  // Every event renews a lease (progress comes every few dozen iterations).
  const report = (e: RunEvent) => {
    lock.renew();
    options.reporter?.onEvent(e);
  };
  return {
    resolved,
    options,
    store,
    dataset,
    model,
    stateNames: stateNames(model),
    plan,
    scorer: plugin<Scorer>('pruning.scorer'),
    masker,
    rewinder,
    optimizer: plugin<Optimizer>('training.optimizer'),
    opts,
    timing,
    evalEvery,
    lr,
    captureAt,
    evalSets,
    branches: options.branches ?? resolved.branches,
    backend,
    provenance: current,
    lock,
    report,
  };
}

export function closeRun(ctx: RunContext): void {
  for (const s of Object.values(ctx.evalSets)) s.dispose();
  ctx.lock.unlock();
}
