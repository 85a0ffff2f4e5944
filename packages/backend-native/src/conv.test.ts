import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from './addon.js';
import { parity, rand, setupNative, skipReason } from './test-utils/parity.js';

const loaded = loadAddon();
const hasDnnl = 'addon' in loaded && loaded.addon.features().dnnl;
if (!skipReason && !hasDnnl) console.warn('@lth/backend-native conv tests use cpu kernels: addon built without oneDNN');

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

describe.skipIf(skipReason !== undefined)('native Conv2D and MaxPool match the cpu backend', () => {
  beforeAll(setupNative);
  afterAll(() => void tf.setBackend('cpu'));

  const cases: Array<[string, number[], number[], number, Pad, number]> = [
    ['3x3 same', [2, 8, 8, 3], [3, 3, 3, 4], 1, 'same', 1],
    ['3x3 valid stride 2', [2, 9, 9, 3], [3, 3, 3, 5], 2, 'valid', 1],
    ['5x5 same stride 2 (odd padding)', [1, 10, 10, 2], [5, 5, 2, 3], 2, 'same', 1],
    ['explicit padding', [1, 7, 6, 2], [3, 2, 2, 3], 1, [[0, 0], [1, 2], [0, 1], [0, 0]], 1],
    ['dilation 2 (forward only: tfjs has no dilated filter gradient)', [1, 9, 9, 2], [3, 3, 2, 2], 1, 'same', 2],
    ['Conv-2 layer', [1, 32, 32, 3], [3, 3, 3, 64], 1, 'same', 1],
  ];
  for (const [name, xs, ws, stride, pad, dilation] of cases) {
    it(`conv2d ${name}: forward and both gradients`, () => {
      const f = (x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad, 'NHWC', dilation);
      const inputs = [rand(xs, 11), rand(ws, 12)];
      const tol = 1e-5 * Math.sqrt(ws[0]! * ws[1]! * ws[2]!);
      expect(parity(inputs, f)).toBeLessThan(tol);
      if (dilation > 1) return;
      const g = (x: tf.Tensor, w: tf.Tensor) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(f(a, b))))([x, w]);
      expect(parity(inputs, g)).toBeLessThan(20 * tol);
    });
  }

  it('fused conv2d with bias and relu (inference path)', () => {
    const f = (x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) =>
      tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu' });
    expect(parity([rand([2, 6, 6, 3], 1), rand([3, 3, 3, 4], 2), rand([4], 3)], f)).toBeLessThan(1e-4);
  });

  const pools: Array<[string, number[], number, number, 'valid' | 'same']> = [
    ['2x2 stride 2', [2, 8, 8, 3], 2, 2, 'valid'],
    ['3x3 stride 1 same (overlapping windows)', [1, 7, 7, 2], 3, 1, 'same'],
    ['3x3 stride 2 same', [1, 9, 8, 2], 3, 2, 'same'],
  ];
  for (const [name, xs, size, stride, pad] of pools) {
    it(`maxPool ${name}: forward and gradient, with ties`, () => {
      const x = rand(xs, 21);
      // Round to a few levels so that windows hold ties: the first maximum takes the gradient.
      x.data.forEach((v, i) => { x.data[i] = Math.round(v * 2) / 2; });
      const f = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, size, stride, pad);
      expect(parity([x], f)).toBe(0);
      const g = (t: tf.Tensor) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), tf.reshape(tf.range(1, 1 + f(a).size), f(a).shape))))(t);
      expect(parity([x], g)).toBe(0);
    });
  }
});
