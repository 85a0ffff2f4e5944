/**
 * The stages of one level: prune → start (rewind) → train → store. Each takes what it needs as
 * arguments and returns what it produces; the loop (loop.ts) decides what runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type EvalRecord, kernelPathReporter, type LevelStart, type LevelSummary, type Masks, type TensorMap } from '../contracts.js';
import { BatchStream } from '../data.js';
import { DivergedError } from '../errors.js';
import { applySanityCheck } from '../sanity-checks.js';
import { assertMasksShrink, sparsityReport } from '../pruning.js';
import { deriveSeed } from '../seed.js';
import type { LevelStore } from '../store/run-store.js';
import { applyMasks, maskTensors, trainLoopAsync, type TrainLoopOptions, type TrainLoopResult } from '../train.js';
import type { RunContext } from './context.js';
import { disposeMap, type ReplicateState } from './replicate.js';
import { createScorerContext } from './scorer-context.js';

/** θk for scorers that compare with the rewind point: θ0 when the rewinder rewinds to 0, else its snapshot. */
function rewindWeights(ctx: RunContext, rep: ReplicateState): TensorMap | undefined {
  const points = ctx.rewinder.captureAt(ctx.opts('pruning.rewind'), ctx.timing);
  if (points.includes(0)) return rep.init;
  const k = points.find((p) => rep.store.hasRewind(p));
  return k === undefined ? undefined : rep.store.readRewind(k, ctx.stateNames);
}

/** The masks of `level`: the scorer scores `weights`, the masker prunes the level's rate of what remains. */
export async function pruneStage(ctx: RunContext, rep: ReplicateState, level: number, weights: TensorMap): Promise<Masks> {
  const rate = ctx.plan.rateAt(level);
  const sampler = new BatchStream(ctx.dataset, ctx.dataset.train, ctx.resolved.config.training.batchSize, deriveSeed(rep.seed, 'score', level));
  let drawn = 0;
  const mask = (scores: Parameters<typeof ctx.masker.mask>[0], current: Masks, r: number) =>
    ctx.masker.mask(scores, current, r, ctx.opts('pruning.masker'), { model: ctx.model, level });
  const rewind = rewindWeights(ctx, rep);
  try {
    const scorerContext = createScorerContext({
      model: ctx.model,
      weights,
      init: rep.init,
      rewind,
      masks: rep.masks,
      level,
      seed: deriveSeed(rep.seed, 'scorer', level),
      rate,
      accumulated: rep.accumulated,
      sampleBatch: () => sampler.batchAt(drawn++),
      mask,
    });
    const scores = await ctx.scorer.score(scorerContext, ctx.opts('pruning.scorer'));
    const check = ctx.resolved.config.pruning.sanityCheck ?? 'none';
    const next = applySanityCheck(check, scores, rep.masks, (s) => mask(s, rep.masks, rate), deriveSeed(rep.seed, 'pruning-control', level));
    assertMasksShrink(rep.masks, next);
    return next;
  } finally {
    if (rewind && rewind !== rep.init) disposeMap(rewind);
  }
}

/** Where `level` starts: θ0 for the dense level, otherwise the rewinder's choice; masked. */
export function startStage(ctx: RunContext, rep: ReplicateState, level: number, masks: Masks): LevelStart {
  if (level === 0) return { weights: Object.fromEntries(ctx.stateNames.map((n) => [n, rep.init[n].clone()])), iteration: 0 };
  return rewindStart(ctx, rep, level, masks);
}

/** What the run's rewinder starts `level` from under `masks` (also offered to branches). */
export function rewindStart(ctx: RunContext, rep: ReplicateState, level: number, masks: Masks, final = rep.final): LevelStart {
  const snapshots = rep.store.readSnapshots(ctx.captureAt, ctx.stateNames);
  try {
    return ctx.rewinder.start(
      { model: ctx.model, init: rep.init, snapshots, final: final!, masks, level, seed: deriveSeed(rep.seed, 'rewind', level), ...ctx.timing },
      ctx.opts('pruning.rewind'),
    );
  } finally {
    for (const s of snapshots.values()) disposeMap(s);
  }
}

export interface TrainRequest {
  masks: Masks;
  start: LevelStart;
  batches: BatchStream;
  /** Where evaluations go (a level's metrics.jsonl), with the level they belong to. */
  level: number;
  metrics?: LevelStore;
  /** Dense-run iterations to save as snapshots during this training. */
  captureAt?: number[];
  onSnapshot?(iteration: number, weights: TensorMap): void;
  /** One past the last iteration (default: the run's training length). */
  endIteration?: number;
  evaluate?: boolean;
  /** Accumulate the scorer's training statistic from `init` (pruned levels before the last). */
  accumulate?: TensorMap;
}

/**
 * Trains under `masks` from `start` with the run's optimizer, schedule and evaluation sets.
 * Takes ownership of `start`'s tensors; returns the final weights, the evaluation records and the
 * scorer's accumulated statistic (when asked for).
 */
