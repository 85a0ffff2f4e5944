import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';

/**
 * A 31-bit seed derived from a base seed and a path of labels, e.g. (seed, 'init', replicate).
 * Derived seeds of different paths are independent, so adding a new use never shifts old ones.
 */
export function deriveSeed(base: number, ...parts: (string | number)[]): number {
  const digest = createHash('sha256').update([base, ...parts].join('/')).digest();
  return digest.readUInt32LE(0) & 0x7fffffff;
}

/** A seeded uniform generator in [0, 1). */
export function rng(seed: number): () => number {
  return seedrandom(String(seed));
}

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, seed: number): Uint32Array {
  const random = rng(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
