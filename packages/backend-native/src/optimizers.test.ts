import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LthAdamUpdate } from './kernels/LthAdamUpdate.js';
import { LthSgdUpdate } from './kernels/LthSgdUpdate.js';
import { setupNative, skipReason, values } from './test-utils/parity.js';

/** Float64 reference of core's masked Adam contract (PyTorch semantics). */
function adamReference(w: number[], g: number[], m: number[], v: number[], mask: number[],
  o: { lr: number; beta1: number; beta2: number; epsilon: number; step: number; weightDecay: number }) {
  const out = { w: [...w], m: [...m], v: [...v] };
  for (let i = 0; i < w.length; i++) {
    const gi = (g[i]! + o.weightDecay * w[i]!) * mask[i]!;
    const mi = (o.beta1 * m[i]! + (1 - o.beta1) * gi) * mask[i]!;
    const vi = (o.beta2 * v[i]! + (1 - o.beta2) * gi * gi) * mask[i]!;
    const mHat = mi / (1 - o.beta1 ** o.step);
    const vHat = vi / (1 - o.beta2 ** o.step);
    out.w[i] = (w[i]! - (o.lr * mHat) / (Math.sqrt(vHat) + o.epsilon)) * mask[i]!;
    out.m[i] = mi;
    out.v[i] = vi;
  }
  return out;
}

function sgdReference(w: number[], g: number[], vel: number[], mask: number[], o: { lr: number; momentum: number; weightDecay: number }) {
  const out = { w: [...w], vel: [...vel] };
  for (let i = 0; i < w.length; i++) {
    const gi = (g[i]! + o.weightDecay * w[i]!) * mask[i]!;
    const vi = (o.momentum * vel[i]! + gi) * mask[i]!;
    out.w[i] = (w[i]! - o.lr * vi) * mask[i]!;
    out.vel[i] = vi;
  }
  return out;
}

const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  let worst = 0;
  // float32 kernel vs float64 reference: relative error `tol`, plus float32 resolution near 0.
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1e-6 / tol + Math.abs(b[i]!)));
  return worst < tol ? true : worst;
};

describe.skipIf(skipReason !== undefined)('fused optimizer kernels match a float64 reference', () => {
  beforeAll(async () => {
    setupNative();
    await tf.setBackend('native');
  });
  afterAll(() => void tf.setBackend('cpu'));

  const n = 1000;
  const mask = Array.from(values(n, 9), (x) => (x > -0.4 ? 1 : 0));

  it('LthAdamUpdate over 5 masked steps with weight decay; pruned weights and moments stay exactly 0', () => {
    const o = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-3 };
    let ref = { w: f32(Array.from(values(n, 1), (x, i) => x * mask[i]!)), m: new Array(n).fill(0), v: new Array(n).fill(0) };
    let w = tf.tensor1d(ref.w);
    let m = tf.zeros([n]);
    let v = tf.zeros([n]);
    const maskT = tf.tensor1d(mask);
    for (let step = 1; step <= 5; step++) {
      const grad = f32(Array.from(values(n, 10 + step)));
      const g = tf.tensor1d(grad);
      const [w2, m2, v2] = tf.engine().runKernel(LthAdamUpdate, { weight: w, grad: g, m, v, mask: maskT },
        { ...o, step }) as tf.Tensor[];
      ref = adamReference(ref.w, grad, ref.m, ref.v, mask, { ...o, step });
      tf.dispose([w, m, v, g]);
      [w, m, v] = [w2!, m2!, v2!];
      expect(close(w.dataSync(), ref.w, 1e-5)).toBe(true);
      expect(close(m.dataSync(), ref.m, 1e-5)).toBe(true);
      expect(close(v.dataSync(), ref.v, 1e-5)).toBe(true);
    }
    const [wv, mv, vv] = [w.dataSync(), m.dataSync(), v.dataSync()];
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) expect([wv[i], mv[i], vv[i]]).toEqual([0, 0, 0]);
    }
    tf.dispose([w, m, v, maskT]);
  });

  it('LthSgdUpdate with momentum and weight decay, masked', () => {
    const o = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
    let ref = { w: f32(Array.from(values(n, 2), (x, i) => x * mask[i]!)), vel: new Array(n).fill(0) };
    let w = tf.tensor1d(ref.w);
    let vel = tf.zeros([n]);
    const maskT = tf.tensor1d(mask);
    for (let step = 1; step <= 5; step++) {
      const grad = f32(Array.from(values(n, 20 + step)));
      const g = tf.tensor1d(grad);
      const [w2, v2] = tf.engine().runKernel(LthSgdUpdate, { weight: w, grad: g, velocity: vel, mask: maskT }, o) as tf.Tensor[];
      ref = sgdReference(ref.w, grad, ref.vel, mask, o);
      tf.dispose([w, vel, g]);
      [w, vel] = [w2!, v2!];
      expect(close(w.dataSync(), ref.w, 1e-5)).toBe(true);
      expect(close(vel.dataSync(), ref.vel, 1e-5)).toBe(true);
    }
    const wv = w.dataSync();
    mask.forEach((k, i) => { if (k === 0) expect(Object.is(wv[i], 0)).toBe(true); });
    tf.dispose([w, vel, maskT]);
  });

  it('accepts a bool mask and rejects mismatched shapes', () => {
    const w = tf.ones([4]);
    const z = tf.zeros([4]);
    const mask = tf.tensor1d([1, 0, 1, 0], 'bool');
    const [w2] = tf.engine().runKernel(LthSgdUpdate, { weight: w, grad: w, velocity: z, mask }, { lr: 0.5, momentum: 0, weightDecay: 0 }) as tf.Tensor[];
    expect(Array.from(w2!.dataSync())).toEqual([0.5, 0, 0.5, 0]);
    expect(() => tf.engine().runKernel(LthSgdUpdate, { weight: w, grad: tf.ones([5]), velocity: z, mask }, { lr: 1, momentum: 0, weightDecay: 0 })).toThrow(/grad/);
  });
});
