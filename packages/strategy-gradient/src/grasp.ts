import { API_VERSION, type Batch, type Scorer, type ScorerContext, type Static, type TensorMap, tf, Type } from '@lth/core';
import { batchesOption, hostScores, meanGradients, weightOf, withBatches } from './common.js';
import { VERSION } from './version.js';

const optionsSchema = Type.Object(
  {
    batches: batchesOption('for the gradient g and the Hessian-gradient product Hg'),
    epsilon: Type.Number({
      exclusiveMinimum: 0,
      description:
        'Finite-difference step for Hg, as a distance in weight space along the unit gradient direction: ' +
        'Hg ≈ ‖g‖ (∇L(θ + εu) − ∇L(θ − εu)) / 2ε with u = g / ‖g‖.',
    }),
  },
  { additionalProperties: false },
);
export type GraspScorerOptions = Static<typeof optionsSchema>;

/**
 * The Hessian-gradient product H g of the mean loss over `batches`, at `weights`, for every
 * trainable weight, by a central finite difference of gradients along u = g/‖g‖:
 * Hg = ‖g‖ · H u ≈ ‖g‖ (∇L(θ + εu) − ∇L(θ − εu)) / 2ε. The error is O(ε²) where the loss is
 * smooth (ReLU kinks within ε of θ aside) plus float32 rounding of order 1e-7·‖∇L‖/ε; ε = 1e-3
 * balances the two for nets of the LeNet scale. Gradient functions are used only through the
 * context, so any model (and masking) core supports works. Returns g too (caller owns both).
 */
export function hessianGradientProduct(ctx: ScorerContext, weights: TensorMap, batches: Batch[], epsilon: number): { g: TensorMap; hg: TensorMap } {
  const g = meanGradients(ctx, weights, batches);
  const names = Object.keys(g);
  const norm = tf.tidy(() => Math.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(g[n])))).dataSync()[0]));
  if (!(norm > 0)) return { g, hg: tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.zerosLike(g[n])]))) };
  const shifted = (sign: number) =>
    tf.tidy(() => ({ ...weights, ...Object.fromEntries(names.map((n) => [n, tf.add(weights[n], tf.mul(g[n], (sign * epsilon) / norm))])) }));
  const plus = shifted(1);
  const minus = shifted(-1);
  const own = (map: TensorMap) => names.map((n) => map[n]);
  try {
    const gPlus = meanGradients(ctx, plus, batches);
    const gMinus = meanGradients(ctx, minus, batches);
    const hg = tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.mul(tf.sub(gPlus[n], gMinus[n]), norm / (2 * epsilon))])));
    tf.dispose([...Object.values(gPlus), ...Object.values(gMinus)]);
    return { g, hg };
  } finally {
    tf.dispose([...own(plus), ...own(minus)]);
  }
}

/**
 * GraSP, gradient signal preservation (Wang et al., ICLR 2020). The paper scores
 * S(−θ) = −θ ⊙ Hg, the first-order change of the gradient norm ‖g‖² (up to a factor 2) when a
 * weight is removed, and removes the weights with the *largest* S: their removal reduces
 * gradient flow least (or increases it). Here higher = keep, so the score is −S = θ ⊙ Hg and the
 * masker prunes the lowest θ ⊙ Hg, the same weights. Scores are signed (not absolute values).
 * g and Hg come from `batches` training batches at the current weights (θ0 at initialisation);
 * the paper's logit temperature is not applied. Cost: three forward and backward passes per
 * batch (g, and the gradients at θ ± εu for the finite-difference Hg).
 */
export const graspScorer: Scorer<GraspScorerOptions> = {
  meta: { name: 'grasp', version: VERSION, apiVersion: API_VERSION, description: 'GraSP θ ⊙ Hg, pruning the lowest = the paper\'s largest −θ ⊙ Hg (Wang et al. 2020)' },
  optionsSchema,
  defaults: { batches: 1, epsilon: 1e-3 },
  score(ctx, { batches, epsilon }) {
    const { g, hg } = withBatches(ctx, batches, (b) => hessianGradientProduct(ctx, ctx.weights, b, epsilon));
    try {
      const s = tf.tidy(() => Object.fromEntries(ctx.model.prunable.map((n) => [n, tf.mul(weightOf(ctx.weights, n, 'grasp'), weightOf(hg, n, 'grasp', 'gradients'))])));
      try {
        return hostScores(ctx, s, 'grasp');
      } finally {
        tf.dispose(Object.values(s));
      }
    } finally {
      tf.dispose([...Object.values(g), ...Object.values(hg)]);
    }
  },
};
