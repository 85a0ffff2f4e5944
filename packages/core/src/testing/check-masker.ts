import assert from 'node:assert/strict';
import type { Masker, Masks, ModelSpec, Scores } from '../contracts.js';
import { copyMasks, countKept, countToPrune, denseMasks, pruneLowest } from '../pruning.js';
import { checkPluginShape, pluginLabel } from './check-plugin.js';
import { fakeModel, seededRandom } from './fake-model.js';

/**
 * How a masker spreads a level's count, which fixes the exact masks it must return:
 * - `per-layer`: each layer prunes `countToPrune(rate, its remaining)` of its lowest scores;
 * - `total`: `countToPrune(rate, all remaining)` of the lowest scores over every prunable weight;
 * - `any`: another allocation (e.g. ERK); only the allocation-free rules are checked.
 */
export type MaskAllocation = 'per-layer' | 'total' | 'any';

export interface CheckMaskerOptions<O> {
  allocation: MaskAllocation;
  /** Options passed to `mask`, over the masker's defaults. The exact-count checks assume they
   * apply `rate` uniformly (no per-layer overrides). */
  options?: Partial<O>;
  /** Default: `fakeModel()`. */
  model?: ModelSpec;
  /** The rate of each successive level. The default starts at 0.5 (15 × 0.5 is a half) and includes 0 and a high rate. */
  rates?: number[];
  seed?: number;
}

/**
 * Scores with many ties (a few distinct values) so that tie-breaking is exercised, and -Infinity
 * at weights already pruned: a masker that counted pruned weights as candidates would "prune"
 * them again and fall short of the count.
 */
export function tiedScores(model: Pick<ModelSpec, 'prunable' | 'shapes'>, masks: Masks, seed: number): Scores {
  const random = seededRandom(seed);
  const scores: Scores = {};
  for (const name of model.prunable) {
    const mask = masks[name];
    const data = new Float32Array(mask.data.length);
    for (let i = 0; i < data.length; i++) data[i] = mask.data[i] ? Math.floor(random() * 4) - 1.5 : -Infinity;
    scores[name] = { shape: [...model.shapes[name]], data };
  }
  return scores;
}

/** Prunable weight names grouped by layer, in `prunable` order. */
function layersOf(model: ModelSpec): string[][] {
  const groups = new Map<string, string[]>();
  for (const name of model.prunable) {
    const layer = model.layerOf[name] ?? name;
    groups.set(layer, [...(groups.get(layer) ?? []), name]);
  }
  return [...groups.values()];
}

function keptIn(masks: Masks, names: string[]): number {
  return names.reduce((sum, name) => sum + countKept(masks[name]), 0);
}

/** The masks a conforming masker must return, built from core's `pruneLowest`. */
function expectedMasks(allocation: 'per-layer' | 'total', model: ModelSpec, scores: Scores, masks: Masks, rate: number): Masks {
  const groups = allocation === 'total' ? [model.prunable] : layersOf(model);
  let out: Masks = {};
  for (const names of groups) out = { ...out, ...pruneLowest(scores, masks, names, countToPrune(rate, keptIn(masks, names))) };
  return out;
}

/**
 * Runs a masker over several levels of the fake model and throws (AssertionError) on any
 * violation of the Masker contract: a mask per prunable weight, same shapes, 0/1 Uint8Array
 * values, new arrays (inputs untouched), masks only shrink, the same result for the same inputs,
 * and, for `per-layer` / `total` allocation, exactly `countToPrune(rate, remaining)` pruned
 * (per layer or in total) with ties broken by lower flat index, as `pruneLowest` does.
 */
export function checkMasker<O>(masker: Masker<O>, opts: CheckMaskerOptions<O>): void {
  const label = pluginLabel('masker', masker);
  checkPluginShape('masker', masker);
  const options = { ...masker.defaults, ...opts.options } as O;
  const model = opts.model ?? fakeModel();
  const rates = opts.rates ?? [0.5, 0.2, 0, 0.35, 0.5, 0.8, 0.2];
  const seed = opts.seed ?? 7;

  let masks = denseMasks(model);
  rates.forEach((rate, i) => {
    const level = i + 1;
    const at = `${label}, level ${level} (rate ${rate})`;
    const scores = tiedScores(model, masks, seed + level);
    const before = copyMasks(masks);
    const next = masker.mask(scores, masks, rate, options, { model, level });

    assert.deepEqual(masks, before, `${at}: modified the masks it was given`);
    for (const name of model.prunable) {
      const m = next?.[name];
      assert.ok(m, `${at}: returned no mask for "${name}"`);
      assert.deepEqual(m.shape, model.shapes[name], `${at}: mask of "${name}" has shape [${m.shape}], the weight [${model.shapes[name]}]`);
      assert.ok(m.data instanceof Uint8Array, `${at}: mask of "${name}" must be a Uint8Array`);
      assert.equal(m.data.length, masks[name].data.length, `${at}: mask of "${name}" has the wrong length`);
      assert.notEqual(m.data, masks[name].data, `${at}: mask of "${name}" reuses the input array; return new masks`);
      const bad = m.data.findIndex((v) => v !== 0 && v !== 1);
      assert.equal(bad, -1, `${at}: mask of "${name}"[${bad}] is ${m.data[bad]}, not 0 or 1`);
      for (let j = 0; j < m.data.length; j++) {
        assert.ok(!(m.data[j] && !masks[name].data[j]), `${at}: revived pruned weight "${name}"[${j}]: masks may only shrink`);
      }
    }

    if (opts.allocation !== 'any') {
      const groups = opts.allocation === 'total' ? [model.prunable] : layersOf(model);
      for (const names of groups) {
        const remaining = keptIn(masks, names);
        const pruned = remaining - keptIn(next, names);
        const scope: string = opts.allocation === 'total' ? 'in total' : `in layer ${model.layerOf[names[0]] ?? names[0]}`;
        assert.equal(pruned, countToPrune(rate, remaining), `${at}: pruned ${pruned} of ${remaining} ${scope}, expected round(${rate} × ${remaining})`);
      }
      const expected = expectedMasks(opts.allocation, model, scores, masks, rate);
      for (const name of model.prunable) {
        assert.deepEqual(next[name].data, expected[name].data, `${at}: "${name}" pruned other weights than the lowest scores (ties: lower flat index first)`);
      }
    }

    const again = masker.mask(scores, masks, rate, options, { model, level });
    for (const name of model.prunable) assert.deepEqual(again[name].data, next[name].data, `${at}: two calls with the same inputs gave different masks for "${name}"`);
    masks = next;
  });
}
