import { type DependencyContainer, TOKENS } from '@lth/core';
import { mnist } from './mnist.js';
import { synthetic } from './synthetic.js';

export { mnist, MnistOptions, mnistDataDir, readMnistPair } from './mnist.js';
export { synthetic, SyntheticOptions, syntheticDefaults, generateBlobs } from './synthetic.js';
export { parseIdx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxArray } from './idx.js';
export { carveValidation, takeFirst } from './split.js';
export { seededRandom, gaussian, permutation } from './random.js';
export { VERSION } from './version.js';

/** Every dataset this package provides. */
export const datasets = [mnist, synthetic] as const;

/** Registers this package's datasets; called by the plugin loader, never on import. */
export function register(container: DependencyContainer): void {
  for (const plugin of datasets) container.register(TOKENS.dataset, { useValue: plugin });
}
