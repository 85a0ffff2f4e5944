/**
 * The linear path between two networks, θ(α) = (1 − α)·θ₁ + α·θ₂, and the barrier along it
 * (Frankle, Dziugaite, Roy & Carbin 2020, "Linear Mode Connectivity and the Lottery Ticket
 * Hypothesis"). Pure functions: the branch (instability.ts) evaluates the path, these do the math.
 */
import { displace, type Masks, type TensorMap, tf } from '@lth/core';

/** `points` evenly spaced values from 0 to 1, both ends included (points ≥ 2). */
export function alphas(points: number): number[] {
  if (!Number.isInteger(points) || points < 2) throw new Error(`alphas: need an integer count ≥ 2, got ${points}`);
  // i / (points − 1), not a running sum: the ends are exactly 0 and 1 and no error accumulates.
  return Array.from({ length: points }, (_, i) => i / (points - 1));
}

/** One half of the path: its end θ and the direction toward the other end (θ(α) = θ + c·d). */
export interface PathSide {
  center: TensorMap;
  direction: TensorMap;
}

/**
 * The path θ(α) = (1 − α)·θ₁ + α·θ₂ as two sides, for every tensor of `a` (weights and buffers
 * alike; new tensors the caller owns): θ₁ + α(θ₂ − θ₁) for α ≤ ½ and θ₂ + (1 − α)(θ₁ − θ₂) above
 * (`pathPoint` says which side and coefficient). Computed from the nearer end so that the ends are
 * exactly θ₁ and θ₂ and two identical copies give exactly the same network at every α (barrier
 * exactly 0), which (1 − α)θ₁ + αθ₂ in float32 does not guarantee. Tensors with a mask are
 * multiplied by it, ends and directions: both ends carry zeros there already, and the products make
 * "pruned weights stay exactly zero along the path" hold by construction.
 */
export function pathSides(a: TensorMap, b: TensorMap, masks: Masks = {}): [PathSide, PathSide] {
  const sides = tf.tidy(() => {
    const ends: [TensorMap, TensorMap] = [{}, {}];
    for (const [name, ta] of Object.entries(a)) {
      const tb = b[name];
      if (!tb) throw new Error(`interpolate: "${name}" is in the first network and not in the second`);
      if (ta.shape.join('x') !== tb.shape.join('x')) throw new Error(`interpolate: "${name}" has shapes [${ta.shape}] and [${tb.shape}]`);
      const m = masks[name];
      const mask = m && tf.tensor(Float32Array.from(m.data), m.shape, 'float32');
      ends[0][name] = mask ? tf.mul(ta, mask) : tf.clone(ta);
      ends[1][name] = mask ? tf.mul(tb, mask) : tf.clone(tb);
    }
    const toward = (from: TensorMap, to: TensorMap): TensorMap => Object.fromEntries(Object.keys(from).map((n) => [n, tf.sub(to[n]!, from[n]!)]));
    return [
      { center: ends[0], direction: toward(ends[0], ends[1]) },
      { center: ends[1], direction: toward(ends[1], ends[0]) },
    ];
  });
  return sides as [PathSide, PathSide];
}

/** Which side of `pathSides` holds θ(α), and its coefficient there. */
export function pathPoint(alpha: number): { side: 0 | 1; coefficient: number } {
  return alpha <= 0.5 ? { side: 0, coefficient: alpha } : { side: 1, coefficient: 1 - alpha };
}

/** θ(α) as new tensors the caller owns (see `pathSides`). */
export function interpolate(a: TensorMap, b: TensorMap, alpha: number, masks: Masks = {}): TensorMap {
  const sides = pathSides(a, b, masks);
  const { side, coefficient } = pathPoint(alpha);
  try {
    return displace(sides[side].center, [sides[side].direction], [coefficient]);
  } finally {
    tf.dispose(sides.flatMap((s) => [...Object.values(s.center), ...Object.values(s.direction)]));
  }
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
