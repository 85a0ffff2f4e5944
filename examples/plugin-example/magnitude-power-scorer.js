// @ts-check
import { API_VERSION, tf, Type } from '@lth/core';

/** @typedef {import('@lth/core').Scorer<MagnitudePowerOptions>} MagnitudePowerScorer */
/** @typedef {{ power: number }} MagnitudePowerOptions */

/** JSON Schema of the options (without `use`); every field has a description. */
const optionsSchema = Type.Object(
  {
    power: Type.Number({
      exclusiveMinimum: 0,
      description: 'Exponent applied to |w|. Any positive power ranks weights exactly like |w|; it changes the scores written, not the mask.',
    }),
  },
  { additionalProperties: false },
);

/**
 * Score = |w|^power of the weights at the end of training (higher = keep).
 *
 * A deliberately small scorer: the point of this package is the packaging around it.
 * @type {MagnitudePowerScorer}
 */
export const magnitudePowerScorer = {
  meta: {
    name: 'example-magnitude-power',
    version: '1.0.0',
    apiVersion: API_VERSION,
    description: 'Example third-party scorer: |w|^power of the trained weights (keep the largest)',
  },
  optionsSchema,
  // Defaults live beside the schema, not inside it; core fills them in before calling score().
  defaults: { power: 2 },
  score(ctx, options) {
    /** @type {import('@lth/core').Scores} */
    const scores = {};
    for (const name of ctx.model.prunable) {
      const weight = ctx.weights[name];
      if (!weight) throw new Error(`scorer "example-magnitude-power": the context has no weight "${name}"`);
      // Inside tf.tidy so that no intermediate tensor outlives this call.
      const data = tf.tidy(() => /** @type {Float32Array} */ (tf.pow(tf.abs(weight), options.power).dataSync()));
      scores[name] = { shape: [...weight.shape], data: Float32Array.from(data) };
    }
    return scores;
  },
};
