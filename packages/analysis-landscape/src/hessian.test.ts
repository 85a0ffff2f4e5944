import { type Batch, crossEntropyHvp, type ModelSpec, type TensorMap, tf } from '@lth/core';
import { checkBranch, fakeModel, seededRandom } from '@lth/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { finiteDifferenceHvp, hutchinsonTrace, type Hvp, modelHvp, restrict, type Subspace, topEigenvalue, topEigenvalues } from './hessian.js';
import { sharpness } from './sharpness.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const random = seededRandom(7);
const normals = (n: number) => Array.from({ length: n }, () => random() * 2 - 1);
const host = (m: TensorMap) => Object.fromEntries(Object.entries(m).map(([n, t]) => [n, Array.from(t.dataSync())]));
const relErr = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0)) / Math.sqrt(b.reduce((s, x) => s + x * x, 0));

/** Power iteration on a dense symmetric matrix in float64: the reference eigenvalue. */
function denseTopEigenvalue(h: number[][]): number {
  let v = h.map((_, i) => 1 + i / 7);
  let value = 0;
  for (let it = 0; it < 5000; it++) {
    const hv = h.map((row) => row.reduce((s, x, j) => s + x * v[j]!, 0));
    value = hv.reduce((s, x, i) => s + x * v[i]!, 0) / v.reduce((s, x) => s + x * x, 0);
    const n = Math.sqrt(hv.reduce((s, x) => s + x * x, 0));
    v = hv.map((x) => x / n);
  }
  return value;
}

