import { type Masks, tf } from '@lth/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { alphas, barrier, interpolate } from './path.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const read = (t: tf.Tensor) => Array.from(t.dataSync());

describe('alphas', () => {
  it('spaces the points evenly with both ends exact', () => {
    expect(alphas(5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const a = alphas(31);
    expect(a).toHaveLength(31);
    expect(a[0]).toBe(0);
    expect(a[15]).toBe(0.5);
    expect(a[30]).toBe(1);
    expect(() => alphas(1)).toThrow(/≥ 2/);
  });
});

describe('barrier', () => {
  it('is the path’s maximum minus the mean of its ends', () => {
    expect(barrier([0.1, 0.5, 0.3])).toBeCloseTo(0.3, 12);
    expect(barrier([0.2, 0.2, 0.2, 0.2])).toBe(0);
    // A path that only falls between its ends: the higher end is the maximum.
    expect(barrier([0.4, 0.1, 0.2])).toBeCloseTo(0.1, 12);
  });
});

describe('interpolate', () => {
  it('gives θ₁ at α = 0, θ₂ at α = 1 and the hand-computed points between', () => {
    const a = { w: tf.tensor([1, 2, 3, 4], [2, 2]), b: tf.tensor([0.5]) };
    const b = { w: tf.tensor([3, 2, -1, 0], [2, 2]), b: tf.tensor([1.5]) };
    const before = tf.memory().numTensors;
    for (const [alpha, w, bias] of [
      [0, [1, 2, 3, 4], [0.5]],
      [0.25, [1.5, 2, 2, 3], [0.75]],
      [0.5, [2, 2, 1, 2], [1]],
      [0.75, [2.5, 2, 0, 1], [1.25]],
      [1, [3, 2, -1, 0], [1.5]],
    ] as [number, number[], number[]][]) {
      const p = interpolate(a, b, alpha);
      expect(read(p.w)).toEqual(w);
      expect(read(p.b)).toEqual(bias);
      expect(p.w.shape).toEqual([2, 2]);
      tf.dispose(Object.values(p));
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(a), ...Object.values(b)]);
  });

  it('keeps pruned weights exactly zero along the whole path', () => {
    const masks: Masks = { w: { shape: [6], data: Uint8Array.from([1, 0, 1, 0, 0, 1]) } };
    const a = { w: tf.tensor([0.3, 0, -1.7, 0, 0, 2.2]), bias: tf.tensor([1, -1]) };
    const b = { w: tf.tensor([-0.9, 0, 0.4, 0, 0, 5.1]), bias: tf.tensor([2, 3]) };
    for (const alpha of alphas(31)) {
      const p = interpolate(a, b, alpha, masks);
      const w = read(p.w);
      for (const i of [1, 3, 4]) expect(Object.is(w[i], 0) || w[i] === 0).toBe(true);
      expect(w[0]).not.toBe(0);
      tf.dispose(Object.values(p));
    }
    tf.dispose([...Object.values(a), ...Object.values(b)]);
  });

  it('gives exactly θ at every α between two identical copies (so their barrier is exactly 0)', () => {
    const values = [0.1, -0.7, 3.3, 1e-7, -2.9];
    const a = { w: tf.tensor(values) };
    const b = { w: tf.tensor(values) };
    const stored = read(a.w);
    for (const alpha of alphas(31)) {
      const p = interpolate(a, b, alpha);
      expect(read(p.w)).toEqual(stored);
      tf.dispose(Object.values(p));
    }
    tf.dispose([a.w, b.w]);
  });

  it('names a weight missing from the second network or of another shape', () => {
    const a = { w: tf.zeros([2]) };
    expect(() => interpolate(a, { v: tf.zeros([2]) }, 0.5)).toThrow(/"w" is in the first network and not in the second/);
    expect(() => interpolate(a, { w: tf.zeros([3]) }, 0.5)).toThrow(/"w" has shapes \[2\] and \[3\]/);
  });
});
