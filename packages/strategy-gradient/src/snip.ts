import { API_VERSION, type Scorer, type Static, tf, Type } from '@lth/core';
import { batchesOption, hostScores, meanGradients, weightOf, withBatches } from './common.js';
import { VERSION } from './version.js';

const optionsSchema = Type.Object({ batches: batchesOption('whose mean gradient g is used') }, { additionalProperties: false });
export type SnipScorerOptions = Static<typeof optionsSchema>;

/**
 * SNIP, connection sensitivity (Lee et al., ICLR 2019): |g ⊙ θ|, where g is ∂loss/∂θ at the
 * current weights, averaged over `batches` training batches. It is |∂loss/∂c| for a mask c at 1:
 * how much the loss reacts to removing the connection. Cost: one forward and one backward pass
 * per batch.
 */
export const snipScorer: Scorer<SnipScorerOptions> = {
  meta: { name: 'snip', version: VERSION, apiVersion: API_VERSION, description: 'SNIP connection sensitivity |g ⊙ θ| (Lee et al. 2019)' },
  optionsSchema,
  defaults: { batches: 1 },
  score(ctx, { batches }) {
    const g = withBatches(ctx, batches, (b) => meanGradients(ctx, ctx.weights, b));
    try {
      const saliency = tf.tidy(() =>
        Object.fromEntries(ctx.model.prunable.map((n) => [n, tf.abs(tf.mul(weightOf(g, n, 'snip', 'gradients'), weightOf(ctx.weights, n, 'snip')))])),
      );
      try {
        return hostScores(ctx, saliency, 'snip');
      } finally {
        tf.dispose(Object.values(saliency));
      }
    } finally {
      tf.dispose(Object.values(g));
    }
  },
};
