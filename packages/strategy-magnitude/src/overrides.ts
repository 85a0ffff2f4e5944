import { copyMasks, countKept, countToPrune, type Masks, type ModelSpec, pruneLowest, type Scores, Type, UserError } from '@lth/core';

/** The `overrides` option both maskers share. */
export const overridesSchema = Type.Record(Type.String(), Type.Number({ minimum: 0, maximum: 1 }), {
  description:
    'Per-layer pruning rates that replace `rate` for the layers named: a layer name, a prunable weight name, or "output" for ' +
    'the model\'s output layer. Each is the fraction of that layer\'s remaining weights pruned per level, e.g. { "output": 0.1 } ' +
    'with rate 0.2 (the lottery-ticket paper\'s LeNet setting).',
});

/** A set of prunable weights pruned together at one rate. */
export interface PruningGroup {
  names: string[];
  rate: number;
}

/**
 * The rate of every prunable weight named (directly, through its layer, or through the `"output"`
 * alias) in `overrides`. A key that names nothing, or two keys that name the same weight, is a
 * UserError pointing at the key.
 */
export function overriddenRates(model: ModelSpec, overrides: Record<string, number> = {}): Map<string, number> {
  const layerOf = (name: string) => model.layerOf[name] ?? name;
  const layers = [...new Set(model.prunable.map(layerOf))];
  const rates = new Map<string, number>();
  const claimedBy = new Map<string, string>();
  for (const [key, rate] of Object.entries(overrides)) {
    const field = `/pruning/masker/overrides/${key}`;
    // A weight name, else a layer name, else the alias; a layer literally called "output" wins over the alias.
    let names: string[];
    if (model.prunable.includes(key)) names = [key];
    else if (layers.includes(key)) names = model.prunable.filter((n) => layerOf(n) === key);
    else if (key === 'output') names = model.prunable.filter((n) => layerOf(n) === model.outputLayer);
    else names = [];
    if (names.length === 0) {
      throw new UserError(
        `${field}: "${key}" names no prunable layer of this model. Layers: ${layers.join(', ')}` +
          ` ("output" = ${model.outputLayer}); weight names work too.`,
        field,
      );
    }
    for (const name of names) {
      const earlier = claimedBy.get(name);
      if (earlier !== undefined) {
        throw new UserError(`${field}: "${key}" and "${earlier}" both set the rate of ${name}; keep one`, field);
      }
      claimedBy.set(name, key);
      rates.set(name, rate);
    }
  }
  return rates;
}

/**
 * The pruning groups of a level: every overridden layer on its own at its override rate, and the
 * rest either pooled into one group (global) or one group per layer (layer-wise) at `rate`.
 * Names keep `model.prunable` order, which is the flat order that breaks ties.
 */
export function pruningGroups(model: ModelSpec, rate: number, overrides: Record<string, number> | undefined, pooled: boolean): PruningGroup[] {
  const overridden = overriddenRates(model, overrides);
  const byKey = new Map<string, PruningGroup>();
  for (const name of model.prunable) {
    const layer = model.layerOf[name] ?? name;
    const own = overridden.get(name);
    // Weights of one layer with the same rate stay together; the pooled group has its own key.
    const key = own !== undefined ? `layer:${layer}:${own}` : pooled ? 'pooled' : `layer:${layer}:${rate}`;
    const group = byKey.get(key) ?? { names: [], rate: own ?? rate };
    group.names.push(name);
    byKey.set(key, group);
  }
  return [...byKey.values()];
}

/**
 * Prunes `countToPrune(group.rate, kept in group)` of the lowest scores in each group. Returns
 * new masks; masks of weights in no group are copied unchanged.
 */
export function pruneGroups(groups: PruningGroup[], scores: Scores, masks: Masks): Masks {
  let next: Masks = copyMasks(masks);
  for (const { names, rate } of groups) {
    const kept = names.reduce((sum, name) => sum + countKept(masks[name]), 0);
    next = { ...next, ...pruneLowest(scores, masks, names, countToPrune(rate, kept)) };
  }
  return next;
}
