import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_VERSION, type Dataset, type DatasetProvider, type DataSplit, type Static, Type, UserError } from '@lth/core';
import { carveValidation, takeFirst } from './split.js';
import { VERSION } from './version.js';

export const CIFAR_SIDE = 32;
export const CIFAR_CHANNELS = 3;
export const CIFAR_PIXELS = CIFAR_SIDE * CIFAR_SIDE * CIFAR_CHANNELS;
/** One record of the binary distribution: a label byte, then 1024 red, 1024 green, 1024 blue bytes. */
export const CIFAR_RECORD_BYTES = 1 + CIFAR_PIXELS;
export const CIFAR_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR_TEST_FILE = 'test_batch.bin';
/** Per-channel mean and standard deviation of the 50,000 training images in [0, 1] (the usual constants). */
export const CIFAR_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR_STD = [0.247, 0.2435, 0.2616] as const;
const CLASSES = 10;
const PAD = 4;

export const Cifar10Options = Type.Object(
  {
    dir: Type.String({
      minLength: 1,
      description:
        'Directory of the CIFAR-10 binary version (data_batch_1.bin … data_batch_5.bin, test_batch.bin), relative to the config file: ' +
        'the folder cifar-10-batches-bin/ that https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz unpacks to.',
    }),
    normalize: Type.Union([Type.Literal('standard'), Type.Literal('unit')], {
      description:
        'Pixel scaling. "standard": per channel, (x / 255 − mean) / std with the training-set mean (0.4914, 0.4822, 0.4465) and std (0.2470, 0.2435, 0.2616), as OpenLTH; ' +
        '"unit": x / 255.',
    }),
    augment: Type.Boolean({
      description:
        'Standard CIFAR augmentation of training batches: pad 4 pixels (black) on each side, crop a random 32×32 window, flip horizontally with probability 1/2. ' +
        'Seeded per iteration by core; evaluation never augments.',
    }),
    splitSeed: Type.Integer({ description: 'Seed of the permutation that picks the validation images from the 50,000 training images.' }),
    trainSubset: Type.Optional(Type.Integer({ minimum: 1, description: 'Use only the first N training images left after the validation split (quick tests).' })),
    testSubset: Type.Optional(Type.Integer({ minimum: 1, description: 'Use only the first N test images (quick tests).' })),
  },
  { additionalProperties: false },
);
export type Cifar10Options = Static<typeof Cifar10Options>;

export const cifar10Defaults = { dir: 'cifar-10-batches-bin', normalize: 'standard', augment: true, splitSeed: 0 } satisfies Cifar10Options;

const WHERE =
  'Download the CIFAR-10 binary version from https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-binary.tar.gz, 162 MB), ' +
  'unpack it (tar xzf cifar-10-binary.tar.gz) and point dataset.dir at the cifar-10-batches-bin folder, which holds ' +
  `${CIFAR_TRAIN_FILES.join(', ')} and ${CIFAR_TEST_FILE} (10,000 records of ${CIFAR_RECORD_BYTES} bytes each).`;

/** The value each channel of a black pixel has after `normalize` (what padding fills in). */
export function blackLevel(normalize: Cifar10Options['normalize']): number[] {
  return normalize === 'standard' ? CIFAR_MEAN.map((m, c) => -m / CIFAR_STD[c]!) : [0, 0, 0];
}

/**
 * Decodes records of the CIFAR-10 binary format into NHWC float32 (the file is channel-planar:
 * 1024 R, then G, then B, each row-major). Any file that is not a whole number of 3,073-byte
 * records, or that has a label outside 0–9, is a UserError naming the file.
 */
export function parseCifarBatch(bytes: Uint8Array, source: string, normalize: Cifar10Options['normalize'] = 'standard'): DataSplit {
  if (bytes.length === 0 || bytes.length % CIFAR_RECORD_BYTES !== 0) {
    const whole = Math.floor(bytes.length / CIFAR_RECORD_BYTES);
    throw new UserError(
      `${source}: not a CIFAR-10 binary batch: ${bytes.length} bytes is not a whole number of ${CIFAR_RECORD_BYTES}-byte records ` +
        `(${whole} records and ${bytes.length - whole * CIFAR_RECORD_BYTES} bytes left over; a complete batch is 10,000 records, ${10_000 * CIFAR_RECORD_BYTES} bytes). ` +
        'The file is truncated or not from the binary version. ' + WHERE,
    );
  }
  const count = bytes.length / CIFAR_RECORD_BYTES;
  const x = new Float32Array(count * CIFAR_PIXELS);
  const y = new Int32Array(count);
  // One lookup table per channel keeps decoding a plain indexed copy.
  const tables = [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = normalize === 'standard' ? (v / 255 - CIFAR_MEAN[c]!) / CIFAR_STD[c]! : v / 255;
    return t;
  });
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  for (let n = 0; n < count; n++) {
    const record = n * CIFAR_RECORD_BYTES;
    const label = bytes[record]!;
    if (label >= CLASSES) throw new UserError(`${source}: record ${n} has label ${label}, not a class 0–9; is this CIFAR-100?`);
    y[n] = label;
    const out = n * CIFAR_PIXELS;
    for (let c = 0; c < CIFAR_CHANNELS; c++) {
      const table = tables[c]!;
      const from = record + 1 + c * plane;
      for (let p = 0; p < plane; p++) x[out + p * CIFAR_CHANNELS + c] = table[bytes[from + p]!]!;
    }
  }
  return { x, y, count };
}

