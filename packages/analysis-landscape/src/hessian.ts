import { crossEntropyHvp, gaussian, type Hvp, type LossData, type Masks, type ModelSpec, rng, type TensorMap, tf } from '@lth/core';

// The exact product itself is core's (`crossEntropyHvp`): the `grasp` scorer uses it too.
export type { Hvp, LossData } from '@lth/core';

/** The weights a Hessian is taken over, with their masks: H is restricted to m ⊙ · ⊙ m. */
export interface Subspace {
  names: string[];
  shapes: Record<string, number[]>;
  masks: Masks;
}

const maskOf = (s: Subspace, name: string) => (s.masks[name] ? tf.tensor(s.masks[name]!.data, s.masks[name]!.shape, 'float32') : undefined);

/** v ⊙ m for every weight of the subspace. */
function project(s: Subspace, v: TensorMap): TensorMap {
  return tf.tidy(() => Object.fromEntries(s.names.map((n) => [n, maskOf(s, n) ? tf.mul(v[n]!, maskOf(s, n)!) : v[n]!.clone()])));
}

function dot(a: TensorMap, b: TensorMap): number {
  return tf.tidy(() => tf.addN(Object.keys(a).map((n) => tf.sum(tf.mul(a[n]!, b[n]!)))).dataSync()[0]!);
}

function scale(a: TensorMap, c: number): TensorMap {
  return tf.tidy(() => Object.fromEntries(Object.entries(a).map(([n, t]) => [n, tf.mul(t, c)])));
}

/** A seeded vector in the subspace: Gaussian or Rademacher (±1), zero on pruned weights. */
export function randomVector(s: Subspace, seed: number, kind: 'gaussian' | 'rademacher'): TensorMap {
  const uniform = rng(seed);
  const draw = kind === 'gaussian' ? gaussian(uniform) : () => (uniform() < 0.5 ? -1 : 1);
  const raw: TensorMap = {};
  for (const n of s.names) {
    const size = s.shapes[n]!.reduce((a, b) => a * b, 1);
    raw[n] = tf.tensor(Float32Array.from({ length: size }, draw), s.shapes[n]!, 'float32');
  }
  const out = project(s, raw);
  tf.dispose(Object.values(raw));
  return out;
}

/** The Hessian restricted to the subspace: (H (v ⊙ m)) ⊙ m. */
export function restrict(s: Subspace, hvp: Hvp): Hvp {
  return (v) => {
    const pv = project(s, v);
    const hv = hvp(pv);
    const out = project(s, hv);
    tf.dispose([...Object.values(pv), ...Object.values(hv)]);
    return out;
  };
}

export interface Eigen {
  value: number;
  iterations: number;
  converged: boolean;
}

/**
 * The `count` eigenvalues of largest magnitude of a symmetric operator, by power iteration with
 * deflation (each vector is kept orthogonal to the eigenvectors found before it, as PyHessian's
 * top-n does). Each stops when its Rayleigh quotient changes by less than `tolerance` (relative) or
 * after `iterations` products. `seed(k)` seeds the k-th start vector.
 */
export function topEigenvalues(hvp: Hvp, s: Subspace, seed: (k: number) => number, o: { count: number; iterations: number; tolerance: number }): Eigen[] {
  const found: TensorMap[] = [];
  const out: Eigen[] = [];
  // v minus its projections on the eigenvectors found so far (disposes v).
  const deflate = (v: TensorMap): TensorMap => {
    let w = v;
    for (const e of found) {
      const c = dot(w, e);
      const next = tf.tidy(() => Object.fromEntries(Object.entries(w).map(([n, t]) => [n, tf.sub(t, tf.mul(e[n]!, c))])));
      tf.dispose(Object.values(w));
      w = next;
    }
    return w;
  };
  try {
    for (let k = 0; k < o.count; k++) {
      let v = normalise(deflate(randomVector(s, seed(k), 'gaussian')));
      let eigen: Eigen = { value: NaN, iterations: o.iterations, converged: false };
      for (let i = 1; i <= o.iterations; i++) {
        const hv = hvp(v);
        const value = dot(v, hv);
        tf.dispose(Object.values(v));
        v = normalise(deflate(hv));
        const done = Number.isFinite(eigen.value) && Math.abs(value - eigen.value) <= o.tolerance * (Math.abs(eigen.value) + 1e-12);
        eigen = { value, iterations: i, converged: done };
        if (done) break;
      }
      found.push(v);
      out.push(eigen);
    }
    return out;
  } finally {
    for (const v of found) tf.dispose(Object.values(v));
  }
}

/** The eigenvalue of largest magnitude (power iteration; see `topEigenvalues`). */
export function topEigenvalue(hvp: Hvp, s: Subspace, seed: number, o: { iterations: number; tolerance: number }): Eigen {
  return topEigenvalues(hvp, s, () => seed, { ...o, count: 1 })[0]!;
}

