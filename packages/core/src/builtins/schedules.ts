import { Type } from '@sinclair/typebox';
import { API_VERSION, type PruningSchedule } from '../contracts.js';
import { CORE_VERSION } from './version.js';

const meta = (name: string, description: string) => ({ name, version: CORE_VERSION, apiVersion: API_VERSION, description });

export interface IterativeOptions {
  levels: number;
  rate: number;
  atInit: boolean;
}

/** Prune `rate` of the remaining weights before each of `levels` levels (Frankle & Carbin). */
export const iterativeSchedule: PruningSchedule<IterativeOptions> = {
  meta: meta('iterative', 'prune a fixed fraction of the remaining weights before each level'),
  optionsSchema: Type.Object({
    levels: Type.Integer({ minimum: 0, maximum: 1000, description: 'Pruned levels after the dense level 0 (at most 1000).' }),
    rate: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Fraction of the remaining weights pruned before each level (0.2 = 20%).' }),
    atInit: Type.Boolean({ description: 'Also prune before the first training, scoring θ0 (pruning at initialisation).' }),
  }),
  defaults: { levels: 20, rate: 0.2, atInit: false },
  plan: (o) => ({ levels: o.levels, rateAt: () => o.rate, atInit: o.atInit }),
};

export interface OneShotOptions {
  sparsity: number;
  atInit: boolean;
}

/** Prune straight to the target sparsity in a single level. */
export const oneShotSchedule: PruningSchedule<OneShotOptions> = {
  meta: meta('one-shot', 'prune to the target sparsity in one level'),
  optionsSchema: Type.Object({
    sparsity: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Fraction of prunable weights removed in the single pruned level (0.8 = keep 20%).' }),
    atInit: Type.Boolean({ description: 'Prune before the first training, scoring θ0 (level 0 trains the sparse net).' }),
  }),
  defaults: { sparsity: 0.8, atInit: false },
  plan: (o) => ({ levels: o.atInit ? 0 : 1, rateAt: () => o.sparsity, atInit: o.atInit }),
};
