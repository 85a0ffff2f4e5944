/**
 * Sanity controls for pruning methods (Frankle et al. 2021, "Pruning neural networks at
 * initialization: why are we missing the mark?"). A control changes what a pruning step does with
 * the scorer's output, whatever the scorer and masker are, so an ablation can ask for it by name
 * (`"pruning": { "control": "shuffle" }`):
 *
 * - `none`: the method as it is;
 * - `invert`: keep the lowest-scored weights instead of the highest (scores negated before masking);
 * - `shuffle`: keep each prunable weight tensor's pruned count but move its newly pruned positions
 *   to random places among the weights that tensor still had (a seeded shuffle within the layer).
 *   At initialisation (all weights remaining) this is the paper's layer-wise shuffle; on later
 *   levels weights pruned earlier stay pruned, so masks still only shrink.
 *
 * Random re-initialisation is the rewinder `reinit`, and random pruning is the scorer `random`.
 */
import type { Masks, Scores } from './contracts.js';
import { deriveSeed, permutation } from './seed.js';

export const PRUNING_CONTROLS = ['none', 'shuffle', 'invert'] as const;
export type PruningControl = (typeof PRUNING_CONTROLS)[number];

/** The scores a masker sees under `control`: negated for `invert`, unchanged otherwise. */
export function applyScoreControl(scores: Scores, control: PruningControl): Scores {
  if (control !== 'invert') return scores;
  const out: Scores = {};
  for (const [name, s] of Object.entries(scores)) {
    const data = new Float32Array(s.data.length);
    // 0 - x, not -x: a zero score stays +0, so ties keep breaking by index alone.
    for (let i = 0; i < data.length; i++) data[i] = 0 - s.data[i];
    out[name] = { shape: [...s.shape], data };
  }
  return out;
}

/**
 * The masks a pruning step produces under `control`. For `shuffle`, each tensor's new mask keeps
 * as many of the `previous` survivors as `next` does, at positions drawn by a seeded permutation
 * of the previous survivors (`seed` and the weight name pick it); other controls return `next`.
 */
export function applyMaskControl(previous: Masks, next: Masks, control: PruningControl, seed: number): Masks {
  if (control !== 'shuffle') return next;
  const out: Masks = {};
  for (const [name, nx] of Object.entries(next)) {
    const prev = previous[name];
    if (!prev) throw new Error(`applyMaskControl: no previous mask for "${name}"`);
    const alive: number[] = [];
    let keep = 0;
    for (let i = 0; i < prev.data.length; i++) {
      if (prev.data[i]) alive.push(i);
      keep += nx.data[i] ? 1 : 0;
    }
    const data = new Uint8Array(prev.data.length);
    const order = permutation(alive.length, deriveSeed(seed, 'shuffle', name));
    for (let k = 0; k < keep; k++) data[alive[order[k]]] = 1;
    out[name] = { shape: [...nx.shape], data };
  }
  return out;
}
