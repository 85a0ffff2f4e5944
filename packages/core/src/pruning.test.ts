import { describe, expect, it } from 'vitest';
import type { Masks, Scores } from './contracts.js';
import { assertMasksShrink, countToPrune, pruneLowest, sparsityReport } from './pruning.js';

const host = (data: number[], shape = [data.length]) => ({ shape, data: Float32Array.from(data) });
const mask = (data: number[], shape = [data.length]) => ({ shape, data: Uint8Array.from(data) });

describe('countToPrune', () => {
  it('rounds halves away from zero, also through floating-point error', () => {
    expect(countToPrune(0.5, 5)).toBe(3);
    expect(countToPrune(0.7, 5)).toBe(4); // 0.7 × 5 = 3.4999999999999996 in floating point
    expect(countToPrune(0.2, 235200)).toBe(47040);
    expect(countToPrune(0.1, 25)).toBe(3);
    expect(countToPrune(0.2, 4)).toBe(1);
    expect(countToPrune(0, 10)).toBe(0);
    expect(() => countToPrune(1.5, 10)).toThrow(RangeError);
  });
});

describe('pruneLowest', () => {
  it('prunes exactly count of the kept weights, lowest first, ties by lower flat index across layers', () => {
    const scores: Scores = { a: host([3, 1, 2, 1]), b: host([1, 5, 0, 9]) };
    const masks: Masks = { a: mask([1, 1, 1, 1]), b: mask([1, 1, 0, 1]) };
    // Kept candidates by (score, flat index): a1=1 (1), a3=1 (3), b0=1 (4), a2=2, a0=3, ...; b2 is already pruned.
    const out = pruneLowest(scores, masks, ['a', 'b'], 3);
    expect(Array.from(out.a.data)).toEqual([1, 0, 1, 0]);
    expect(Array.from(out.b.data)).toEqual([0, 1, 0, 1]);
    // Inputs untouched; masks only shrink.
    expect(Array.from(masks.a.data)).toEqual([1, 1, 1, 1]);
    expect(() => assertMasksShrink(masks, out)).not.toThrow();
    expect(() => assertMasksShrink(out, masks)).toThrow(/revived/);
  });

  it('refuses to prune more than remain, and NaN scores', () => {
    expect(() => pruneLowest({ a: host([1, 2]) }, { a: mask([1, 0]) }, ['a'], 2)).toThrow(/only 1 remain/);
    expect(() => pruneLowest({ a: host([Number.NaN, 2]) }, { a: mask([1, 1]) }, ['a'], 1)).toThrow(/NaN/);
  });

  it('reports exact fractions per layer', () => {
    const r = sparsityReport({ k1: mask([1, 0, 1, 1]), k2: mask([0, 1]) }, { prunable: ['k1', 'k2'], layerOf: { k1: 'dense1', k2: 'output' } });
    expect(r).toEqual({ remaining: 4, total: 6, fractionRemaining: 4 / 6, layerFractions: { dense1: 0.75, output: 0.5 } });
  });
});

describe('pruneLowest selects like a full sort (the definition), on random and tie-heavy scores', () => {
  /** The definition: sort the kept weights by (score, flat index) and prune the first `count`. */
  function bySort(scores: Scores, masks: Masks, names: string[], count: number): Masks {
    const kept: { score: number; layer: number; i: number; flat: number }[] = [];
    let offset = 0;
    names.forEach((name, layer) => {
      masks[name]!.data.forEach((m, i) => m && kept.push({ score: scores[name]!.data[i]!, layer, i, flat: offset + i }));
      offset += masks[name]!.data.length;
    });
    kept.sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : a.flat - b.flat));
    const out: Masks = Object.fromEntries(names.map((n) => [n, { shape: [...masks[n]!.shape], data: masks[n]!.data.slice() }]));
    for (const k of kept.slice(0, count)) out[names[k.layer]!]!.data[k.i] = 0;
    return out;
  }
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

  it('gives the same masks for 300 random cases', () => {
    const palettes = [
      () => random() * 2 - 1, // distinct
      () => Math.floor(random() * 4), // heavy ties
      () => [0, -0, 1, -1, Infinity, -Infinity][Math.floor(random() * 6)]!, // signed zeros and infinities
    ];
    for (let t = 0; t < 300; t++) {
      const draw = palettes[t % 3]!;
      const names = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, l) => `w${l}`);
      const masks: Masks = {};
      const scores: Scores = {};
      let kept = 0;
      for (const name of names) {
        const size = 1 + Math.floor(random() * 40);
        masks[name] = { shape: [size], data: Uint8Array.from({ length: size }, () => (random() < 0.8 ? 1 : 0)) };
        scores[name] = { shape: [size], data: Float32Array.from({ length: size }, draw) };
        kept += masks[name]!.data.reduce((a, b) => a + b, 0);
      }
      const count = Math.floor(random() * (kept + 1));
      expect(pruneLowest(scores, masks, names, count)).toEqual(bySort(scores, masks, names, count));
    }
  });
});
