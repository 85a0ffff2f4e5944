import { type HostTensor, type Masks, permutation } from '@lth/core';
import { describe, expect, it } from 'vitest';
import { maskOverlap, masksOverlap, topMagnitudeMasks } from './overlap.js';

const mask = (bits: string, shape = [bits.length]): HostTensor<Uint8Array> => ({ shape, data: Uint8Array.from([...bits].map(Number)) });

describe('mask overlap', () => {
  it('counts the shared survivors of two hand-made masks', () => {
    //            kept by A: 0 1 2 4   kept by B: 1 2 5 6 7   both: 1 2
    const o = maskOverlap(mask('11101000'), mask('01100111'));
    expect(o).toMatchObject({ size: 8, keptA: 4, keptB: 5, shared: 2 });
    expect(o.jaccard).toBeCloseTo(2 / 7, 12);
    expect(o.sharedOfA).toBe(0.5);
    expect(o.sharedOfB).toBe(0.4);
    // Random masks of densities 1/2 and 5/8: (5/16) / (1/2 + 5/8 − 5/16).
    expect(o.randomJaccard).toBeCloseTo(5 / 16 / (13 / 16), 12);
  });

  it('is 1 for a mask with itself and 0 for disjoint masks', () => {
    const m = mask('1001101');
    expect(maskOverlap(m, m)).toMatchObject({ jaccard: 1, sharedOfA: 1, sharedOfB: 1 });
    expect(maskOverlap(mask('1100'), mask('0011'))).toMatchObject({ shared: 0, jaccard: 0, sharedOfA: 0 });
    // Two masks that keep nothing agree.
    expect(maskOverlap(mask('000'), mask('000')).jaccard).toBe(1);
  });

  it('of a mask with a shuffle of itself is near the density (statistical bound)', () => {
    // 10,000 weights at density 0.2, permuted by core's seeded permutation: the shared count is
    // hypergeometric with mean 400 and standard deviation ≈ 16, so 5σ is 0.04 of the kept 2000.
    const n = 10_000;
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i += 5) a[i] = 1;
    const p = permutation(n, 11);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[p[i]] = a[i];
    const o = maskOverlap({ shape: [n], data: a }, { shape: [n], data: b });
    expect(o.keptB).toBe(2000);
    expect(Math.abs(o.sharedOfA - 0.2)).toBeLessThan(0.04);
    expect(Math.abs(o.jaccard - o.randomJaccard)).toBeLessThan(0.03);
    expect(o.randomJaccard).toBeCloseTo(0.2 / 1.8, 12);
  });

  it('sums the layers into a total and names what differs between models', () => {
    const a: Masks = { 'l1/kernel': mask('1100', [2, 2]), 'l2/kernel': mask('10') };
    const b: Masks = { 'l1/kernel': mask('1010', [2, 2]), 'l2/kernel': mask('11') };
    const o = masksOverlap(a, b);
    expect(o.layers.map((l) => [l.name, l.shared])).toEqual([
      ['l1/kernel', 1],
      ['l2/kernel', 1],
    ]);
    expect(o.total).toMatchObject({ size: 6, keptA: 3, keptB: 4, shared: 2 });
    expect(o.total.jaccard).toBeCloseTo(2 / 5, 12);
    expect(() => masksOverlap(a, { 'l1/kernel': a['l1/kernel'], l3: mask('1') })).toThrow(/different models: only in the first: l2\/kernel; only in the second: l3/);
    expect(() => masksOverlap(a, { ...a, 'l2/kernel': mask('101') })).toThrow(/"l2\/kernel": masks of shapes \[2\] and \[3\]/);
  });

  it('builds the top-|θ0| mask with the ticket’s per-weight counts (ties: lower index kept)', () => {
    const init = { w: { shape: [5], data: Float32Array.from([0.1, -0.9, 0.5, 0.5, -0.2]) } };
    const ticket: Masks = { w: mask('10101') };
    expect(Array.from(topMagnitudeMasks(init, ticket).w.data)).toEqual([0, 1, 1, 1, 0]);
    expect(() => topMagnitudeMasks(init, { v: mask('1') })).toThrow(/θ0 has no weight "v"/);
  });
});
