import { API_VERSION, type Masker, type Static, Type } from '@lth/core';
import { overridesSchema, pruneGroups, pruningGroups } from './overrides.js';
import { VERSION } from './version.js';

const optionsSchema = Type.Object({ overrides: Type.Optional(overridesSchema) }, { additionalProperties: false });
export type LayerwiseMaskerOptions = Static<typeof optionsSchema>;

/**
 * Each layer prunes `round(rate × its remaining weights)` of its lowest scores, so every layer
 * keeps the same fraction (or its override's): the lottery-ticket paper's LeNet and Conv setting.
 */
export const layerwiseMasker: Masker<LayerwiseMaskerOptions> = {
  meta: {
    name: 'layerwise',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Prune the same fraction of the remaining weights in every layer (per-layer overrides)',
  },
  optionsSchema,
  defaults: { overrides: {} },
  mask(scores, masks, rate, options, { model }) {
    return pruneGroups(pruningGroups(model, rate, options.overrides, false), scores, masks);
  },
};
