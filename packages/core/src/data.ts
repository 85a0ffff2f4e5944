import * as tf from '@tensorflow/tfjs-core';
import type { Batch, DataSplit, Dataset } from './contracts.js';
import { deriveSeed, permutation, rng } from './seed.js';

const features = (inputShape: number[]) => inputShape.reduce((a, b) => a * b, 1);

/** Copies the examples `indices` of a split into tensors: x [n, ...inputShape], y one-hot [n, classes]. */
export function gather(dataset: Dataset, split: DataSplit, indices: ArrayLike<number>, augment?: () => number): Batch {
  const f = features(dataset.inputShape);
  const n = indices.length;
  const x = new Float32Array(n * f);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    x.set(split.x.subarray(j * f, (j + 1) * f), i * f);
    y[i] = split.y[j];
  }
  if (augment && dataset.augment) dataset.augment(x, n, augment);
  return tf.tidy(() => ({
    x: tf.tensor(x, [n, ...dataset.inputShape], 'float32'),
    y: tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), dataset.numClasses), 'float32'),
  }));
}

/**
 * Training batches as a pure function of the iteration: epoch e visits the training set in a
 * permutation seeded by (seed, e), dropping the last partial batch. A level that starts at
 * iteration k (late rewinding) therefore sees exactly the batches the dense run saw from k on,
 * and a resumed run sees the same batches as an uninterrupted one.
 */
export class BatchStream {
  readonly iterationsPerEpoch: number;
  private epoch = -1;
  private order: Uint32Array = new Uint32Array(0);

  constructor(
    private readonly dataset: Dataset,
    private readonly split: DataSplit,
    readonly batchSize: number,
    private readonly seed: number,
  ) {
    this.iterationsPerEpoch = Math.floor(split.count / batchSize);
    if (this.iterationsPerEpoch < 1) {
      throw new Error(`batch size ${batchSize} is larger than the ${split.count} training examples`);
    }
  }

  batchAt(iteration: number): Batch {
    const epoch = Math.floor(iteration / this.iterationsPerEpoch);
    if (epoch !== this.epoch) {
      this.order = permutation(this.split.count, deriveSeed(this.seed, 'epoch', epoch));
      this.epoch = epoch;
    }
    const start = (iteration % this.iterationsPerEpoch) * this.batchSize;
    const augment = this.dataset.augment ? rng(deriveSeed(this.seed, 'augment', iteration)) : undefined;
    return gather(this.dataset, this.split, this.order.subarray(start, start + this.batchSize), augment);
  }
}

/** A fixed evaluation set, held as tensors for the whole run (chunked to bound memory). */
export class EvalSet {
  readonly chunks: Batch[] = [];
  readonly count: number;

  constructor(dataset: Dataset, split: DataSplit, limit = split.count, chunk = 1000) {
    this.count = Math.min(limit, split.count);
    for (let start = 0; start < this.count; start += chunk) {
      const idx = Array.from({ length: Math.min(chunk, this.count - start) }, (_, i) => start + i);
      const b = gather(dataset, split, idx);
      this.chunks.push({ x: tf.keep(b.x), y: tf.keep(b.y) });
    }
  }

  dispose(): void {
    for (const c of this.chunks) tf.dispose([c.x, c.y]);
  }
}
