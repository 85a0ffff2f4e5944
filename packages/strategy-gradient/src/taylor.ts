import { API_VERSION, type Scorer, type Static, type TensorMap, tf, Type } from '@lth/core';
import { batchesOption, hostScores, weightOf, withBatches } from './common.js';
import { VERSION } from './version.js';

const optionsSchema = Type.Object(
  { batches: batchesOption('used instead of the training steps when there was no training to accumulate over (pruning at initialisation)') },
  { additionalProperties: false },
);
export type TaylorScorerOptions = Static<typeof optionsSchema>;

/**
 * First-order Taylor importance accumulated over training (in the spirit of Molchanov et al.,
 * CVPR 2019, per weight): Σ_t |θ_t ⊙ g_t| over every step t of the level just trained, where g_t is
 * the step's gradient at θ_t. |θ ⊙ g| is the first-order estimate of the loss change from
 * removing the weight; summing it over training credits weights that mattered throughout, not
 * only at the end. Core accumulates it during training (no extra passes: the step's gradient is
 * reused) and keeps it with the level, so a resumed run scores the same.
 * Where no training ran (pruning at initialisation, or a level trained by another run that
 * shares its dense level), the sum runs over `batches` sampled batches at the current weights
 * instead: one forward and one backward pass per batch.
 */
export const taylorScorer: Scorer<TaylorScorerOptions> = {
  meta: {
    name: 'taylor',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'First-order Taylor Σ_t |θ_t ⊙ g_t| accumulated over the training steps',
  },
  optionsSchema,
  defaults: { batches: 1 },
  requires: () => ['training'],
  accumulator: {
    init: (model) => tf.tidy(() => Object.fromEntries(model.prunable.map((n) => [n, tf.zeros(model.shapes[n])]))),
    step: (state, { weights, gradients }) =>
      Object.fromEntries(
        Object.entries(state).map(([n, acc]) => [n, tf.add(acc, tf.abs(tf.mul(weightOf(weights, n, 'taylor'), weightOf(gradients, n, 'taylor', 'gradients'))))]),
      ),
  },
  score(ctx, { batches }) {
    if (ctx.accumulated) return hostScores(ctx, ctx.accumulated, 'taylor');
    const sum = withBatches(ctx, batches, (bs) => {
      let acc: TensorMap | undefined;
      for (const batch of bs) {
        const g = ctx.gradients(ctx.weights, batch);
        const next = tf.tidy(() =>
          Object.fromEntries(
            ctx.model.prunable.map((n) => {
              const term = tf.abs(tf.mul(weightOf(ctx.weights, n, 'taylor'), weightOf(g, n, 'taylor', 'gradients')));
              return [n, acc ? tf.add(acc[n], term) : term];
            }),
          ),
        );
        tf.dispose(Object.values(g));
        if (acc) tf.dispose(Object.values(acc));
        acc = next;
      }
      return acc!;
    });
    try {
      return hostScores(ctx, sum, 'taylor');
    } finally {
      tf.dispose(Object.values(sum));
    }
  },
};
