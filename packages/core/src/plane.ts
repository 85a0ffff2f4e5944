import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec, TensorMap } from './contracts.js';
import type { EvalSet } from './data.js';
import { evaluate, scoreLogits } from './train.js';

/**
 * θ + Σ cᵢ dᵢ as new tensors (every tensor of `center`; the caller disposes them). A direction
 * moves only the tensors it has; a zero coefficient adds nothing, so all-zero coefficients give
 * exactly θ.
 */
export function displace(center: TensorMap, directions: TensorMap[], coefficients: number[]): TensorMap {
  return tf.tidy(() => {
    const out: TensorMap = {};
    for (const [name, w] of Object.entries(center)) {
      let t: tf.Tensor = w.clone();
      directions.forEach((d, i) => {
        if (d[name] && coefficients[i] !== 0) t = tf.add(t, tf.mul(d[name]!, coefficients[i]!));
      });
      out[name] = t;
    }
    return out;
  });
}

/**
 * Loss and accuracy of θ + Σ cᵢ dᵢ on one evaluation set, for many coefficient vectors: the
 * points of a loss landscape or of a linear path between networks. Equal to
 * `evaluate(model, displace(θ, d, c), set)`, and faster for a model with a `firstLayer`: the first
 * layer is linear in its kernel, so its products x·W and x·dᵢ are computed once per chunk and each
 * point costs x·W + Σ cᵢ x·dᵢ and the rest of the network. At all-zero coefficients the first
 * layer's output is exactly x·W, so the centre gives exactly what `evaluate` gives at θ. Holds
 * (per chunk, per direction) a tensor of the first layer's output size: call `dispose`.
 */
export class PlaneEvaluator {
  private readonly products: { center: tf.Tensor; directions: (tf.Tensor | undefined)[] }[] = [];

  constructor(
    private readonly model: ModelSpec,
    private readonly center: TensorMap,
    private readonly directions: TensorMap[],
    private readonly set: EvalSet,
  ) {
    const first = model.firstLayer;
    if (!first || !center[first.kernel]) return;
    for (const { x } of set.chunks) {
      this.products.push({
        center: tf.tidy(() => first.apply(center[first.kernel]!, x)),
        directions: directions.map((d) => (d[first.kernel] ? tf.tidy(() => first.apply(d[first.kernel]!, x)) : undefined)),
      });
    }
  }

  /** Whether the points reuse the first layer's products (the model has a `firstLayer`). */
  get shortcut(): boolean {
    return this.products.length > 0;
  }

  at(coefficients: number[]): { loss: number; accuracy: number } {
    if (coefficients.length !== this.directions.length) throw new Error(`PlaneEvaluator.at: ${coefficients.length} coefficients for ${this.directions.length} directions`);
    const w = displace(this.center, this.directions, coefficients);
    try {
      if (!this.shortcut) return evaluate(this.model, w, this.set);
      const first = this.model.firstLayer!;
      let lossSum = 0;
      let correct = 0;
      this.set.chunks.forEach(({ y }, c) => {
        const p = this.products[c]!;
        const z = () => p.directions.reduce<tf.Tensor>((acc, d, i) => (d && coefficients[i] !== 0 ? tf.add(acc, tf.mul(d, coefficients[i]!)) : acc), p.center);
        const [l, k] = scoreLogits(() => first.rest(w, z()), y);
        lossSum += l;
        correct += k;
      });
      return { loss: lossSum / this.set.count, accuracy: correct / this.set.count };
    } finally {
      tf.dispose(Object.values(w));
    }
  }

  dispose(): void {
    for (const p of this.products) tf.dispose([p.center, ...p.directions.filter((d): d is tf.Tensor => d !== undefined)]);
    this.products.length = 0;
  }
}
