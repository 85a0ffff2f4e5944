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
 * Re-initialisation as the run's own rewinder: each pruned level keeps the mask but starts from
 * new random weights (same distribution as θ0) at iteration 0, so the whole iterative search runs
 * without θ0. The control of a found ticket (its mask, fresh weights, at each level) is the
 * `reinit` branch of @lth/controls.
 */
export const reinitRewinder: Rewinder<ReinitRewinderOptions> = {
  meta: {
    name: 'reinit',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Each pruned level keeps the mask and re-initialises the weights randomly (a seed derived from the run seed and level)',
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
