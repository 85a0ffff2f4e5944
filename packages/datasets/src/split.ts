import { type DataSplit, UserError } from '@lth/core';
import { permutation } from './random.js';

/**
 * Holds out `validation` examples of `pool`, chosen by a permutation fixed by `splitSeed`.
 * Both parts keep the pool's original order, so the split depends only on (pool size,
 * validation, splitSeed) and never on the run seed.
 */
export function carveValidation(
  pool: DataSplit,
  exampleSize: number,
  validation: number,
  splitSeed: number,
  datasetName: string,
): { train: DataSplit; validation: DataSplit } {
  if (!Number.isInteger(validation) || validation < 0 || validation >= pool.count) {
    throw new UserError(
      `/dataset/validation: dataset "${datasetName}": validation must be a whole number from 0 to ${pool.count - 1} ` +
        `(the training pool has ${pool.count} examples), got ${validation}`,
      '/dataset/validation',
    );
  }
  const held = new Uint8Array(pool.count);
  const order = permutation(pool.count, splitSeed);
  for (let i = 0; i < validation; i++) held[order[i]!] = 1;
  const train = emptySplit(pool.count - validation, exampleSize);
  const val = emptySplit(validation, exampleSize);
  let t = 0;
  let v = 0;
  for (let i = 0; i < pool.count; i++) {
    const target = held[i] ? val : train;
    const j = held[i] ? v++ : t++;
    target.x.set(pool.x.subarray(i * exampleSize, (i + 1) * exampleSize), j * exampleSize);
    target.y[j] = pool.y[i]!;
  }
  return { train, validation: val };
}

/** The first `count` examples of a split (copies, so the rest can be garbage-collected). */
export function takeFirst(split: DataSplit, exampleSize: number, count: number): DataSplit {
  if (count >= split.count) return split;
  return {
    x: split.x.slice(0, count * exampleSize),
    y: split.y.slice(0, count),
    count,
  };
}

function emptySplit(count: number, exampleSize: number): DataSplit {
  return { x: new Float32Array(count * exampleSize), y: new Int32Array(count), count };
}
