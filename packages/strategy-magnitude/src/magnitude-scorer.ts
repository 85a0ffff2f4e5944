import { API_VERSION, type Scorer, type Scores, type Static, tf, Type } from '@lth/core';
import { VERSION } from './version.js';

const optionsSchema = Type.Object({}, { additionalProperties: false });
export type MagnitudeScorerOptions = Static<typeof optionsSchema>;

/** |w| of the current weights: the original lottery-ticket criterion (keep the largest). */
export const magnitudeScorer: Scorer<MagnitudeScorerOptions> = {
  meta: { name: 'magnitude', version: VERSION, apiVersion: API_VERSION, description: 'Score = |w| of the weights at the end of training (keep the largest)' },
  optionsSchema,
  defaults: {},
  score(ctx) {
    const scores: Scores = {};
    for (const name of ctx.model.prunable) {
      const weight = ctx.weights[name];
      if (!weight) throw new Error(`scorer "magnitude": the context has no weight "${name}"`);
      scores[name] = { shape: [...weight.shape], data: tf.tidy(() => tf.abs(weight).dataSync() as Float32Array) };
    }
    return scores;
  },
};
