/**
 * The linear path between two networks, θ(α) = (1 − α)·θ₁ + α·θ₂, and the barrier along it
 * (Frankle, Dziugaite, Roy & Carbin 2020, "Linear Mode Connectivity and the Lottery Ticket
 * Hypothesis"). Pure functions: the branch (instability.ts) evaluates the path, these do the math.
 */
import { type Masks, type TensorMap, tf } from '@lth/core';

/** `points` evenly spaced values from 0 to 1, both ends included (points ≥ 2). */
export function alphas(points: number): number[] {
  if (!Number.isInteger(points) || points < 2) throw new Error(`alphas: need an integer count ≥ 2, got ${points}`);
  // i / (points − 1), not a running sum: the ends are exactly 0 and 1 and no error accumulates.
  return Array.from({ length: points }, (_, i) => i / (points - 1));
}

/**
 * θ(α) for every tensor of `a` (weights and buffers alike), as new tensors the caller owns.
 * Computed from the nearer end, θ₁ + α(θ₂ − θ₁) for α ≤ ½ and θ₂ + (1 − α)(θ₁ − θ₂) above, so
 * that the ends are exactly θ₁ and θ₂ and two identical copies give exactly the same network at
 * every α (barrier exactly 0), which (1 − α)θ₁ + αθ₂ in float32 does not guarantee.
 * Tensors with a mask are multiplied by it: both ends carry zeros there already, and the product
 * makes "pruned weights stay exactly zero along the path" hold by construction.
 */
export function interpolate(a: TensorMap, b: TensorMap, alpha: number, masks: Masks = {}): TensorMap {
  return tf.tidy(() => {
    const out: TensorMap = {};
    for (const [name, ta] of Object.entries(a)) {
      const tb = b[name];
      if (!tb) throw new Error(`interpolate: "${name}" is in the first network and not in the second`);
      if (ta.shape.join('x') !== tb.shape.join('x')) throw new Error(`interpolate: "${name}" has shapes [${ta.shape}] and [${tb.shape}]`);
      const mixed = alpha <= 0.5 ? tf.add(ta, tf.mul(tf.sub(tb, ta), alpha)) : tf.add(tb, tf.mul(tf.sub(ta, tb), 1 - alpha));
      const m = masks[name];
      out[name] = m ? tf.mul(mixed, tf.tensor(Float32Array.from(m.data), m.shape, 'float32')) : mixed;
    }
    return out;
  });
}

/**
 * The barrier of a curve of values along the path (error or loss at each α, the ends first and
 * last): max over the path − the mean of the two ends. 0 when the path never rises above the
 * ends' mean (it cannot be negative: the ends are on the path, and max ≥ their mean).
 */
export function barrier(values: number[]): number {
  if (values.length < 2) throw new Error('barrier: need the values at both ends of the path');
  const ends = (values[0] + values[values.length - 1]) / 2;
  return Math.max(...values) - ends;
}
