import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LthAdamUpdate } from './kernels/LthAdamUpdate.js';
import { setupNative, skipReason, values } from './test-utils/parity.js';

const LAYERS = [64, 48, 24, 10];
const BATCH = 20;
const STEPS = 50;
const ADAM = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

/**
 * 50 Adam steps of a small masked MLP (LeNet's shape, scaled down) on a fixed synthetic batch
 * stream; the cpu run composes Adam from element-wise ops (as core does without a fused
 * kernel), the native run uses LthAdamUpdate. Returns the final weights and the losses.
 */
function train(backend: string): { weights: Float32Array[]; losses: number[] } {
  tf.setBackend(backend);
  const fused = tf.getKernel(LthAdamUpdate, backend) !== undefined;
  const params: tf.Variable[] = [];
  const masks: tf.Tensor[] = [];
  const m: tf.Variable[] = [];
  const v: tf.Variable[] = [];
  // tf.variable copies its initial value: build inside tidy so the initial tensors go.
  tf.tidy(() => {
  for (let l = 0; l < LAYERS.length - 1; l++) {
    const [fanIn, fanOut] = [LAYERS[l]!, LAYERS[l + 1]!];
    const mask = Float32Array.from(values(fanIn * fanOut, 50 + l), (x) => (x > -0.5 ? 1 : 0));
    const w = Float32Array.from(values(fanIn * fanOut, l + 1), (x, i) => (x * mask[i]!) / Math.sqrt(fanIn));
    params.push(tf.variable(tf.tensor2d(w, [fanIn, fanOut])), tf.variable(tf.zeros([fanOut])));
    masks.push(tf.keep(tf.tensor2d(mask, [fanIn, fanOut])), tf.keep(tf.ones([fanOut])));
  }
  for (const p of params) {
    m.push(tf.variable(tf.zerosLike(p), false));
    v.push(tf.variable(tf.zerosLike(p), false));
  }
  });
  const losses: number[] = [];
  for (let step = 1; step <= STEPS; step++) {
    tf.tidy(() => {
      const data = values(BATCH * LAYERS[0]!, 1000 + step);
      const x = tf.tensor2d(data, [BATCH, LAYERS[0]!]);
      // A learnable target: the class is the largest of the first 10 features.
      const cls = Array.from({ length: BATCH }, (_, i) => {
        const row = Array.from(data.subarray(i * LAYERS[0]!, i * LAYERS[0]! + 10));
        return row.indexOf(Math.max(...row));
      });
      const labels = tf.oneHot(tf.tensor1d(cls, 'int32'), 10);
      const { value, grads } = tf.variableGrads(() => {
        let h: tf.Tensor = x;
        for (let l = 0; l < params.length; l += 2) {
          h = tf.add(tf.matMul(h, params[l]!), params[l + 1]!);
          if (l + 2 < params.length) h = tf.relu(h);
        }
        return tf.losses.softmaxCrossEntropy(labels, h) as tf.Scalar;
      }, params);
      losses.push(value.dataSync()[0]!);
      params.forEach((p, i) => {
        const g = grads[p.name]!;
        if (fused) {
          const [w2, m2, v2] = tf.engine().runKernel(LthAdamUpdate,
            { weight: p, grad: g, m: m[i]!, v: v[i]!, mask: masks[i]! }, { ...ADAM, step }) as tf.Tensor[];
          p.assign(w2!); m[i]!.assign(m2!); v[i]!.assign(v2!);
          return;
        }
        const mask = masks[i]!;
        const gm = tf.mul(g, mask);
        const m2 = tf.mul(tf.add(tf.mul(m[i]!, ADAM.beta1), tf.mul(gm, 1 - ADAM.beta1)), mask);
        const v2 = tf.mul(tf.add(tf.mul(v[i]!, ADAM.beta2), tf.mul(tf.square(gm), 1 - ADAM.beta2)), mask);
        const mHat = tf.div(m2, 1 - ADAM.beta1 ** step);
        const vHat = tf.div(v2, 1 - ADAM.beta2 ** step);
        p.assign(tf.mul(tf.sub(p, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM.epsilon)), ADAM.lr)), mask));
        m[i]!.assign(m2); v[i]!.assign(v2);
      });
    });
  }
  const weights = params.map((p) => Float32Array.from(p.dataSync()));
  tf.dispose([...params, ...masks, ...m, ...v]);
  return { weights, losses };
}

describe.skipIf(skipReason !== undefined)('training on the native backend', () => {
  beforeAll(setupNative);
  afterAll(() => void tf.setBackend('cpu'));

  it('50 masked Adam steps end with the same weights as the cpu backend', () => {
    const cpu = train('cpu');
    const before = tf.memory().numTensors;
    const native = train('native');
    expect(tf.memory().numTensors).toBe(before);
    expect(native.losses.slice(-5).reduce((a, b) => a + b)).toBeLessThan(native.losses.slice(0, 5).reduce((a, b) => a + b));
    native.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]!)).toBeLessThan(1e-4));
    native.weights.forEach((w, i) => {
      const ref = cpu.weights[i]!;
      let worst = 0;
      for (let j = 0; j < w.length; j++) {
        worst = Math.max(worst, Math.abs(w[j]! - ref[j]!));
        if (ref[j] === 0) expect(w[j]).toBe(0); // pruned stays pruned
      }
      expect(worst).toBeLessThan(1e-4);
    });
  });
});
