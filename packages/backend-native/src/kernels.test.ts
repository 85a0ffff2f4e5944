import * as tf from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parity, rand, setupNative, skipReason } from './test-utils/parity.js';

const TOL = 1e-5;

describe.skipIf(skipReason !== undefined)('native kernels match the cpu backend', () => {
  beforeAll(setupNative);
  afterAll(() => void tf.setBackend('cpu'));

  describe('BatchMatMul', () => {
    // tfjs-core's BatchMatMul gradient does not reduce over broadcast batch dims, so those
    // cases check the forward pass only.
    const cases: Array<[string, number[], number[], boolean, boolean]> = [
      ['2d', [5, 7], [7, 3], false, false],
      ['transposeA', [7, 5], [7, 3], true, false],
      ['transposeB', [5, 7], [3, 7], false, true],
      ['both transposed', [7, 5], [3, 7], true, true],
      ['batched', [4, 5, 7], [4, 7, 3], false, false],
      ['batch broadcast of b', [2, 3, 5, 7], [1, 7, 6], false, false],
      ['batch broadcast of a', [1, 5, 7], [3, 7, 2], false, false],
      ['lenet layer', [60, 784], [784, 300], false, false],
    ];
    for (const [name, sa, sb, ta, tb] of cases) {
      it(`forward and gradients: ${name}`, () => {
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
        // BLAS accumulates in float32, cpu in float64: allow for the inner dimension's length.
        const tol = 2e-5 * Math.sqrt(ta ? sa.at(-2)! : sa.at(-1)!);
        expect(parity([rand(sa, 1), rand(sb, 2)], f)).toBeLessThan(tol);
        if (name.startsWith('batch broadcast')) return;
        const g = (a: tf.Tensor, b: tf.Tensor) => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))))([a, b]);
        expect(parity([rand(sa, 1), rand(sb, 2)], g)).toBeLessThan(10 * tol);
      });
    }
    it('fused matMul with bias and relu (inference path)', () => {
      const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
        tf.fused.matMul({ a, b, bias, activation: 'relu', transposeB: true });
      expect(parity([rand([6, 9]), rand([4, 9], 2), rand([4], 3)], f)).toBeLessThan(TOL);
    });
  });

  describe('binary ops with broadcasting', () => {
    const ops: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
      add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, maximum: tf.maximum, minimum: tf.minimum,
      squaredDifference: tf.squaredDifference,
    };
    const shapes: Array<[number[], number[]]> = [
      [[3, 4], [3, 4]], [[60, 300], [300]], [[4], [3, 4]], [[2, 3, 4], [3, 1]], [[2, 1, 4], [1, 3, 1]],
      [[3, 4], []], [[], [5]], [[1], [1]],
    ];
    for (const [name, op] of Object.entries(ops)) {
      it(`${name}: forward and gradients`, () => {
        for (const [sa, sb] of shapes) {
          const inputs = [rand(sa, 3), rand(sb, 4)];
          if (name === 'div') inputs[1]!.data.forEach((v, i, arr) => { arr[i] = v + (v >= 0 ? 0.5 : -0.5); });
          expect(parity(inputs, op), `${sa} ${sb}`).toBeLessThan(TOL);
          // tfjs-core's gradients of these three do not reduce over broadcast dims.
          if (['maximum', 'minimum', 'squaredDifference'].includes(name) && !util.arraysEqual(sa, sb)) continue;
          const g = (a: tf.Tensor, b: tf.Tensor) => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(op(x, y), op(x, y))))([a, b]);
          expect(parity(inputs, g), `grad ${sa} ${sb}`).toBeLessThan(TOL);
        }
      });
    }
    it('falls back to cpu for int32', () => {
      tf.setBackend('native');
      expect(Array.from(tf.add(tf.tensor([1, 2], [2], 'int32'), tf.scalar(3, 'int32')).dataSync())).toEqual([4, 5]);
      tf.setBackend('cpu');
    });
  });

  describe('unary ops', () => {
    const ops: Record<string, (x: tf.Tensor) => tf.Tensor> = {
      relu: tf.relu, relu6: (x) => tf.relu6(tf.mul(x, 8)), exp: tf.exp, log: (x) => tf.log(tf.add(tf.abs(x), 0.1)),
      neg: tf.neg, sqrt: (x) => tf.sqrt(tf.add(tf.abs(x), 0.01)), square: tf.square, sigmoid: tf.sigmoid, tanh: tf.tanh,
      abs: tf.abs, reciprocal: (x) => tf.reciprocal(tf.add(tf.abs(x), 0.5)), rsqrt: (x) => tf.rsqrt(tf.add(tf.abs(x), 0.5)),
      step: (x) => tf.step(x, 0.25),
    };
    for (const [name, op] of Object.entries(ops)) {
      it(`${name}: forward and gradient`, () => {
        const inputs = [rand([7, 33], 5)];
        expect(parity(inputs, op)).toBeLessThan(TOL);
        expect(parity(inputs, (x) => tf.grad((y: tf.Tensor) => tf.sum(tf.mul(op(y), y)))(x))).toBeLessThan(TOL);
      });
    }
  });

  describe('reductions', () => {
    const cases: Array<[string, number[], number | number[] | undefined, boolean]> = [
      ['all', [4, 5], undefined, false], ['last axis', [4, 5], 1, false], ['first axis', [60, 300], 0, false],
      ['middle', [3, 4, 5], 1, true], ['block', [2, 3, 4, 5], [1, 2], false], ['non-contiguous (cpu)', [2, 3, 4], [0, 2], false],
      ['size-1 axis', [3, 1, 4], [1, 2], false],
    ];
    const ops = { sum: tf.sum, mean: tf.mean, max: tf.max, min: tf.min };
    for (const [name, op] of Object.entries(ops)) {
      it(`${name}: forward and gradient`, () => {
        for (const [c, shape, axis, keepDims] of cases) {
          const f = (x: tf.Tensor) => op(x, axis, keepDims);
          expect(parity([rand(shape, 6)], f), c).toBeLessThan(TOL);
          expect(parity([rand(shape, 6)], (x) => tf.grad((y: tf.Tensor) => tf.sum(tf.square(f(y))))(x)), c).toBeLessThan(TOL);
        }
      });
    }
    it('softmax cross-entropy and its gradient (the LeNet loss)', () => {
      const labels = new Float32Array(60 * 10);
      for (let i = 0; i < 60; i++) labels[i * 10 + (i % 10)] = 1;
      const f = (logits: tf.Tensor, y: tf.Tensor) =>
        tf.grads((l: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, l))([logits, y]).slice(0, 1);
      expect(parity([rand([60, 10], 7), { shape: [60, 10], data: labels }], f)).toBeLessThan(TOL);
    });
  });
});