/** v / ‖v‖ (disposes v). */
function normalise(v: TensorMap): TensorMap {
  const n = Math.sqrt(dot(v, v));
  const out = scale(v, n > 0 ? 1 / n : 0);
  tf.dispose(Object.values(v));
  return out;
}

/** Hutchinson's estimate of the trace: the mean of zᵀHz over Rademacher vectors z, and its standard error. */
export function hutchinsonTrace(hvp: Hvp, s: Subspace, seed: (sample: number) => number, samples: number): { value: number; standardError: number } {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    const z = randomVector(s, seed(i), 'rademacher');
    const hz = hvp(z);
    values.push(dot(z, hz));
    tf.dispose([...Object.values(z), ...Object.values(hz)]);
  }
  const mean = values.reduce((a, b) => a + b, 0) / samples;
  const variance = samples > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples - 1) : NaN;
  return { value: mean, standardError: Math.sqrt(variance / samples) };
}

const withWeights = (weights: TensorMap, names: string[], ws: tf.Tensor[]): TensorMap => ({ ...weights, ...Object.fromEntries(names.map((n, i) => [n, ws[i]!])) });

/** ∇_w of the mean softmax cross-entropy over `data` (inference mode). */
export function crossEntropyGradient(model: ModelSpec, weights: TensorMap, names: string[], data: LossData): TensorMap {
  return tf.tidy(() => {
    const parts = data.chunks.map(({ x, y }) =>
      tf.grads((...ws: tf.Tensor[]) => {
        const losses = tf.losses.softmaxCrossEntropy(y, model.forward(withWeights(weights, names, ws), x, false), undefined, undefined, tf.Reduction.NONE);
        return tf.div(tf.sum(losses), data.count) as tf.Scalar;
      })(names.map((n) => weights[n]!)),
    );
    return Object.fromEntries(names.map((n, i) => [n, tf.addN(parts.map((p) => p[i]!))]));
  });
}

/**
 * H v by a central difference of gradients, (∇L(w + εv) − ∇L(w − εv)) / 2ε, for models whose
 * backward pass tfjs cannot differentiate again (e.g. max-pooling with overlapping windows). Its step can cross ReLU kinks, so
 * it is an approximation; results say which product was used.
 */
export function finiteDifferenceHvp(model: ModelSpec, weights: TensorMap, names: string[], data: LossData, epsilon: number): Hvp {
  return (v) => {
    const norm = Math.sqrt(dot(v, v));
    const h = norm > 0 ? epsilon / norm : 0;
    const shifted = (sign: number) => tf.tidy(() => ({ ...weights, ...Object.fromEntries(names.map((n) => [n, tf.add(weights[n]!, tf.mul(v[n]!, sign * h))])) }));
    const plus = shifted(1);
    const minus = shifted(-1);
    const gp = crossEntropyGradient(model, plus, names, data);
    const gm = crossEntropyGradient(model, minus, names, data);
    const out = tf.tidy(() => Object.fromEntries(names.map((n) => [n, h > 0 ? tf.div(tf.sub(gp[n]!, gm[n]!), 2 * h) : tf.zerosLike(gp[n]!)])));
    tf.dispose([...names.map((n) => plus[n]!), ...names.map((n) => minus[n]!), ...Object.values(gp), ...Object.values(gm)]);
    return out;
  };
}

/**
 * The exact product where tfjs can differentiate the model's backward pass, else a finite
 * difference. The probe runs the exact product once on one example: when tfjs cannot differentiate
 * the backward pass again it throws, and leaves the tensors its tape saved for that one example
 * behind (tfjs does not free its tape on a failed gradient), so the probe keeps them small.
 */
export function modelHvp(model: ModelSpec, weights: TensorMap, names: string[], data: LossData, epsilon = 1e-3): { hvp: Hvp; exact: boolean } {
  const first = data.chunks[0]!;
  const one = tf.tidy(() => ({ x: tf.slice(first.x, 0, 1), y: tf.slice(first.y, 0, 1) }));
  const probe = tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.onesLike(weights[n]!)])));
  try {
    tf.dispose(Object.values(crossEntropyHvp(model, weights, names, { chunks: [one], count: 1 })(probe)));
    return { hvp: crossEntropyHvp(model, weights, names, data), exact: true };
  } catch (e) {
    // No second derivative of some op (e.g. overlapping max-pooling), or a backend without a kernel only the double backward uses.
    if (!/gradient function not found|Cannot compute gradient|not registered for backend/i.test((e as Error).message)) throw e;
    return { hvp: finiteDifferenceHvp(model, weights, names, data, epsilon), exact: false };
  } finally {
    tf.dispose([...Object.values(probe), one.x, one.y]);
  }
}
