import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { NativeBackend } from './backend.js';
import { LthAdamUpdate } from './kernels/LthAdamUpdate.js';
import { LthSgdUpdate } from './kernels/LthSgdUpdate.js';
import { DEFAULT_MAX_DENSITY, patternFromMask, sparseOptionsFromEnv } from './sparse.js';
import { maxRelDiff, setupNative, skipReason, values } from './test-utils/parity.js';

describe('patternFromMask', () => {
  it('lists the kept entries of a hand-written mask in row and column order', () => {
    // 1 0 1 0
    // 0 0 0 0   (an empty row)
    // 0 1 1 0   (and column 3 is empty)
    const p = patternFromMask([1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0], 3, 4)!;
    expect(p.nnz).toBe(4);
    expect(p.density).toBe(4 / 12);
    expect(Array.from(p.rowPtr)).toEqual([0, 2, 2, 4]);
    expect(Array.from(p.colIdx)).toEqual([0, 2, 1, 2]);
    expect(Array.from(p.flat)).toEqual([0, 2, 9, 10]);
    expect(Array.from(p.colPtr)).toEqual([0, 1, 2, 4, 4]);
    expect(Array.from(p.rowIdx)).toEqual([0, 2, 0, 2]);
    // CSR entry p sits at CSC position cscOf[p]: (0,0)->0, (0,2)->2, (2,1)->1, (2,2)->3.
    expect(Array.from(p.cscOf)).toEqual([0, 2, 1, 3]);
  });

  it('refuses masks that are not 0/1 (the dense kernels multiply by them)', () => {
    expect(patternFromMask([1, 0.5, 0, 1], 2, 2)).toBeNull();
  });

  it('reads LTH_SPARSE_KERNELS and LTH_SPARSE_MAX_DENSITY', () => {
    expect(sparseOptionsFromEnv({})).toEqual({ enabled: false, maxDensity: DEFAULT_MAX_DENSITY });
    expect(sparseOptionsFromEnv({ LTH_SPARSE_KERNELS: '1' }).enabled).toBe(true);
    expect(sparseOptionsFromEnv({ LTH_SPARSE_KERNELS: 'on', LTH_SPARSE_MAX_DENSITY: '0.5' })).toEqual({ enabled: true, maxDensity: 0.5 });
    expect(sparseOptionsFromEnv({ LTH_SPARSE_KERNELS: '0' }).enabled).toBe(false);
    expect(() => sparseOptionsFromEnv({ LTH_SPARSE_MAX_DENSITY: 'dense' })).toThrow(/LTH_SPARSE_MAX_DENSITY/);
  });
});

const ADAM = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-3 };
const SGD = { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 };

/** A 0/1 mask keeping about `keep` of [rows, cols], with row 1 and column 2 fully pruned. */
function maskOf(rows: number, cols: number, keep: number, seed: number): Float32Array {
  return Float32Array.from(values(rows * cols, seed), (x, i) => {
    const [r, c] = [Math.floor(i / cols), i % cols];
    return r === 1 || c === 2 ? 0 : x < 2 * keep - 1 ? 1 : 0;
  });
}

interface RunResult {
  weights: Float32Array[];
  slots: Float32Array[];
  losses: number[];
}

/**
 * `steps` masked optimizer steps of a small MLP through the fused kernels, as core runs them (the
 * mask always passed, all ones for unpruned weights). Layer sizes, batch and masks are chosen to
 * hit the awkward cases: a batch that is not a multiple of 8 (or is above one 64-wide block),
 * empty rows and columns, a fully pruned layer, a layer above the density threshold.
 */
