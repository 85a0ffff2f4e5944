/**
 * Controls of a lottery ticket at the same sparsity (Frankle & Carbin 2019; Frankle et al. 2021),
 * as branches: at each pruned level, train a network that shares one property of the ticket and
 * not another. If the ticket beats a control, what the control threw away mattered.
 *
 * - `reinit`: the ticket's mask, fresh random weights (does θ0 matter?);
 * - `random-prune`: in each layer, as many weights as the ticket keeps, chosen at random, started
 *   where the ticket starts (do the positions matter?);
 * - `shuffle`: the ticket's mask permuted within each layer, started where the ticket starts.
 *
 * For unstructured masks `random-prune` and `shuffle` have the same distribution (only per-layer
 * counts survive); both exist because papers name both.
 */
import { API_VERSION, type Branch, type BranchContext, deriveSeed, type Masks, permutation, randomPruneMasks, Type } from '@lth/core';
import { VERSION } from './version.js';

const noOptions = Type.Object({}, { additionalProperties: false });

/** Each layer's mask permuted: entry i moves to position p[i]. */
export function shuffledMasks(masks: Masks, seed: (name: string) => number): Masks {
  const out: Masks = {};
  for (const [name, m] of Object.entries(masks)) {
    const p = permutation(m.data.length, seed(name));
    const data = new Uint8Array(m.data.length);
    for (let i = 0; i < p.length; i++) data[p[i]] = m.data[i];
    out[name] = { shape: [...m.shape], data };
  }
  return out;
}

/** The control's level, trained like the run's levels and stored in the branch directory. */
async function trainControl(ctx: BranchContext, masks: Masks, fresh: boolean) {
  const start = fresh ? { weights: ctx.model.init(ctx.deriveSeed('control-reinit', ctx.level)), iteration: 0 } : ctx.rewindStart(masks);
  const summary = await ctx.trainLevel(masks, start);
  const { layerFractions: _layers, digests: _digests, kernelPaths: _paths, ...row } = summary;
  return row;
}

const control = (name: string, description: string, run: Branch['run']): Branch => ({
  meta: { name, version: VERSION, apiVersion: API_VERSION, description },
  optionsSchema: noOptions,
  defaults: {},
  run,
});

// The seeds (the level's control seed, then the control's name and the weight name) are those of
// the controls' first implementation, so their masks stay the same for the same run seed.
const maskSeed = (ctx: BranchContext, kind: string) => (name: string) => deriveSeed(ctx.deriveSeed('control', ctx.level), kind, name);

export const reinit = control('reinit', "Control: the ticket's mask with fresh random weights (does θ0 matter?)", (ctx) => trainControl(ctx, ctx.masks, true));

export const randomPrune = control('random-prune', "Control: each layer keeps the ticket's count of weights, chosen at random", (ctx) =>
  trainControl(ctx, randomPruneMasks(ctx.masks, maskSeed(ctx, 'random-prune')), false),
);

export const shuffle = control('shuffle', "Control: the ticket's mask permuted within each layer", (ctx) =>
  trainControl(ctx, shuffledMasks(ctx.masks, maskSeed(ctx, 'shuffle')), false),
);
