import * as tf from '@tensorflow/tfjs-core';
import type { Masks, TensorMap } from '../contracts.js';
import { BatchStream } from '../data.js';
import { denseMasks } from '../pruning.js';
import { UserError } from '../errors.js';
import { deriveSeed } from '../seed.js';
import type { ReplicateStore } from '../store/run-store.js';
import type { RunContext } from './context.js';
import { denseShare } from './dense-share.js';

/**
 * What changes from level to level within a replicate. Stages take it as an argument and return
 * what they produce; only the loop assigns to it.
 */
export interface ReplicateState {
  replicate: number;
  /** The replicate's seed: every random stream of the replicate derives from it. */
  seed: number;
  store: ReplicateStore;
  /** θ0. */
  init: TensorMap;
  /** The training batches: a pure function of the iteration. */
  batches: BatchStream;
  /** The masks of the latest level (dense before level 0). */
  masks: Masks;
  /** θT of the latest complete level. */
  final?: TensorMap;
  /** The scorer's training statistic of the latest level, for the next level's pruning. */
  accumulated?: TensorMap;
}

export const disposeMap = (map: TensorMap | undefined) => {
  if (map) tf.dispose(Object.values(map));
};

/** Opens replicate `r`: θ0 from disk (or the shared dense run), or a fresh initialisation saved now. */
export function openReplicate(ctx: RunContext, r: number): ReplicateState {
  const seed = deriveSeed(ctx.resolved.config.seed, 'replicate', r);
  const store = ctx.store.replicate(r);
  denseShare(ctx)?.copyInit(r, store);
  let init: TensorMap;
  if (store.hasInit()) init = store.readInit(ctx.stateNames);
  else {
    init = ctx.model.init(deriveSeed(seed, 'init'));
    store.writeInit(init, r);
  }
  const batches = new BatchStream(ctx.dataset, ctx.dataset.train, ctx.resolved.config.training.batchSize, deriveSeed(seed, 'data'));
  return { replicate: r, seed, store, init, batches, masks: denseMasks(ctx.model) };
}

export function closeReplicate(rep: ReplicateState): void {
  disposeMap(rep.final);
  disposeMap(rep.accumulated);
  disposeMap(rep.init);
}

/** The state after a level that is complete on disk: its masks, θT and the scorer's statistic. */
export function resumeLevel(ctx: RunContext, rep: ReplicateState, level: number): Pick<ReplicateState, 'masks' | 'final' | 'accumulated'> {
  const stored = rep.store.level(level);
  const redo = `To recompute it and the levels after it, run the same command with --redo-from ${level}.`;
  stored.verify(stored.readSummary(), redo);
  const masks = stored.readMasks();
  for (const [name, m] of Object.entries(masks)) {
    const before = rep.masks[name];
    if (!before || before.data.length !== m.data.length || m.data.some((v, i) => v > before.data[i])) {
      throw new UserError(`${stored.maskFile}: mask "${name}" does not fit inside the previous level's (weights came back, or its shape changed); the file is damaged. ${redo}`, stored.maskFile);
    }
  }
  return {
    masks,
    final: stored.readFinal(ctx.stateNames),
    accumulated: ctx.scorer.accumulator && stored.hasAccumulated() ? stored.readAccumulated() : undefined,
  };
}
