import * as tf from '@tensorflow/tfjs-core';
import type { Batch, Masks, ModelSpec, ScorerContext, TensorMap } from '../contracts.js';
import { applyMasks, batchLoss, maskTensors } from '../train.js';

/** The parts a ScorerContext is built from: all of it, with `gradients` defaulting to autodiff of the masked loss. */
export type ScorerContextParts = Omit<ScorerContext, 'gradients'> & Partial<Pick<ScorerContext, 'gradients'>>;

/** ∂loss/∂w for every trainable weight at `weights ⊙ masks`; buffers (batch-norm statistics) ride along. */
export function maskedGradients(model: ModelSpec, masks: Masks, weights: TensorMap, batch: Batch): TensorMap {
  const m = maskTensors(masks);
  try {
    return tf.tidy(() => {
      const masked = applyMasks(weights, m);
      const g = tf.grads((...ws: tf.Tensor[]) =>
        batchLoss(model, { ...masked, ...Object.fromEntries(model.weightNames.map((n, i) => [n, ws[i]])) }, batch, true),
      )(model.weightNames.map((n) => masked[n]));
      return Object.fromEntries(model.weightNames.map((n, i) => [n, g[i]]));
    });
  } finally {
    tf.dispose(Object.values(m));
  }
}

/**
 * The one way a ScorerContext is built: by the run (from its dataset and masker) and by the
 * testing fakes (from a fake model with hand-written gradients), so both hand scorers the same thing.
 */
export function createScorerContext(parts: ScorerContextParts): ScorerContext {
  const { gradients, ...rest } = parts;
  return {
    ...rest,
    gradients: gradients ?? ((weights, batch) => maskedGradients(parts.model, parts.masks, weights, batch)),
  };
}
