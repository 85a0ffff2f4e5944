import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { adam, sgd } from './builtins/optimizers.js';
import { ownedVariable } from './train.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const w0 = [0.5, -1, 2, -0.25, 1.5, -3];
const mask = [1, 0, 1, 0, 1, 1];

describe('adam', () => {
  it('matches a hand-computed float64 reference and keeps pruned weights and moments exactly zero', () => {
    const before = tf.memory().numTensors;
    const weight = ownedVariable(tf.tensor(w0.map((w, i) => w * mask[i]), [2, 3]));
    const m = tf.tensor(mask, [2, 3]);
    const opt = adam.create({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
    // Reference in float64.
    const ref = w0.map((w, i) => w * mask[i]);
    const mom = new Array(6).fill(0);
    const vel = new Array(6).fill(0);
    for (let step = 1; step <= 20; step++) {
      const g = ref.map((w, i) => Math.sin(step + i) + 0.1 * w); // any gradient, dense: the optimizer must mask it
      tf.tidy(() => opt.step({ w: weight }, { w: tf.tensor(g, [2, 3]) }, 0.01, { w: m }));
      for (let i = 0; i < 6; i++) {
        const gi = g[i] * mask[i];
        mom[i] = (0.9 * mom[i] + 0.1 * gi) * mask[i];
        vel[i] = (0.999 * vel[i] + 0.001 * gi * gi) * mask[i];
        const update = (0.01 * (mom[i] / (1 - 0.9 ** step))) / (Math.sqrt(vel[i] / (1 - 0.999 ** step)) + 1e-8);
        ref[i] = (ref[i] - update) * mask[i];
      }
    }
    const got = weight.dataSync();
    for (let i = 0; i < 6; i++) {
      if (!mask[i]) expect(got[i] === 0).toBe(true);
      else expect(got[i]).toBeCloseTo(ref[i], 5);
    }
    const state = opt.state();
    expect(Array.from(state['m/w'].dataSync()).filter((_, i) => !mask[i])).toEqual([0, 0]);
    expect(Array.from(state['v/w'].dataSync()).filter((_, i) => !mask[i])).toEqual([0, 0]);
    expect(state.step.dataSync()[0]).toBe(20);
    // State round-trips: a new instance from the saved state continues identically.
    const clone = ownedVariable(weight.clone());
    const resumed = adam.create({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, state);
    tf.tidy(() => {
      const g = tf.tensor([1, 1, 1, 1, 1, 1], [2, 3]);
      opt.step({ w: weight }, { w: g }, 0.01, { w: m });
      resumed.step({ w: clone }, { w: g }, 0.01, { w: m });
    });
    expect(Array.from(clone.dataSync())).toEqual(Array.from(weight.dataSync()));
    tf.dispose([weight, clone, m, ...Object.values(state)]);
    opt.dispose();
    resumed.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('sgd', () => {
  it('momentum SGD matches the reference and masks', () => {
    const weight = ownedVariable(tf.tensor(w0.map((w, i) => w * mask[i]), [6]));
    const m = tf.tensor(mask, [6]);
    const opt = sgd.create({ momentum: 0.9, weightDecay: 0.01 });
    const ref = w0.map((w, i) => w * mask[i]);
    const buf = new Array(6).fill(0);
    for (let step = 1; step <= 10; step++) {
      const g = ref.map((_, i) => Math.cos(step * (i + 1)));
      tf.tidy(() => opt.step({ w: weight }, { w: tf.tensor(g) }, 0.1, { w: m }));
      for (let i = 0; i < 6; i++) {
        const gi = (g[i] + 0.01 * ref[i]) * mask[i];
        buf[i] = (0.9 * buf[i] + gi) * mask[i];
        ref[i] = (ref[i] - 0.1 * buf[i]) * mask[i];
      }
    }
    const got = weight.dataSync();
    for (let i = 0; i < 6; i++) {
      if (!mask[i]) expect(got[i] === 0).toBe(true);
      else expect(got[i]).toBeCloseTo(ref[i], 5);
    }
    tf.dispose([weight, m]);
    opt.dispose();
  });
});
