import * as tf from '@tensorflow/tfjs-core';
// Registers the gradients tf.grads needs (see train.ts).
import '@tensorflow/tfjs';
// Registers the second derivatives tfjs lacks: the gradients of conv2d's and pooling's backward kernels.
import './second-derivatives.js';
import type { Batch, ModelSpec, TensorMap } from './contracts.js';

/** A Hessian-vector product over named weights: H v (new tensors the caller disposes). */
export type Hvp = (v: TensorMap) => TensorMap;

/** The examples of a mean loss: its batches and how many examples they hold in all. */
export interface LossData {
  chunks: Batch[];
  count: number;
}

const withWeights = (weights: TensorMap, names: string[], ws: tf.Tensor[]): TensorMap => ({ ...weights, ...Object.fromEntries(names.map((n, i) => [n, ws[i]])) });

/**
 * The exact Hessian-vector product of the mean softmax cross-entropy over `data`, with respect to
 * the weights `names` at `weights` (as given: mask them first), by double backward; `training`
 * selects the model's training-mode forward pass. tfjs cannot differentiate its fused
 * cross-entropy twice (its gradient is a custom one, and comes back as zero), so the product is
 * taken as ∇_w [v · Jᵀ(w) r(w)], r = (softmax(z(w)) − y) / N: the inner gradient Jᵀr is a backward
 * pass through the model alone (matmul, add, relu: differentiable again), and r reaches the outer
 * gradient through softmax's first derivative. conv2d, depthwise conv2d and 2-D max/average
 * pooling are differentiated twice by the gradients second-derivatives.ts registers. Throws where
 * an op of the model still has no second derivative ("Cannot compute gradient ...": e.g. tfjs's
 * "gradient function not found", or max-pooling with overlapping windows).
 */
export function crossEntropyHvp(model: ModelSpec, weights: TensorMap, names: string[], data: LossData, training = false): Hvp {
  return (v) =>
    tf.tidy(() => {
      const parts = data.chunks.map(({ x, y }) =>
        tf.grads((...ws: tf.Tensor[]) => {
          const r = tf.div(tf.sub(tf.softmax(model.forward(withWeights(weights, names, ws), x, training)), y), data.count);
          // The inner gradient is taken at copies of ws, so that it treats r as a constant; the
          // copies are on the outer tape (identity), so the outer gradient reaches ws through them.
          const copies = ws.map((w) => tf.clone(w));
          const inner = tf.grads((...us: tf.Tensor[]) => tf.sum(tf.mul(model.forward(withWeights(weights, names, us), x, training), r)))(copies);
          return tf.addN(inner.map((g, i) => tf.sum(tf.mul(g, v[names[i]])))) as tf.Scalar;
        })(names.map((n) => weights[n])),
      );
      return Object.fromEntries(names.map((n, i) => [n, parts.length === 1 ? parts[0][i] : tf.addN(parts.map((p) => p[i]))]));
    });
}
