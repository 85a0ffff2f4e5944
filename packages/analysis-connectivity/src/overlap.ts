/**
 * How much two masks agree: the question behind "is the ticket a property of θ0?" (do two seeds,
 * or IMP and a pruning-at-init scorer, keep the same weights?). Pure functions over host masks.
 */
import { countKept, type HostTensor, type Masks } from '@lth/core';

export interface MaskOverlap {
  /** Weights in the layer (or in all layers, for a total). */
  size: number;
  keptA: number;
  keptB: number;
  /** Kept by both. */
  shared: number;
  /** |A ∩ B| / |A ∪ B| (1 when both keep nothing: the masks agree). */
  jaccard: number;
  /** |A ∩ B| / |A|: the fraction of A's survivors that B keeps too. */
  sharedOfA: number;
  /** |A ∩ B| / |B|. */
  sharedOfB: number;
  /**
   * The Jaccard index two independent random masks with A's and B's densities would have, in
   * expectation (for large layers): p·q / (p + q − p·q). The baseline a ticket's overlap beats
   * when the positions are not chance.
   */
  randomJaccard: number;
}

function overlapOf(size: number, keptA: number, keptB: number, shared: number): MaskOverlap {
  const union = keptA + keptB - shared;
  const p = size ? keptA / size : 0;
  const q = size ? keptB / size : 0;
  const randomUnion = p + q - p * q;
  return {
    size,
    keptA,
    keptB,
    shared,
    jaccard: union ? shared / union : 1,
    sharedOfA: keptA ? shared / keptA : 1,
    sharedOfB: keptB ? shared / keptB : 1,
    randomJaccard: randomUnion ? (p * q) / randomUnion : 1,
  };
}

/** The overlap of two masks of one weight (same shape). */
export function maskOverlap(a: HostTensor<Uint8Array>, b: HostTensor<Uint8Array>): MaskOverlap {
  if (a.data.length !== b.data.length || a.shape.join('x') !== b.shape.join('x')) {
    throw new Error(`masks of shapes [${a.shape}] and [${b.shape}] cannot be compared`);
  }
  let shared = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] && b.data[i]) shared++;
  return overlapOf(a.data.length, countKept(a), countKept(b), shared);
}

/** One row per weight (in `a`'s order) and a total over all of them (`name` "all"). */
export interface MasksOverlap {
  layers: ({ name: string } & MaskOverlap)[];
  total: MaskOverlap;
}

/**
 * The overlap of two sets of masks, weight by weight and in total. Both must have the same weight
 * names and shapes (the same model): anything else is an error naming the difference.
 */
export function masksOverlap(a: Masks, b: Masks): MasksOverlap {
  const namesA = Object.keys(a);
  const namesB = Object.keys(b);
  const onlyA = namesA.filter((n) => !(n in b));
  const onlyB = namesB.filter((n) => !(n in a));
  if (onlyA.length || onlyB.length) {
    throw new Error(`the masks are of different models: only in the first: ${onlyA.join(', ') || '-'}; only in the second: ${onlyB.join(', ') || '-'}`);
  }
  const layers = namesA.map((name) => {
    try {
      return { name, ...maskOverlap(a[name], b[name]) };
    } catch (error) {
      throw new Error(`"${name}": ${(error as Error).message}`);
    }
  });
  const sum = (k: 'size' | 'keptA' | 'keptB' | 'shared') => layers.reduce((s, l) => s + l[k], 0);
  return { layers, total: overlapOf(sum('size'), sum('keptA'), sum('keptB'), sum('shared')) };
}

/**
 * The mask that keeps, in each weight, as many entries as `like` keeps, choosing the largest
 * |θ0| (ties: lower flat index kept first). Compared with the ticket it asks how much of the
 * ticket the initial magnitudes alone predict.
 */
export function topMagnitudeMasks(init: Record<string, HostTensor<Float32Array>>, like: Masks): Masks {
  const out: Masks = {};
  for (const [name, m] of Object.entries(like)) {
    const w = init[name];
    if (!w || w.data.length !== m.data.length) throw new Error(`θ0 has no weight "${name}" of ${m.data.length} entries`);
    const order = Array.from({ length: w.data.length }, (_, i) => i).sort((i, j) => Math.abs(w.data[j]) - Math.abs(w.data[i]) || i - j);
    const data = new Uint8Array(m.data.length);
    for (const i of order.slice(0, countKept(m))) data[i] = 1;
    out[name] = { shape: [...m.shape], data };
  }
  return out;
}