describe('power iteration and Hutchinson on a quadratic (H = diag(a))', () => {
  const a = [3, -1, 7, 0.5, 2, 5];
  const s: Subspace = { names: ['w'], shapes: { w: [2, 3] }, masks: { w: { shape: [2, 3], data: Uint8Array.from([1, 1, 0, 1, 1, 1]) } } };
  const diag: Hvp = (v) => tf.tidy(() => ({ w: tf.mul(v.w!, tf.tensor(a, [2, 3])) }));

  it('finds the largest eigenvalue among the surviving weights (7 is pruned: 5)', () => {
    const top = topEigenvalue(restrict(s, diag), s, 1, { iterations: 500, tolerance: 1e-9 });
    expect(top.value).toBeCloseTo(5, 4);
    expect(top.converged).toBe(true);
    const all = { ...s, masks: {} };
    const dense = topEigenvalue(restrict(all, diag), all, 1, { iterations: 500, tolerance: 1e-9 });
    expect(dense.value).toBeCloseTo(7, 4);
  });

  it('finds the largest eigenvalues in order by deflation (surviving: 5, 3, 2, -1, 0.5 by magnitude)', () => {
    const eigen = topEigenvalues(restrict(s, diag), s, (k) => k + 1, { count: 3, iterations: 2000, tolerance: 1e-10 });
    expect(eigen.map((e) => e.value)).toEqual([expect.closeTo(5, 4), expect.closeTo(3, 4), expect.closeTo(2, 4)]);
    expect(eigen.every((e) => e.converged)).toBe(true);
  });

  it('Hutchinson’s trace of a diagonal Hessian is exact: the sum over surviving weights', () => {
    const before = tf.memory().numTensors;
    const trace = hutchinsonTrace(restrict(s, diag), s, (i) => i + 1, 4);
    expect(trace.value).toBeCloseTo(3 - 1 + 0.5 + 2 + 5, 5);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('exact Hessian-vector products', () => {
  it('softmax regression: equal to the analytic Hessian Σ x xᵀ ⊗ (diag p − p pᵀ) / N; λmax equals the dense one', () => {
    const [n, d, c] = [5, 3, 4];
    const xs = Array.from({ length: n }, () => normals(d));
    const labels = [0, 3, 1, 1, 2];
    const model: ModelSpec = {
      weightNames: ['w'],
      prunable: ['w'],
      layerOf: { w: 'linear' },
      outputLayer: 'linear',
      shapes: { w: [d, c] },
      init: () => ({ w: tf.tensor(normals(d * c), [d, c]) }),
      forward: (weights, x) => tf.matMul(x as tf.Tensor2D, weights.w as tf.Tensor2D),
    };
    const w = normals(d * c);
    const weights = { w: tf.tensor(w, [d, c]) };
    const batch: Batch = { x: tf.tensor(xs.flat(), [n, d]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), c).toFloat() };
    // Analytic Hessian in float64, index (i, k) = i·c + k (row-major [d, c]).
    const h = Array.from({ length: d * c }, () => new Array<number>(d * c).fill(0));
    for (const x of xs) {
      const z = Array.from({ length: c }, (_, k) => x.reduce((s, xi, i) => s + xi * w[i * c + k]!, 0));
      const e = z.map((zk) => Math.exp(zk - Math.max(...z)));
      const p = e.map((ek) => ek / e.reduce((s, y) => s + y, 0));
      for (let i = 0; i < d; i++) for (let k = 0; k < c; k++) for (let j = 0; j < d; j++) for (let l = 0; l < c; l++) {
        h[i * c + k]![j * c + l]! += (x[i]! * x[j]! * ((k === l ? p[k]! : 0) - p[k]! * p[l]!)) / n;
      }
    }
    const hvp = crossEntropyHvp(model, weights, ['w'], { chunks: [batch], count: n });
    const v = normals(d * c);
    const ours = host(tf.tidy(() => hvp({ w: tf.tensor(v, [d, c]) }))).w!;
    expect(relErr(ours, h.map((row) => row.reduce((s, x, j) => s + x * v[j]!, 0)))).toBeLessThan(1e-5);
    // Restricted to a mask: the top eigenvalue of the masked block.
    const mask = Uint8Array.from({ length: d * c }, (_, i) => (i % 5 === 2 ? 0 : 1));
    const s: Subspace = { names: ['w'], shapes: model.shapes, masks: { w: { shape: [d, c], data: mask } } };
    const top = topEigenvalue(restrict(s, hvp), s, 3, { iterations: 1000, tolerance: 1e-7 });
    const block = h.map((row, i) => row.map((x, j) => (mask[i] && mask[j] ? x : 0)));
    expect(top.value / denseTopEigenvalue(block)).toBeCloseTo(1, 4);
    tf.dispose([weights.w, batch.x, batch.y]);
  });

  it('ReLU MLP: equal to a float64 central difference of the analytic gradient that crosses no kink', () => {
    const model = fakeModel(); // 6 → 5 (relu) → 3, with biases
    const weights = model.init(11);
    const n = 8;
    const xs = Array.from({ length: n }, () => normals(6).map((x) => 2 * x));
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    const batch: Batch = { x: tf.tensor(xs.flat(), [n, 6]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat() };
    const w = host(weights);
    // Mean cross-entropy gradient of the fake model in float64, and its ReLU pattern.
    const gradient = (p: Record<string, number[]>) => {
      const g: Record<string, number[]> = Object.fromEntries(Object.entries(p).map(([k, a]) => [k, a.map(() => 0)]));
      const pattern: boolean[] = [];
      xs.forEach((x, s) => {
        const z1 = Array.from({ length: 5 }, (_, j) => p['dense1/bias']![j]! + x.reduce((a, xi, i) => a + xi * p['dense1/kernel']![i * 5 + j]!, 0));
        const hid = z1.map((z) => Math.max(z, 0));
        pattern.push(...z1.map((z) => z > 0));
        const z2 = Array.from({ length: 3 }, (_, k) => p['dense2/bias']![k]! + hid.reduce((a, hj, j) => a + hj * p['dense2/kernel']![j * 3 + k]!, 0));
        const e = z2.map((z) => Math.exp(z - Math.max(...z2)));
        const r = e.map((ek, k) => (ek / e.reduce((a, b) => a + b, 0) - (k === labels[s] ? 1 : 0)) / n);
        const dz1 = z1.map((z, j) => (z > 0 ? r.reduce((a, rk, k) => a + rk * p['dense2/kernel']![j * 3 + k]!, 0) : 0));
        r.forEach((rk, k) => {
          g['dense2/bias']![k]! += rk;
          hid.forEach((hj, j) => (g['dense2/kernel']![j * 3 + k]! += hj * rk));
        });
        dz1.forEach((dj, j) => {
          g['dense1/bias']![j]! += dj;
          x.forEach((xi, i) => (g['dense1/kernel']![i * 5 + j]! += xi * dj));
        });
      });
      return { g, pattern: pattern.join() };
    };
    const v = Object.fromEntries(model.weightNames.map((k) => [k, normals(w[k]!.length)]));
    const eps = 1e-6;
    const at = (sign: number) => gradient(Object.fromEntries(model.weightNames.map((k) => [k, w[k]!.map((x, i) => x + sign * eps * v[k]![i]!)])));
    const [plus, minus] = [at(1), at(-1)];
    expect(plus.pattern).toBe(minus.pattern);
    const reference = model.weightNames.flatMap((k) => plus.g[k]!.map((x, i) => (x - minus.g[k]![i]!) / (2 * eps)));
    const { hvp, exact } = modelHvp(model, weights, model.weightNames, { chunks: [batch], count: n });
    expect(exact).toBe(true);
    const out = host(tf.tidy(() => hvp(Object.fromEntries(model.weightNames.map((k) => [k, tf.tensor(v[k]!, model.shapes[k]!)])))));
    expect(relErr(model.weightNames.flatMap((k) => out[k]!), reference)).toBeLessThan(1e-3);
    tf.dispose([...Object.values(weights), batch.x, batch.y]);
  });

  it('differentiates a convolution’s backward pass exactly (core registers conv2d’s second derivative), in agreement with the finite difference', () => {
    const model: ModelSpec = {
      weightNames: ['conv'],
      prunable: ['conv'],
      layerOf: { conv: 'conv' },
      outputLayer: 'conv',
      shapes: { conv: [3, 3, 1, 2] },
      init: () => ({ conv: tf.randomNormal([3, 3, 1, 2], 0, 1, 'float32', 1) }),
      forward: (w, x) => tf.mean(tf.conv2d(x as tf.Tensor4D, w.conv as tf.Tensor4D, 1, 'same'), [1, 2]),
    };
    const weights = model.init(0);
    const batch: Batch = { x: tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 2), y: tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2).toFloat() };
    const data = { chunks: [batch], count: 2 };
    const { hvp, exact } = modelHvp(model, weights, ['conv'], data);
    expect(exact).toBe(true);
    const [u, v] = [3, 4].map((seed) => ({ conv: tf.randomNormal([3, 3, 1, 2], 0, 1, 'float32', seed) }));
    const dot = (a: TensorMap, b: TensorMap) => tf.tidy(() => tf.sum(tf.mul(a.conv!, b.conv!)).dataSync()[0]!);
    const [hu, hv] = [hvp(u!), hvp(v!)];
    expect(Math.abs(dot(u!, hv) - dot(v!, hu))).toBeLessThan(1e-5 * Math.abs(dot(u!, hv)));
    // The model is smooth (no kinks), so the difference approximates the same product.
    const fd = finiteDifferenceHvp(model, weights, ['conv'], data, 1e-3)(v!);
    expect(relErr(host(hv).conv!, host(fd).conv!)).toBeLessThan(1e-2);
    tf.dispose([u!.conv!, v!.conv!, hu.conv!, hv.conv!, fd.conv!]);
    tf.dispose([weights.conv!, batch.x, batch.y]);
  });

  it('falls back to a finite difference where tfjs cannot differentiate the backward pass (max-pooling with overlapping windows)', () => {
    const model: ModelSpec = {
      weightNames: ['conv'],
      prunable: ['conv'],
      layerOf: { conv: 'conv' },
      outputLayer: 'conv',
      shapes: { conv: [3, 3, 1, 2] },
      init: () => ({ conv: tf.randomNormal([3, 3, 1, 2], 0, 1, 'float32', 1) }),
      forward: (w, x) => tf.mean(tf.maxPool(tf.conv2d(x as tf.Tensor4D, w.conv as tf.Tensor4D, 1, 'same'), 3, 1, 'same'), [1, 2]),
    };
    const weights = model.init(0);
    const batch: Batch = { x: tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 2), y: tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2).toFloat() };
    const { hvp, exact } = modelHvp(model, weights, ['conv'], { chunks: [batch], count: 2 });
    expect(exact).toBe(false);
    // The difference is still a Hessian-vector product: symmetric, uᵀ(Hv) = vᵀ(Hu).
    const [u, v] = [3, 4].map((seed) => ({ conv: tf.randomNormal([3, 3, 1, 2], 0, 1, 'float32', seed) }));
    const dot = (a: TensorMap, b: TensorMap) => tf.tidy(() => tf.sum(tf.mul(a.conv!, b.conv!)).dataSync()[0]!);
    const [hu, hv] = [hvp(u!), hvp(v!)];
    expect(dot(u!, hv)).toBeCloseTo(dot(v!, hu), 2);
    tf.dispose([u!.conv!, v!.conv!, hu.conv!, hv.conv!]);
    tf.dispose([weights.conv!, batch.x, batch.y]);
  });
});

describe('conformance', () => {
  it('sharpness passes checkBranch', async () => {
    await checkBranch(sharpness, { options: { examples: 40, eigenvalues: 2, iterations: 5, traceSamples: 2 } });
  }, 120_000);
});
