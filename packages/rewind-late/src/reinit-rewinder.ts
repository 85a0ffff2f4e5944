import { API_VERSION, deriveSeed, type Rewinder, type Static, Type } from '@lth/core';
import { VERSION } from './version.js';

const optionsSchema = Type.Object({}, { additionalProperties: false });
export type ReinitRewinderOptions = Static<typeof optionsSchema>;

/**
 * The seed of level `level`'s re-initialisation, derived with core's `deriveSeed` under its own
 * label: reproducible, different for each level, and independent of the seed θ0 came from.
 */
export function reinitSeed(seed: number, level: number): number {
  return deriveSeed(seed, 'reinit', level);
}

/**
 * The random re-initialisation control: each pruned level keeps the mask but starts from new
 * random weights (same distribution as θ0) at iteration 0, to show that θ0 matters.
 */
export const reinitRewinder: Rewinder<ReinitRewinderOptions> = {
  meta: {
    name: 'reinit',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Control: keep the mask, re-initialise the weights randomly (a seed derived from the run seed and level)',
  },
  optionsSchema,
  defaults: {},
  captureAt() {
    return [];
  },
  start(ctx) {
    return { weights: ctx.model.init(reinitSeed(ctx.seed, ctx.level)), iteration: 0, optimizerState: undefined };
  },
};
