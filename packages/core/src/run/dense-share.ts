import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { denseHash } from '../config.js';
import { denseMasks } from '../pruning.js';
import { ReplicateStore } from '../store/run-store.js';
import { trainLoop } from '../train.js';
import type { RunContext } from './context.js';
import type { ReplicateState } from './replicate.js';

/**
 * The dense run (level 0) shared by the runs of a sweep that differ only in pruning options,
 * stored once under the dense hash. Not shared: pruning at initialisation (level 0 is already
 * pruned) and scorers that accumulate a statistic during training (it would have to travel with
 * the dense run).
 */
export interface DenseShare {
  /** Copies θ0 of the shared replicate into `into` (when it has none and the share has one). */
  copyInit(r: number, into: ReplicateStore): void;
  /**
   * When the shared dense level is complete and this replicate's is not: replays any rewind
   * point it lacks (by training the dense run up to that iteration only), then copies it in.
   */
  copyLevel0(rep: ReplicateState): boolean;
  /** Publishes this replicate's completed dense level for the other runs (summary last). */
  publish(rep: ReplicateState): void;
}

export function denseShare(ctx: RunContext): DenseShare | undefined {
  const cache = ctx.options.denseCache;
  if (!cache || ctx.plan.atInit || ctx.scorer.accumulator) return undefined;
  const shared = (r: number) => new ReplicateStore(join(cache, denseHash(ctx.resolved).slice(0, 12), `replicate-${r}`));
  return {
    copyInit(r, into) {
      if (shared(r).hasInit() && !into.hasInit()) into.copySnapshotsFrom(shared(r), []);
    },
    copyLevel0(rep) {
      const from = shared(rep.replicate);
      if (rep.store.level(0).isComplete() || !from.level(0).isComplete()) return false;
      for (const k of ctx.captureAt) if (!from.hasRewind(k)) replay(ctx, rep, from, k);
      rep.store.copySnapshotsFrom(from, ctx.captureAt);
      rep.store.level(0).copyFrom(from.level(0));
      ctx.report({ type: 'level-skip', replicate: rep.replicate, level: 0, reason: 'dense run shared with another variant' });
      return true;
    },
    publish(rep) {
      const to = shared(rep.replicate);
      if (to.level(0).isComplete()) return;
      to.copySnapshotsFrom(rep.store, ctx.captureAt);
      to.level(0).copyFrom(rep.store.level(0));
    },
  };
}

/** Recomputes the dense run's snapshot at iteration k by training θ0 for k iterations (no evaluation). */
function replay(ctx: RunContext, rep: ReplicateState, into: ReplicateStore, k: number): void {
  ctx.report({ type: 'replay', replicate: rep.replicate, iteration: k });
  const weights = Object.fromEntries(ctx.stateNames.map((n) => [n, rep.init[n].clone()]));
  const opt = ctx.optimizer.create(ctx.opts('training.optimizer'));
  try {
    const { final } = trainLoop({
      model: ctx.model,
      weights,
      masks: denseMasks(ctx.model),
      optimizer: opt,
      lr: ctx.lr,
      batches: rep.batches,
      startIteration: 0,
      totalIterations: k,
      evalEvery: ctx.timing.totalIterations + 1,
      evalSets: ctx.evalSets,
      evaluate: false,
      captureAt: [k],
      onSnapshot: (it, w) => into.writeRewind(it, w),
    });
    tf.dispose(Object.values(final));
  } finally {
    opt.dispose();
    tf.dispose(Object.values(weights));
  }
}