function concatSplits(parts: DataSplit[]): DataSplit {
  const count = parts.reduce((n, p) => n + p.count, 0);
  const x = new Float32Array(count * CIFAR_PIXELS);
  const y = new Int32Array(count);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at * CIFAR_PIXELS);
    y.set(p.y, at);
    at += p.count;
  }
  return { x, y, count };
}

/**
 * In-place CIFAR augmentation of `count` NHWC images: each image is padded by 4 pixels of
 * `fill` (per channel), a 32×32 window at a random offset in [0, 8]² is cropped, and it is flipped
 * left–right with probability 1/2. Three draws per image, in this order: flip, row offset,
 * column offset. Same generator state, same result.
 */
export function augmentCifar(x: Float32Array, count: number, random: () => number, fill: number[], side = CIFAR_SIDE): void {
  const channels = CIFAR_CHANNELS;
  const size = side * side * channels;
  const copy = new Float32Array(size);
  for (let n = 0; n < count; n++) {
    const flip = random() < 0.5;
    const dy = Math.floor(random() * (2 * PAD + 1)) - PAD;
    const dx = Math.floor(random() * (2 * PAD + 1)) - PAD;
    const image = x.subarray(n * size, (n + 1) * size);
    copy.set(image);
    for (let r = 0; r < side; r++) {
      const sr = r + dy;
      for (let col = 0; col < side; col++) {
        const sc = (flip ? side - 1 - col : col) + dx;
        const to = (r * side + col) * channels;
        if (sr < 0 || sr >= side || sc < 0 || sc >= side) {
          for (let c = 0; c < channels; c++) image[to + c] = fill[c]!;
        } else {
          const from = (sr * side + sc) * channels;
          for (let c = 0; c < channels; c++) image[to + c] = copy[from + c]!;
        }
      }
    }
  }
}

function readBatch(dir: string, file: string, normalize: Cifar10Options['normalize']): DataSplit {
  const path = join(dir, file);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`Cannot read CIFAR-10 file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. ${WHERE}`, '/dataset/dir');
  }
  return parseCifarBatch(bytes, path, normalize);
}

export const cifar10: DatasetProvider<Cifar10Options> = {
  meta: {
    name: 'cifar10',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'CIFAR-10 (32×32×3, 10 classes) from your local copy of the binary version; crop-and-flip augmentation; validation carved from the 50,000 training images',
  },
  optionsSchema: Cifar10Options,
  defaults: cifar10Defaults,

  async load(options, ctx): Promise<Dataset> {
    const o = { ...cifar10Defaults, ...options };
    const dir = ctx.resolvePath(o.dir);
    const missing = [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE].filter((f) => !existsSync(join(dir, f)));
    if (missing.length) {
      throw new UserError(`CIFAR-10 not found: ${dir} lacks ${missing.join(', ')}. ${WHERE}`, '/dataset/dir');
    }
    const pool = concatSplits(CIFAR_TRAIN_FILES.map((f) => readBatch(dir, f, o.normalize)));
    const fullTest = readBatch(dir, CIFAR_TEST_FILE, o.normalize);
    const { train, validation } = carveValidation(pool, CIFAR_PIXELS, options.validation, o.splitSeed, 'cifar10');
    const fill = blackLevel(o.normalize);
    return {
      name: 'cifar10',
      inputShape: [CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS],
      numClasses: CLASSES,
      train: o.trainSubset === undefined ? train : takeFirst(train, CIFAR_PIXELS, o.trainSubset),
      validation,
      test: o.testSubset === undefined ? fullTest : takeFirst(fullTest, CIFAR_PIXELS, o.testSubset),
      ...(o.augment ? { augment: (x: Float32Array, count: number, random: () => number) => augmentCifar(x, count, random, fill) } : {}),
    };
  },
};
