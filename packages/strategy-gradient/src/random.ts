import { API_VERSION, deriveSeed, rng, type Scorer, type Scores, type Static, Type } from '@lth/core';
import { VERSION } from './version.js';

const optionsSchema = Type.Object({}, { additionalProperties: false });
export type RandomScorerOptions = Static<typeof optionsSchema>;

/**
 * Uniform random scores in [0, 1): random pruning as the run's own scorer (the whole search without a criterion). Seeded by the context's seed (a
 * function of the run's seed, the replicate and the level) and the weight's name, so a rerun
 * prunes the same weights. With `layerwise` it keeps each layer's rate; with `global` it prunes
 * uniformly over all weights.
 */
export const randomScorer: Scorer<RandomScorerOptions> = {
  meta: { name: 'random', version: VERSION, apiVersion: API_VERSION, description: 'Uniform random scores, seeded (random pruning at every level; the control of a found ticket is the random-prune branch)' },
  optionsSchema,
  defaults: {},
  score(ctx) {
    const scores: Scores = {};
    for (const name of ctx.model.prunable) {
      const shape = ctx.model.shapes[name];
      const random = rng(deriveSeed(ctx.seed, 'random-scorer', name));
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) data[i] = random();
      scores[name] = { shape: [...shape], data };
    }
    return scores;
  },
};
