import { type DependencyContainer, TOKENS } from '@lth/core';
import { cifar10 } from './cifar10.js';
import { fashionMnist } from './fashion-mnist.js';
import { mnist } from './mnist.js';
import { synthetic } from './synthetic.js';

export { mnist, MnistOptions, mnistDataDir, readMnistPair } from './mnist.js';
export {
  cifar10,
  Cifar10Options,
  cifar10Defaults,
  parseCifarBatch,
  augmentCifar,
  blackLevel,
  CIFAR_MEAN,
  CIFAR_STD,
  CIFAR_RECORD_BYTES,
  CIFAR_TRAIN_FILES,
  CIFAR_TEST_FILE,
} from './cifar10.js';
export { fashionMnist, FashionMnistOptions, fashionMnistDefaults, readFashionPackage, readFashionIdx, fashionMnistPackageDir } from './fashion-mnist.js';
export { synthetic, SyntheticOptions, syntheticDefaults, generateBlobs } from './synthetic.js';
export { parseIdx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxArray } from './idx.js';
export { carveValidation, takeFirst } from './split.js';
export { seededRandom, gaussian, permutation } from './random.js';
export { VERSION } from './version.js';

/** Every dataset this package provides. */
export const datasets = [mnist, fashionMnist, cifar10, synthetic] as const;

/** Registers this package's datasets; called by the plugin loader, never on import. */
export function register(container: DependencyContainer): void {
  for (const plugin of datasets) container.register(TOKENS.dataset, { useValue: plugin });
}
