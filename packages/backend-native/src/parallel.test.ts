import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LthAdamUpdate } from './kernels/LthAdamUpdate.js';
import { LthSgdUpdate } from './kernels/LthSgdUpdate.js';
import { parity, rand, setupNative, skipReason, values } from './test-utils/parity.js';

// Element-wise ops, reductions, pooling and the fused optimizers split work over threads from
// 128K floats on (native/common.h ThreadsForElements): these cases are above that, at Conv-2's
// shapes, and check the multi-threaded paths against cpu (or the single-threaded path).
describe.skipIf(skipReason !== undefined)('multi-threaded native kernels (large tensors) match cpu', () => {
  beforeAll(setupNative);
  afterAll(() => void tf.setBackend('cpu'));

  const act = [8, 32, 32, 64]; // 524,288 floats

  it('bias add (broadcast), same-shape mul/sub, relu and its gradient', () => {
    const f = (x: tf.Tensor, b: tf.Tensor, y: tf.Tensor) => [tf.add(x, b), tf.mul(x, y), tf.sub(y, x), tf.relu(x)];
    expect(parity([rand(act, 1), rand([64], 2), rand(act, 3)], f)).toBe(0);
    // Broadcast along a middle axis, and a rank-5 odometer split over threads.
    const g = (x: tf.Tensor, b: tf.Tensor) => tf.mul(x, b);
    expect(parity([rand([8, 32, 32, 64], 4), rand([32, 1, 64], 5)], g)).toBe(0);
    expect(parity([rand([3, 5, 7, 33, 61], 6), rand([5, 1, 33, 1], 7)], g)).toBe(0);
    const grad = (x: tf.Tensor, b: tf.Tensor) =>
      tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.add(a, c)), a)))([x, b]);
    expect(parity([rand(act, 8), rand([64], 9)], grad)).toBeLessThan(1e-5);
  });

  it('thin multi-threaded GEMMs (oneDNN sgemm): forward and both gradients, all transposes', () => {
    // 60x8192x160 = 79M multiply-adds: above the one-thread limit, smallest dimension <= 128.
    const [m, k, n] = [60, 8192, 160];
    const tol = 2e-5 * Math.sqrt(k);
    expect(parity([rand([m, k], 31), rand([k, n], 32)], (a, b) => tf.matMul(a, b))).toBeLessThan(tol);
    expect(parity([rand([k, m], 33), rand([n, k], 34)], (a, b) => tf.matMul(a, b, true, true))).toBeLessThan(tol);
    const g = (a: tf.Tensor, b: tf.Tensor) => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), tf.matMul(x, y))))([a, b]);
    expect(parity([rand([m, k], 35), rand([k, n], 36)], g)).toBeLessThan(10 * tol);
  });

  it('unary ops', () => {
    const f = (x: tf.Tensor) => [tf.exp(x), tf.neg(x), tf.square(x), tf.sigmoid(x), tf.abs(x), tf.step(x)];
    expect(parity([rand(act, 11)], f)).toBeLessThan(1e-6);
  });

  it('sum and mean over the batch and spatial axes (a conv bias gradient)', () => {
    const f = (x: tf.Tensor) => [tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2]), tf.sum(x, 0), tf.max(x, [0, 1, 2])];
    expect(parity([rand(act, 12)], f)).toBeLessThan(1e-6);
  });

  it('maxPool 2x2 and its gradient, with ties', () => {
    const x = rand(act, 13);
    x.data.forEach((v, i) => { x.data[i] = Math.round(v * 2) / 2; });
    const f = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid');
    expect(parity([x], f)).toBe(0);
    const g = (t: tf.Tensor) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), tf.reshape(tf.range(1, 1 + f(a).size), f(a).shape))))(t);
    expect(parity([x], g)).toBe(0);
  });

  it('LthAdamUpdate and LthSgdUpdate: the threaded update equals the one-thread update slice by slice', async () => {
    await tf.setBackend('native');
    const n = 1_100_001; // the optimizers split from 1M floats
    const slice = 250_000; // below the thresholds: one thread
    // Inputs generated once; outputs compared as bytes (vitest's toEqual walks 250K-element
    // arrays one element at a time: it made this test take a minute on a busy machine).
    const [w, g, m, v] = [1, 2, 3, 4].map((seed) => values(n, seed));
    const vAbs = v!.map(Math.abs);
    const mask = Float32Array.from(values(n, 20), (x) => (x > -0.4 ? 1 : 0));
    const adam = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-3, step: 3 };
    const sgd = { lr: 0.01, momentum: 0.9, weightDecay: 1e-3 };
    const run = (lo: number, hi: number) => {
      let out: Float32Array[] = [];
      // Assigned, not returned: tf.tidy would walk returned arrays element by element.
      tf.tidy(() => {
        const t = (a: Float32Array) => tf.tensor1d(a.subarray(lo, hi));
        const a = tf.engine().runKernel(LthAdamUpdate, { weight: t(w!), grad: t(g!), m: t(m!), v: t(vAbs), mask: t(mask) }, adam) as tf.Tensor[];
        const s = tf.engine().runKernel(LthSgdUpdate, { weight: t(w!), grad: t(g!), velocity: t(m!), mask: t(mask) }, sgd) as tf.Tensor[];
        out = [...a, ...s].map((x) => Float32Array.from(x.dataSync() as Float32Array));
      });
      return out;
    };
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const whole = run(0, n);
    for (let lo = 0; lo < n; lo += slice) {
      const part = run(lo, Math.min(n, lo + slice));
      part.forEach((p, k) => expect(bytes(whole[k]!.subarray(lo, lo + p.length)).equals(bytes(p))).toBe(true));
    }
  });
});
