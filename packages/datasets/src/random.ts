import { fastRng, gaussian, permutation as corePermutation } from '@lth/core';

/**
 * Datasets draw from core's small fast generator (`fastRng`) rather than the run's, so that the
 * data and its split stay identical across runs with different seeds.
 */
export const seededRandom = fastRng;
export { gaussian };

/** Core's permutation of 0..n-1 drawn from `fastRng(seed)`. */
export function permutation(n: number, seed: number): Uint32Array {
  return corePermutation(n, fastRng(seed));
}
