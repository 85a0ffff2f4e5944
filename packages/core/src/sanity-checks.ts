/**
 * Sanity checks of a pruning method (Frankle et al. 2021, "Pruning neural networks at
 * initialization: why are we missing the mark?"): each changes what a pruning step does with the
 * scorer's output, whatever the scorer and masker are, so an ablation can ask for it by name
 * (`"pruning": { "sanityCheck": "invert" }`):
 *
 * - `none`: the method as it is;
 * - `invert`: keep the lowest-scored weights instead of the highest (scores negated before masking);
 * - `random-within-layer`: keep each prunable tensor's pruned count, but prune positions drawn at
 *   random among the weights that tensor still had. At initialisation (all weights remaining) this
 *   is the paper's layer-wise shuffle; on later levels pruned weights stay pruned.
 *
 * Controls of a found ticket (re-initialisation, random pruning, a shuffled mask) are branches,
 * not sanity checks: they hang off a completed level (see the `controls` plugin package).
 */
import type { Masks, Scores } from './contracts.js';
import { countKept } from './pruning.js';
import { deriveSeed, keepRandom } from './seed.js';

export const SANITY_CHECKS = ['none', 'invert', 'random-within-layer'] as const;
export type SanityCheck = (typeof SANITY_CHECKS)[number];

/** Scores negated (`0 - x`, so a zero score stays +0 and ties keep breaking by index alone). */
export function invertScores(scores: Scores): Scores {
  const out: Scores = {};
  for (const [name, s] of Object.entries(scores)) {
    const data = new Float32Array(s.data.length);
    for (let i = 0; i < data.length; i++) data[i] = 0 - s.data[i];
    out[name] = { shape: [...s.shape], data };
  }
  return out;
}

/**
 * Each tensor keeps as many of `previous`'s survivors as `next` does, at positions drawn at random
 * among those survivors (`seed` and the weight name pick them).
 */
export function randomWithinLayer(previous: Masks, next: Masks, seed: number): Masks {
  const out: Masks = {};
  for (const [name, nx] of Object.entries(next)) {
    const prev = previous[name];
    if (!prev) throw new Error(`randomWithinLayer: no previous mask for "${name}"`);
    const alive: number[] = [];
    for (let i = 0; i < prev.data.length; i++) if (prev.data[i]) alive.push(i);
    out[name] = { shape: [...nx.shape], data: keepRandom(prev.data.length, alive, countKept(nx), deriveSeed(seed, 'shuffle', name)) };
  }
  return out;
}

/** One pruning step under a sanity check: `mask` is the configured masker at the level's rate. */
export function applySanityCheck(check: SanityCheck, scores: Scores, previous: Masks, mask: (scores: Scores) => Masks, seed: number): Masks {
  if (check === 'invert') return mask(invertScores(scores));
  const next = mask(scores);
  return check === 'random-within-layer' ? randomWithinLayer(previous, next, seed) : next;
}
