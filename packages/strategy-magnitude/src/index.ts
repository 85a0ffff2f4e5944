import { type DependencyContainer, TOKENS } from '@lth/core';
import { globalMasker } from './global-masker.js';
import { layerwiseMasker } from './layerwise-masker.js';
import { magnitudeScorer } from './magnitude-scorer.js';

export { magnitudeScorer, type MagnitudeScorerOptions } from './magnitude-scorer.js';
export { layerwiseMasker, type LayerwiseMaskerOptions } from './layerwise-masker.js';
export { globalMasker, type GlobalMaskerOptions } from './global-masker.js';
export { VERSION } from './version.js';

/** Adds this package's plugins to `container` (called by the loader; importing registers nothing). */
export function register(container: DependencyContainer): void {
  container.register(TOKENS.scorer, { useValue: magnitudeScorer });
  container.register(TOKENS.masker, { useValue: layerwiseMasker });
  container.register(TOKENS.masker, { useValue: globalMasker });
}
