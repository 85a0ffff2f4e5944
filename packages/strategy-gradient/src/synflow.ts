import { API_VERSION, type Masks, type ModelSpec, type Scorer, type Scores, type Static, type TensorMap, tf, Type } from '@lth/core';
import { VERSION } from './version.js';

const optionsSchema = Type.Object(
  {
    rounds: Type.Integer({
      minimum: 1,
      description:
        'Scoring rounds per pruning step: round j prunes to 1 − (1 − rate)^(j/rounds) of the level\'s remaining weights, ' +
        're-scoring after each (Tanaka et al. use 100). Where core gives no masker to scorers, one round.',
    }),
  },
  { additionalProperties: false },
);
export type SynflowScorerOptions = Static<typeof optionsSchema>;

/**
 * One SynFlow round: with every weight replaced by |θ| ⊙ mask (buffers such as batch-norm
 * statistics by |·| too, as the paper linearises the whole state) and the model in evaluation
 * mode, R = Σ of the outputs on a single all-ones input, and the score is |θ ⊙ ∂R/∂θ| = θ ⊙ ∂R/∂θ
 * for every prunable weight. Float32: a very deep net can overflow R (an error says so).
 */
export function synflowRound(model: ModelSpec, weights: TensorMap, masks: Masks, inputShape: number[]): Scores {
  const t = tf.tidy(() => {
    const linear: TensorMap = {};
    for (const [n, w] of Object.entries(weights)) {
      const m = masks[n];
      linear[n] = m ? tf.mul(tf.abs(w), tf.tensor(m.data, m.shape, 'float32')) : tf.abs(w);
    }
    const ones = tf.ones([1, ...inputShape]);
    const names = model.prunable;
    const grads = tf.grads((...ws: tf.Tensor[]) =>
      tf.sum(model.forward({ ...linear, ...Object.fromEntries(names.map((n, i) => [n, ws[i]])) }, ones, false)),
    )(names.map((n) => linear[n]));
    return Object.fromEntries(names.map((n, i) => [n, tf.abs(tf.mul(linear[n], grads[i]))]));
  });
  const scores: Scores = {};
  try {
    for (const n of model.prunable) {
      const data = Float32Array.from(t[n].dataSync() as Float32Array);
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new Error(`scorer "synflow": score of "${n}"[${bad}] is ${data[bad]}: R overflows float32 for this model`);
      scores[n] = { shape: [...t[n].shape], data };
    }
  } finally {
    tf.dispose(Object.values(t));
  }
  return scores;
}

/**
 * SynFlow, iterative synaptic flow (Tanaka et al., NeurIPS 2020): data-free. Each round scores
 * |θ ⊙ ∂R/∂θ| on the |θ| network (see `synflowRound`), prunes with the configured masker to the
 * round's target, and re-scores the survivors, over an exponential schedule of `rounds` rounds:
 * round j prunes 1 − (1 − rate)^(j/rounds) of the weights the level started with. Re-scoring is
 * what avoids layer collapse: a layer that is being thinned gets a larger flow per weight.
 *
 * The scorer returns scores, and core masks them once more at the level's rate: weights removed
 * in round j < rounds get the score j − rounds − 1 (negative, below every flow score, earlier
 * rounds lower), the survivors their last-round flow. Since every round's count is at most the
 * final one in every masker group, the final masking reproduces the last round exactly.
 * Cost: `rounds` forward and backward passes on one example, and `rounds` − 1 maskings.
 */
export const synflowScorer: Scorer<SynflowScorerOptions> = {
  meta: { name: 'synflow', version: VERSION, apiVersion: API_VERSION, description: 'Iterative synaptic flow |θ ⊙ ∂R/∂θ|, data-free (Tanaka et al. 2020)' },
  optionsSchema,
  defaults: { rounds: 100 },
  score(ctx, { rounds }) {
    const probe = ctx.sampleBatch(1);
    const inputShape = probe.x.shape.slice(1);
    tf.dispose([probe.x, probe.y]);
    const rate = ctx.rate ?? 0;
    const k = ctx.mask && rate > 0 ? rounds : 1;
    // Round at which each weight of this level was removed (0: still kept).
    const removedAt: Record<string, Uint16Array> = {};
    for (const n of ctx.model.prunable) removedAt[n] = new Uint16Array(ctx.masks[n].data.length);
    let current: Masks = ctx.masks;
    let scores: Scores = {};
    for (let j = 1; j <= k; j++) {
      scores = synflowRound(ctx.model, ctx.weights, current, inputShape);
      for (const n of ctx.model.prunable) {
        const at = removedAt[n];
        const s = scores[n].data;
        for (let i = 0; i < s.length; i++) if (at[i]) s[i] = at[i] - k - 1;
      }
      if (j === k) break;
      current = ctx.mask!(scores, ctx.masks, 1 - (1 - rate) ** (j / k));
      for (const n of ctx.model.prunable) {
        const at = removedAt[n];
        const level = ctx.masks[n].data;
        const now = current[n].data;
        for (let i = 0; i < at.length; i++) if (level[i] && !now[i] && !at[i]) at[i] = j;
      }
    }
    return scores;
  },
};
