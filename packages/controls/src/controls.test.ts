import { countKept, type Masks, randomPruneMasks, tf } from '@lth/core';
import { checkBranch } from '@lth/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomPrune, reinit, shuffle, shuffledMasks } from './controls.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ticket: Masks = {
  a: { shape: [2, 6], data: Uint8Array.from([1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0]) },
  b: { shape: [4], data: Uint8Array.from([0, 1, 0, 0]) },
};

describe('control masks', () => {
  it('random-prune keeps each layer’s count at seeded random positions', () => {
    const a = randomPruneMasks(ticket, (name) => name.length + 3);
    for (const n of ['a', 'b']) {
      expect(countKept(a[n]!)).toBe(countKept(ticket[n]!));
      expect(a[n]!.shape).toEqual(ticket[n]!.shape);
    }
    expect(randomPruneMasks(ticket, (name) => name.length + 3)).toEqual(a);
    const seeds = [1, 2, 3, 4, 5].map((s) => randomPruneMasks(ticket, () => s).a!.data.join(''));
    expect(new Set(seeds).size).toBeGreaterThan(1);
  });

  it('shuffle permutes each layer’s mask (same count, a permutation of the same entries)', () => {
    const s = shuffledMasks(ticket, () => 7);
    for (const n of ['a', 'b']) {
      expect([...s[n]!.data].sort()).toEqual([...ticket[n]!.data].sort());
    }
    expect(s.a!.data).not.toEqual(ticket.a!.data);
  });
});

describe('conformance', () => {
  for (const branch of [reinit, randomPrune, shuffle]) {
    it(`${branch.meta.name} passes checkBranch`, async () => {
      await checkBranch(branch);
    }, 120_000);
  }
});
