import type { HostTensor, Masks, ModelSpec, Scores } from './contracts.js';
import quickselect from 'quickselect';
import { keepRandom } from './seed.js';

/**
 * How many weights a level prunes: `round(rate × remaining)`, halves rounded away from zero.
 * `rate × remaining` is computed in floating point, so 0.7 × 5 = 3.4999999999999996: products
 * within 1e-9 of a half are treated as that half.
 */
export function countToPrune(rate: number, remaining: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`pruning rate must be in [0, 1], got ${rate}`);
  const x = rate * remaining;
  const half = Math.floor(x) + 0.5;
  if (Math.abs(x - half) < 1e-9) return Math.floor(x) + 1;
  return Math.min(remaining, Math.round(x));
}

export function countKept(mask: HostTensor<Uint8Array>): number {
  let kept = 0;
  for (let i = 0; i < mask.data.length; i++) kept += mask.data[i];
  return kept;
}

/** All-ones masks for the model's prunable weights. */
export function denseMasks(model: Pick<ModelSpec, 'prunable' | 'shapes'>): Masks {
  const masks: Masks = {};
  for (const name of model.prunable) {
    const shape = model.shapes[name];
    masks[name] = { shape: [...shape], data: new Uint8Array(shape.reduce((a, b) => a * b, 1)).fill(1) };
  }
  return masks;
}

export function copyMasks(masks: Masks): Masks {
  const out: Masks = {};
  for (const [name, m] of Object.entries(masks)) out[name] = { shape: [...m.shape], data: m.data.slice() };
  return out;
}

/**
 * The one top-k used by every masker: among the weights of `names` still kept in `masks`,
 * prune the `count` with the lowest score. Ties go to the lower flat index (the index in the
 * concatenation of `names`, in order), so results never depend on sort stability.
 * Returns new masks for `names`; the inputs are not modified.
 */
export function pruneLowest(scores: Scores, masks: Masks, names: string[], count: number): Masks {
  const out: Masks = {};
  let total = 0;
  for (const name of names) {
    const mask = masks[name];
    const score = scores[name];
    if (!mask) throw new Error(`pruneLowest: no mask for "${name}"`);
    if (!score) throw new Error(`pruneLowest: the scorer returned no scores for "${name}"`);
    if (score.data.length !== mask.data.length) {
      throw new Error(`pruneLowest: scores for "${name}" have ${score.data.length} entries, its mask ${mask.data.length}`);
    }
    out[name] = { shape: [...mask.shape], data: mask.data.slice() };
    total += countKept(mask);
  }
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`pruneLowest: count must be a non-negative integer, got ${count}`);
  if (count > total) throw new RangeError(`pruneLowest: asked to prune ${count} weights but only ${total} remain`);
  if (count === 0) return out;

  // The scores of every kept weight, in flat order (float32 when every score array is: exact,
  // and half the memory traffic of float64).
  const value = names.every((name) => scores[name].data instanceof Float32Array) ? new Float32Array(total) : new Float64Array(total);
  let n = 0;
  for (const name of names) {
    const m = masks[name].data;
    const s = scores[name].data;
    for (let i = 0; i < m.length; i++) {
      if (!m[i]) continue;
      const v = s[i];
      if (Number.isNaN(v)) throw new Error(`pruneLowest: score of "${name}"[${i}] is NaN`);
      value[n++] = v;
    }
  }
  // The count-th lowest score is the threshold: everything below it goes, then as many of the
  // weights scoring exactly the threshold as are still needed, lowest flat index first. Found by
  // selection in linear time (quickselect partially reorders a copy), not by sorting: global
  // pruning of a VGG-19 (23.6M weights) took 8–9 s per call with a sort.
  const order = value.slice();
  quickselect(order as unknown as number[], count - 1, 0, n - 1, (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0));
  const threshold = order[count - 1];
  // Selection left every score below the threshold in front of it: count them there only.
  let below = 0;
  for (let c = 0; c < count - 1; c++) if (order[c] < threshold) below++;
  let ties = count - below;
  // The same walk in flat order, pruning in the output masks.
  let c = 0;
  for (const name of names) {
    const m = masks[name].data;
    const o = out[name].data;
    for (let i = 0; i < m.length; i++) {
      if (!m[i]) continue;
      const v = value[c++];
      if (v < threshold || (v === threshold && ties-- > 0)) o[i] = 0;
    }
  }
  return out;
}

/** Surviving / total prunable weights, overall and per layer (exact counts). */
export function sparsityReport(masks: Masks, model: Pick<ModelSpec, 'prunable' | 'layerOf'>) {
  let remaining = 0;
  let total = 0;
  const perLayer: Record<string, { kept: number; total: number }> = {};
  for (const name of model.prunable) {
    const m = masks[name];
    const kept = countKept(m);
    remaining += kept;
    total += m.data.length;
    const layerName = model.layerOf[name] ?? name;
    const entry = (perLayer[layerName] ??= { kept: 0, total: 0 });
    entry.kept += kept;
    entry.total += m.data.length;
  }
  const layerFractions: Record<string, number> = {};
  for (const [l, { kept, total: t }] of Object.entries(perLayer)) layerFractions[l] = kept / t;
  return { remaining, total, fractionRemaining: remaining / total, layerFractions };
}

/** Throws if `next` keeps a weight that `previous` had pruned (masks may only shrink). */
export function assertMasksShrink(previous: Masks, next: Masks): void {
  for (const [name, prev] of Object.entries(previous)) {
    const nx = next[name];
    if (!nx) throw new Error(`mask for "${name}" is missing after pruning`);
    for (let i = 0; i < prev.data.length; i++) {
      if (!prev.data[i] && nx.data[i]) throw new Error(`mask for "${name}" revived pruned weight ${i}: masks may only shrink`);
    }
  }
}

/**
 * Random pruning at a ticket's sparsity: each layer keeps as many weights as in `masks`, at
 * positions drawn uniformly with `seed(weight name)`. The `random-prune` control trains these
 * masks, and the `instability` branch's `random` option measures them (with the control's seeds).
 */
export function randomPruneMasks(masks: Masks, seed: (name: string) => number): Masks {
  const out: Masks = {};
  for (const [name, m] of Object.entries(masks)) {
    const all = Array.from({ length: m.data.length }, (_, i) => i);
    out[name] = { shape: [...m.shape], data: keepRandom(m.data.length, all, countKept(m), seed(name)) };
  }
  return out;
}