function train(o: { steps: number; batch: number; layers: number[]; keep: number[]; optimizer: 'adam' | 'sgd'; readGrads?: boolean }): RunResult {
  const params: tf.Variable[] = [];
  const masks: tf.Tensor[] = [];
  const slots: tf.Variable[][] = [];
  tf.tidy(() => {
    for (let l = 0; l < o.layers.length - 1; l++) {
      const [fanIn, fanOut] = [o.layers[l]!, o.layers[l + 1]!];
      const mask = maskOf(fanIn, fanOut, o.keep[l]!, 50 + l);
      const w = Float32Array.from(values(fanIn * fanOut, l + 1), (x, i) => (x * mask[i]!) / Math.sqrt(fanIn));
      params.push(tf.variable(tf.tensor2d(w, [fanIn, fanOut])), tf.variable(tf.zeros([fanOut])));
      masks.push(tf.keep(tf.tensor2d(mask, [fanIn, fanOut])), tf.keep(tf.ones([fanOut])));
    }
    for (const p of params) slots.push([tf.variable(tf.zerosLike(p), false), tf.variable(tf.zerosLike(p), false)]);
  });
  const losses: number[] = [];
  for (let step = 1; step <= o.steps; step++) {
    tf.tidy(() => {
      const data = values(o.batch * o.layers[0]!, 1000 + step);
      const x = tf.tensor2d(data, [o.batch, o.layers[0]!]);
      const classes = o.layers[o.layers.length - 1]!;
      const labels = tf.oneHot(tf.tensor1d(Array.from({ length: o.batch }, (_, i) => (i * 7 + step) % classes), 'int32'), classes);
      const { value, grads } = tf.variableGrads(() => {
        let h: tf.Tensor = x;
        for (let l = 0; l < params.length; l += 2) {
          h = tf.add(tf.matMul(h, params[l]!), params[l + 1]!);
          if (l + 2 < params.length) h = tf.relu(h);
        }
        return tf.losses.softmaxCrossEntropy(labels, h) as tf.Scalar;
      }, params);
      losses.push(value.dataSync()[0]!);
      // A scorer reading the unmasked gradients (core's onStep) gets the full product.
      if (o.readGrads) for (const g of Object.values(grads)) g.dataSync();
      params.forEach((p, i) => {
        const g = grads[p.name]!;
        const [s0, s1] = slots[i]!;
        if (o.optimizer === 'adam') {
          const [w2, m2, v2] = tf.engine().runKernel(LthAdamUpdate,
            { weight: p, grad: g, m: s0!, v: s1!, mask: masks[i]! }, { ...ADAM, step }) as tf.Tensor[];
          p.assign(w2!); s0!.assign(m2!); s1!.assign(v2!);
        } else {
          const [w2, v2] = tf.engine().runKernel(LthSgdUpdate,
            { weight: p, grad: g, velocity: s0!, mask: masks[i]! }, SGD) as tf.Tensor[];
          p.assign(w2!); s0!.assign(v2!);
        }
      });
    });
  }
  const out = {
    weights: params.map((p) => Float32Array.from(p.dataSync())),
    slots: slots.flatMap(([a, b]) => (o.optimizer === 'adam' ? [a!, b!] : [a!])).map((s) => Float32Array.from(s.dataSync())),
    losses,
  };
  tf.dispose([...params, ...masks, ...slots.flat()]);
  return out;
}

