import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';

/**
 * The one home of seeded randomness in lth: every package draws from these (a test over the
 * sources keeps it so).
 */

/**
 * A 31-bit seed derived from a base seed and a path of labels, e.g. (seed, 'init', replicate).
 * Derived seeds of different paths are independent, so adding a new use never shifts old ones.
 */
export function deriveSeed(base: number, ...parts: (string | number)[]): number {
  const digest = createHash('sha256').update([base, ...parts].join('/')).digest();
  return digest.readUInt32LE(0) & 0x7fffffff;
}

/** A seeded uniform generator in [0, 1) (seedrandom's ARC4): data order, augmentation, masks. */
export function rng(seed: number): () => number {
  return seedrandom(String(seed));
}

/**
 * A small, fast seeded generator in [0, 1) (mulberry32). Dataset splits and generated data use it
 * (their values are pinned by users' existing runs), as do the testing fakes.
 */
export function fastRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller) from a uniform generator. */
export function gaussian(random: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    // 1 - u keeps the argument of log strictly positive.
    const u = 1 - random();
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates), from a seed (`rng`) or a generator. */
export function permutation(n: number, seed: number | (() => number)): Uint32Array {
  const random = typeof seed === 'number' ? rng(seed) : seed;
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

/**
 * A 0/1 mask of `size` entries that keeps `count` of the `candidates` positions, drawn uniformly
 * by a permutation of the candidates seeded by `seed`.
 */
export function keepRandom(size: number, candidates: ArrayLike<number>, count: number, seed: number): Uint8Array {
  const order = permutation(candidates.length, seed);
  const data = new Uint8Array(size);
  for (let k = 0; k < count; k++) data[candidates[order[k]]] = 1;
  return data;
}
