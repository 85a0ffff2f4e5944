import { API_VERSION, type Masker, type Static, Type } from '@lth/core';
import { overridesSchema, pruneGroups, pruningGroups } from './overrides.js';
import { VERSION } from './version.js';

const optionsSchema = Type.Object({ overrides: Type.Optional(overridesSchema) }, { additionalProperties: false });
export type GlobalMaskerOptions = Static<typeof optionsSchema>;

/**
 * Prunes `round(rate × all remaining weights)` of the lowest scores over every prunable weight
 * together, so layers end up at different sparsities (the paper's VGG/ResNet setting). Layers
 * named in `overrides` are left out of the pool and pruned on their own at their own rate.
 */
export const globalMasker: Masker<GlobalMaskerOptions> = {
  meta: {
    name: 'global',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Prune the lowest scores over all layers together (overridden layers pruned on their own)',
  },
  optionsSchema,
  defaults: { overrides: {} },
  mask(scores, masks, rate, options, { model }) {
    return pruneGroups(pruningGroups(model, rate, options.overrides, true), scores, masks);
  },
};
