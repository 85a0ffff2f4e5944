import { API_VERSION, type Dataset, type DatasetProvider, type DataSplit, type Static, Type, UserError } from '@lth/core';
import { gaussian, seededRandom } from './random.js';
import { carveValidation } from './split.js';
import { VERSION } from './version.js';

export const SyntheticOptions = Type.Object(
  {
    train: Type.Integer({
      minimum: 2,
      maximum: 10_000_000,
      description: 'Size of the training pool; the validation examples are carved out of it, the rest is the training split.',
    }),
    test: Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'Number of test examples.' }),
    inputShape: Type.Array(Type.Integer({ minimum: 1, maximum: 65536 }), {
      minItems: 1,
      maxItems: 4,
      description: 'Shape of one example, e.g. [16] or [4, 4, 1].',
    }),
    numClasses: Type.Integer({ minimum: 2, maximum: 100_000, description: 'Number of classes.' }),
    noise: Type.Number({
      minimum: 0,
      description:
        'Standard deviation of the Gaussian noise added to each class prototype (whose entries are standard normal). ' +
        'Small values make the problem easy; around 1 it gets hard for few input features.',
    }),
    dataSeed: Type.Integer({
      description: 'Seed of the prototypes and the noise. Independent of the run seed, so runs of a sweep share the data.',
    }),
    splitSeed: Type.Integer({ description: 'Seed of the permutation that picks the validation examples from the training pool.' }),
  },
  { additionalProperties: false },
);
export type SyntheticOptions = Static<typeof SyntheticOptions>;

export const syntheticDefaults = {
  train: 1000,
  test: 500,
  inputShape: [16],
  numClasses: 4,
  noise: 0.5,
  dataSeed: 0,
  splitSeed: 0,
} satisfies SyntheticOptions;

/**
 * Gaussian blobs: each class has a prototype with standard normal entries, and an example is
 * its class's prototype plus `noise`-scaled Gaussian noise. Labels cycle through the classes so
 * that every split is nearly balanced. Train and test are drawn from the same distribution.
 */
/** The most floats the generated data may hold (2 GiB of float32): more is a typo, not a data set. */
const MAX_VALUES = 2 ** 29;

export function generateBlobs(options: SyntheticOptions): { pool: DataSplit; test: DataSplit; exampleSize: number } {
  const exampleSize = options.inputShape.reduce((a, b) => a * b, 1);
  const values = (options.train + options.test + options.numClasses) * exampleSize;
  if (values > MAX_VALUES) {
    throw new UserError(
      `/dataset: ${options.train + options.test} examples of shape [${options.inputShape.join(', ')}] are ${values.toExponential(2)} values, more than ${MAX_VALUES.toExponential(2)}; use fewer or smaller examples`,
      '/dataset',
    );
  }
  const normal = gaussian(seededRandom(options.dataSeed));
  const prototypes = new Float32Array(options.numClasses * exampleSize);
  for (let i = 0; i < prototypes.length; i++) prototypes[i] = normal();
  const draw = (count: number): DataSplit => {
    const x = new Float32Array(count * exampleSize);
    const y = new Int32Array(count);
    for (let n = 0; n < count; n++) {
      const c = n % options.numClasses;
      y[n] = c;
      for (let j = 0; j < exampleSize; j++) x[n * exampleSize + j] = prototypes[c * exampleSize + j]! + options.noise * normal();
    }
    return { x, y, count };
  };
  const pool = draw(options.train);
  const test = draw(options.test);
  return { pool, test, exampleSize };
}

export const synthetic: DatasetProvider<SyntheticOptions> = {
  meta: {
    name: 'synthetic',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Seeded Gaussian blobs: a small learnable classification problem for tests',
  },
  optionsSchema: SyntheticOptions,
  defaults: syntheticDefaults,

  async load(options): Promise<Dataset> {
    const resolved = { ...syntheticDefaults, ...options };
    const { pool, test, exampleSize } = generateBlobs(resolved);
    const { train, validation } = carveValidation(pool, exampleSize, options.validation, resolved.splitSeed, 'synthetic');
    return {
      name: 'synthetic',
      inputShape: [...resolved.inputShape],
      numClasses: resolved.numClasses,
      train,
      validation,
      test,
    };
  },
};
