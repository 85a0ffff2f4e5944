import { API_VERSION, type Batch, crossEntropyHvp, type Scorer, type ScorerContext, type Static, type TensorMap, tf, Type } from '@lth/core';
import { batchesOption, hostScores, meanGradients, weightOf, withBatches } from './common.js';
import { VERSION } from './version.js';

const optionsSchema = Type.Object(
  {
    batches: batchesOption('for the gradient g and the Hessian-gradient product Hg'),
    epsilon: Type.Number({
      exclusiveMinimum: 0,
      description:
        'Finite-difference step for Hg where it cannot be taken exactly (models with convolutions), as a distance in weight space ' +
        'along the unit gradient direction: Hg ≈ ‖g‖ (∇L(θ + εu) − ∇L(θ − εu)) / 2ε with u = g / ‖g‖.',
    }),
  },
  { additionalProperties: false },
);
export type GraspScorerOptions = Static<typeof optionsSchema>;

const masked = (ctx: ScorerContext, map: TensorMap, names: string[]): TensorMap =>
  tf.tidy(() =>
    Object.fromEntries(names.map((n) => [n, ctx.masks[n] ? tf.mul(map[n], tf.tensor(ctx.masks[n].data, ctx.masks[n].shape, 'float32')) : map[n].clone()])),
  );

/**
 * H g exactly, by double backward through the model (core's `crossEntropyHvp`) at weights ⊙ masks
 * in training mode, as `ctx.gradients` takes g; undefined where tfjs cannot differentiate the
 * model’s backward pass (e.g. overlapping max-pooling). A probe on one example finds that out first, because a
 * failed double backward leaves the tensors tfjs's tape saved behind.
 */
function exactHessianGradient(ctx: ScorerContext, weights: TensorMap, batches: Batch[], g: TensorMap): TensorMap | undefined {
  const names = Object.keys(g);
  const at = masked(ctx, weights, Object.keys(weights));
  const v = masked(ctx, g, names);
  const one = tf.tidy(() => ({ x: tf.slice(batches[0].x, 0, 1), y: tf.slice(batches[0].y, 0, 1) }));
  try {
    try {
      tf.dispose(Object.values(crossEntropyHvp(ctx.model, at, names, { chunks: [one], count: 1 }, true)(v)));
    } catch (e) {
      if (/gradient function not found|Cannot compute gradient|not registered for backend/i.test((e as Error).message)) return undefined;
      throw e;
    }
    const count = batches.reduce((sum, b) => sum + b.x.shape[0], 0);
    return crossEntropyHvp(ctx.model, at, names, { chunks: batches, count }, true)(v);
  } finally {
    tf.dispose([...Object.values(at), ...Object.values(v), one.x, one.y]);
  }
}

/**
 * The Hessian-gradient product H g of the mean loss over `batches` (equal sizes), at `weights`,
 * for every trainable weight. Exact (double backward) where tfjs can differentiate the model's
 * backward pass; elsewhere (an op without a second derivative, e.g. overlapping max-pooling) a central finite difference of gradients along
 * u = g/‖g‖: Hg = ‖g‖ · H u ≈ ‖g‖ (∇L(θ + εu) − ∇L(θ − εu)) / 2ε, whose step can cross ReLU kinks
 * (off by factors on small ReLU nets at ε = 1e-3) and whose float32 rounding is of order
 * 1e-7·‖∇L‖/ε. Returns g too (caller owns both), and whether Hg is exact.
 */
export function hessianGradientProduct(ctx: ScorerContext, weights: TensorMap, batches: Batch[], epsilon: number): { g: TensorMap; hg: TensorMap; exact: boolean } {
  const g = meanGradients(ctx, weights, batches);
  const names = Object.keys(g);
  const norm = tf.tidy(() => Math.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(g[n])))).dataSync()[0]));
  if (!(norm > 0)) return { g, hg: tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.zerosLike(g[n])]))), exact: true };
  const exact = exactHessianGradient(ctx, weights, batches, g);
  if (exact) return { g, hg: exact, exact: true };
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
    return { g, hg, exact: false };
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
 * the paper's logit temperature is not applied. Cost: a backward pass per batch for g, and a
 * double backward for Hg (or two more backward passes for the finite difference).
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