describe.skipIf(skipReason !== undefined)('sparse kernels for pruned dense layers', () => {
  let backend: NativeBackend;
  beforeAll(async () => {
    setupNative();
    await tf.setBackend('native');
    backend = tf.backend() as NativeBackend;
  });
  afterEach(() => backend.sparse.configure({ enabled: true, maxDensity: DEFAULT_MAX_DENSITY }));
  afterAll(() => void tf.setBackend('cpu'));

  /** The same run with the sparse kernels off (today's dense-masked path) and on. */
  function bothWays(o: Parameters<typeof train>[0]): { dense: RunResult; sparse: RunResult } {
    backend.sparse.configure({ enabled: false });
    const dense = train(o);
    backend.sparse.configure({ enabled: true, maxDensity: 0.5 });
    backend.sparse.resetUsage();
    const before = tf.memory().numTensors;
    const sparse = train(o);
    expect(tf.memory().numTensors).toBe(before);
    return { dense, sparse };
  }

  function expectSameTraining(dense: RunResult, sparse: RunResult, tol: number): void {
    expect(maxRelDiff(sparse.weights, dense.weights)).toBeLessThan(tol);
    expect(maxRelDiff(sparse.slots, dense.slots)).toBeLessThan(tol);
    sparse.losses.forEach((l, i) => expect(Math.abs(l - dense.losses[i]!)).toBeLessThan(tol));
    // Pruned positions are exactly +0 in both, weights and optimizer slots alike.
    [...dense.weights, ...dense.slots].forEach((d, k) => {
      const s = [...sparse.weights, ...sparse.slots][k]!;
      for (let i = 0; i < d.length; i++) if (d[i] === 0 && Object.is(d[i], 0)) expect(Object.is(s[i], 0)).toBe(true);
    });
  }

  it('Adam: sparse training equals dense-masked training (forward, both gradients, update)', () => {
    // Layer 1 at 20 % (sparse), layer 2 at 30 % (sparse), output at 90 % (above the threshold: dense).
    const o = { steps: 12, batch: 13, layers: [37, 29, 23, 6], keep: [0.2, 0.3, 0.9], optimizer: 'adam' as const };
    const { dense, sparse } = bothWays(o);
    expectSameTraining(dense, sparse, 1e-5);
    // The sparse products ran: 11 steps after the first (dense) one, on the two sparse layers.
    expect(backend.sparse.counts.forward).toBeGreaterThanOrEqual(22);
    expect(backend.sparse.counts.inputGrad).toBeGreaterThanOrEqual(11);
    expect(backend.sparse.counts.weightGrad).toBeGreaterThanOrEqual(22);
    expect(backend.sparse.counts.gradientReads).toBe(0);
    const paths = backend.sparse.usage().filter((u) => u.shape.length === 2).map((u) => `${u.shape.join('x')} ${u.path}`);
    expect(paths.sort()).toEqual(['23x6 dense', '29x23 sparse', '37x29 sparse']);
  });

  it('SGD with momentum, a batch of two 64-wide blocks, and a fully pruned layer', () => {
    const o = { steps: 6, batch: 70, layers: [21, 17, 9, 5], keep: [0.15, 0, 0.4], optimizer: 'sgd' as const };
    const { dense, sparse } = bothWays(o);
    expectSameTraining(dense, sparse, 1e-5);
    expect(backend.sparse.counts.forward).toBeGreaterThan(0);
  });

  it('a gradient read by someone else than the update is the full dense product', () => {
    const o = { steps: 5, batch: 11, layers: [19, 13, 4], keep: [0.25, 0.3], optimizer: 'adam' as const, readGrads: true };
    const { dense, sparse } = bothWays(o);
    expectSameTraining(dense, sparse, 1e-5);
    expect(backend.sparse.counts.gradientReads).toBeGreaterThan(0);
  });

  it('x·W, dy·Wᵀ and xᵀ·dy with a tracked weight equal the dense products, pruned positions included', () => {
    const [batch, k, n] = [9, 33, 21];
    const mask = maskOf(k, n, 0.1, 7);
    const wData = Float32Array.from(values(k * n, 3), (x, i) => x * mask[i]!);
    const run = (enabled: boolean) => {
      backend.sparse.configure({ enabled });
      let out: Float32Array[] = [];
      tf.tidy(() => {
        const maskT = tf.tensor2d(mask, [k, n]);
        // An update with lr 0 leaves the weight as it is, and tracks it when sparse.
        const zero = tf.zeros([k, n]);
        const [w] = tf.engine().runKernel(LthSgdUpdate, { weight: tf.tensor2d(wData, [k, n]), grad: zero, velocity: zero, mask: maskT },
          { lr: 0, momentum: 0, weightDecay: 0 }) as tf.Tensor[];
        const x = tf.tensor2d(values(batch * k, 5), [batch, k]);
        const r = tf.tensor2d(values(batch * n, 6), [batch, n]);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b), r)))([x, w!]);
        out = [tf.matMul(x, w!), dx!, dw!].map((t) => Float32Array.from(t.dataSync()));
      });
      return out;
    };
    const dense = run(false);
    backend.sparse.resetUsage();
    const sparse = run(true);
    expect(backend.sparse.counts.forward).toBe(2);
    expect(backend.sparse.counts.inputGrad).toBe(1);
    expect(backend.sparse.counts.gradientReads).toBe(1);
    expect(maxRelDiff(sparse, dense)).toBeLessThan(1e-5);
  });

  it('a reshape of a compact weight or of a transposed activation is another matrix: dense path, same values', () => {
    const [k, n] = [12, 20];
    const mask = maskOf(k, n, 0.2, 11);
    const run = (enabled: boolean) => {
      backend.sparse.configure({ enabled });
      let out: Float32Array[] = [];
      tf.tidy(() => {
        const maskT = tf.tensor2d(mask, [k, n]);
        const zero = tf.zeros([k, n]);
        const w0 = tf.tensor2d(Float32Array.from(values(k * n, 12), (x, i) => x * mask[i]!), [k, n]);
        const [w] = tf.engine().runKernel(LthSgdUpdate, { weight: w0, grad: zero, velocity: zero, mask: maskT },
          { lr: 0, momentum: 0, weightDecay: 0 }) as tf.Tensor[];
        const x = tf.tensor2d(values(6 * k, 13), [6, k]);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
          const y = tf.matMul(a, b); // sparse: a [6, 12] · w [12, 20]
          // The same data as other matrices: x as [3, 24], w as [20, 12] (not wᵀ).
          const z = tf.matMul(tf.reshape(a, [3, 2 * k]), tf.reshape(tf.concat([b, b], 0), [2 * k, n]));
          const u = tf.matMul(tf.reshape(b, [n, k]), tf.transpose(a));
          return tf.add(tf.add(tf.sum(tf.square(y)), tf.sum(z)), tf.sum(u));
        })([x, w!]);
        out = [dx!, dw!, tf.matMul(tf.ones([2, n]), tf.reshape(w!, [n, k]))].map((t) => Float32Array.from(t.dataSync()));
      });
      return out;
    };
    const dense = run(false);
    const sparse = run(true);
    expect(maxRelDiff(sparse, dense)).toBeLessThan(1e-5);
  });

  it('the products split over threads give the same bits as on one thread', () => {
    // setThreads(2, 0): every kernel may use 2 threads whatever its size (the sparse products
    // split from ~16M entry-multiply-adds by default, far above these shapes).
    const [batch, k, n] = [70, 67, 45];
    const mask = maskOf(k, n, 0.2, 8);
    const run = () => {
      let out: Float32Array[] = [];
      tf.tidy(() => {
        const maskT = tf.tensor2d(mask, [k, n]);
        const zero = tf.zeros([k, n]);
        const w0 = tf.tensor2d(Float32Array.from(values(k * n, 4), (x, i) => x * mask[i]!), [k, n]);
        const [w] = tf.engine().runKernel(LthSgdUpdate, { weight: w0, grad: zero, velocity: zero, mask: maskT },
          { lr: 0, momentum: 0, weightDecay: 0 }) as tf.Tensor[];
        const x = tf.tensor2d(values(batch * k, 9), [batch, k]);
        const r = tf.tensor2d(values(batch * n, 10), [batch, n]);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b), r)))([x, w!]);
        // dw is read through an update (its kept values), not densely: that is the sampled product.
        const [w2] = tf.engine().runKernel(LthSgdUpdate, { weight: w!, grad: dw!, velocity: zero, mask: maskT },
          { lr: 1, momentum: 0, weightDecay: 0 }) as tf.Tensor[];
        out = [tf.matMul(x, w!), dx!, w2!].map((t) => Float32Array.from(t.dataSync()));
      });
      return out;
    };
    backend.sparse.configure({ enabled: true });
    const one = run();
    const max = backend.addon.setThreads();
    backend.addon.setThreads(2, 0);
    try {
      const two = run();
      two.forEach((t, i) => expect(Buffer.from(t.buffer).equals(Buffer.from(one[i]!.buffer))).toBe(true));
    } finally {
      backend.addon.setThreads(max, 64 * 1024 * 1024);
    }
  });

  it('1,000 sparse Adam steps: pruned weights and their moments stay exactly zero', () => {
    backend.sparse.configure({ enabled: true });
    const r = train({ steps: 1000, batch: 4, layers: [12, 10, 3], keep: [0.2, 0.25], optimizer: 'adam' });
    for (let l = 0; l < 2; l++) {
      const mask = maskOf([12, 10][l]!, [10, 3][l]!, [0.2, 0.25][l]!, 50 + l);
      for (const t of [r.weights[2 * l]!, r.slots[4 * l]!, r.slots[4 * l + 1]!]) {
        mask.forEach((keep, i) => { if (!keep) expect(Object.is(t[i], 0)).toBe(true); });
      }
    }
    expect(r.losses.every(Number.isFinite)).toBe(true);
  });

  it('LTH_SPARSE_KERNELS=0 (enabled: false) runs no sparse kernel', () => {
    backend.sparse.configure({ enabled: false });
    backend.sparse.resetUsage();
    train({ steps: 3, batch: 8, layers: [16, 8, 4], keep: [0.1, 0.2], optimizer: 'adam' });
    expect(backend.sparse.counts).toEqual({ forward: 0, inputGrad: 0, weightGrad: 0, gradientReads: 0, outputReads: 0 });
    expect(backend.sparse.usage().every((u) => u.path === 'dense')).toBe(true);
  });
});