export async function trainStage(
  ctx: RunContext,
  rep: Pick<ReplicateState, 'replicate'>,
  request: TrainRequest,
): Promise<{ final: TensorMap; records: EvalRecord[]; accumulated?: TensorMap }> {
  const { start, masks, level } = request;
  // The backend's record of kernel paths (sparse or dense) covers this training only.
  kernelPathReporter(tf.backend())?.resetKernelPaths();
  const maskT = maskTensors(masks);
  const weights = applyMasks(start.weights, maskT);
  disposeMap(start.weights);
  tf.dispose(Object.values(maskT));
  ctx.options.onLevelStart?.(rep.replicate, level, weights, masks);
  const accumulator = request.accumulate ? ctx.scorer.accumulator : undefined;
  let accumulated = request.accumulate;
  const scorerOptions = ctx.opts('pruning.scorer');
  const opt = ctx.optimizer.create(ctx.opts('training.optimizer'), start.optimizerState);
  disposeMap(start.optimizerState);
  request.metrics?.startMetrics();
  try {
    const total = request.endIteration ?? ctx.timing.totalIterations;
    const result = await runLoop(level, {
      model: ctx.model,
      weights,
      masks,
      optimizer: opt,
      // A rewinder may fix the level's rate (fine-tuning); otherwise the schedule from start.iteration.
      lr: start.lr === undefined ? ctx.lr : ((fixed: number) => () => fixed)(start.lr),
      batches: request.batches,
      startIteration: start.iteration,
      totalIterations: total,
      evalEvery: ctx.evalEvery,
      evalSets: ctx.evalSets,
      evaluate: request.evaluate,
      captureAt: request.captureAt,
      onSnapshot: request.onSnapshot,
      onEval: (record) => {
        request.metrics?.appendMetrics(record);
        ctx.report({ type: 'eval', replicate: rep.replicate, level, metrics: record });
      },
      onProgress: (iteration, loss) => ctx.report({ type: 'progress', replicate: rep.replicate, level, iteration, total, loss }),
      signal: ctx.options.signal,
      onStep: accumulator
        ? (w, g, iteration) => {
            const next = tf.tidy(() => accumulator.step(accumulated!, { weights: w, gradients: g, iteration }, scorerOptions));
            disposeMap(accumulated);
            accumulated = next;
          }
        : undefined,
    });
    return { ...result, accumulated };
  } finally {
    opt.dispose();
    disposeMap(weights);
  }
}

/** The masked loop, stopping at a progress update once the run's `signal` is aborted; a divergence is said of the level it happened in. */
async function runLoop(level: number, options: TrainLoopOptions & { signal?: AbortSignal }): Promise<TrainLoopResult> {
  try {
    return await trainLoopAsync(options);
  } catch (error) {
    throw error instanceof DivergedError ? error.atLevel(level) : error;
  }
}

/** The early-stop record: minimum validation loss (first one on ties). */
export function earlyStop(records: EvalRecord[]): EvalRecord {
  return records.reduce((best, r) => (r.validationLoss < best.validationLoss ? r : best));
}

/** A level's summary row from its masks and evaluation records. */
export function levelSummary(ctx: RunContext, replicate: number, level: number, masks: Masks, records: EvalRecord[], started: number): LevelSummary {
  const sparsity = sparsityReport(masks, ctx.model);
  const last = records[records.length - 1];
  const best = earlyStop(records);
  return {
    replicate,
    level,
    fractionRemaining: sparsity.fractionRemaining,
    layerFractions: sparsity.layerFractions,
    remainingWeights: sparsity.remaining,
    totalPrunableWeights: sparsity.total,
    finalIteration: last.iteration,
    finalTestAccuracy: last.testAccuracy,
    finalTestLoss: last.testLoss,
    finalTrainLoss: last.trainLoss,
    earlyStopIteration: best.iteration,
    earlyStopTestAccuracy: best.testAccuracy,
    earlyStopValidationLoss: best.validationLoss,
    seconds: (Date.now() - started) / 1000,
    backend: ctx.backend,
    ...kernelPathsNow(),
  };
}

/** Which kernels trained each masked weight since the level's training began, where the backend says. */
function kernelPathsNow(): Pick<LevelSummary, 'kernelPaths'> {
  const paths = kernelPathReporter(tf.backend())?.kernelPaths();
  return paths && Object.keys(paths).length ? { kernelPaths: paths } : {};
}

/**
 * Trains one level of the run and stores it (masks and weights first, the summary last: it marks
 * the level complete). Returns the new replicate state (masks, θT, accumulated statistic).
 */
export async function trainLevel(ctx: RunContext, rep: ReplicateState, level: number): Promise<Pick<ReplicateState, 'masks' | 'final' | 'accumulated'>> {
  const started = Date.now();
  const pruneFrom = level === 0 ? (ctx.plan.atInit ? rep.init : undefined) : rep.final;
  const masks = pruneFrom ? await pruneStage(ctx, rep, level, pruneFrom) : rep.masks;
  const start = startStage(ctx, rep, level, masks);
  const fractionRemaining = sparsityReport(masks, ctx.model).fractionRemaining;
  ctx.report({ type: 'level-start', replicate: rep.replicate, level, fractionRemaining, startIteration: start.iteration });
  const accumulator = level < ctx.plan.levels ? ctx.scorer.accumulator : undefined;
  const stored = rep.store.level(level);
  const result = await trainStage(ctx, rep, {
    masks,
    start,
    batches: rep.batches,
    level,
    metrics: stored,
    captureAt: level === 0 ? ctx.captureAt.filter((k) => !rep.store.hasRewind(k)) : [],
    onSnapshot: (k, w) => rep.store.writeRewind(k, w),
    accumulate: accumulator?.init(ctx.model, ctx.opts('pruning.scorer')),
  });
  const summary = levelSummary(ctx, rep.replicate, level, masks, result.records, started);
  stored.write(masks, result.final, summary, result.accumulated);
  ctx.report({ type: 'level-end', replicate: rep.replicate, level, summary });
  return { masks, final: result.final, accumulated: result.accumulated };
}
