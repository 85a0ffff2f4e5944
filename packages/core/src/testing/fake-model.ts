import * as tf from '@tensorflow/tfjs-core';
import type { Batch, FirstLayer, Masks, ModelSpec, RewindContext, ScorerContext, TensorMap } from '../contracts.js';
import { denseMasks } from '../pruning.js';
import { createScorerContext } from '../run/scorer-context.js';
import { fastRng } from '../seed.js';

export interface FakeModelOptions {
  inputSize?: number;
  hidden?: number;
  classes?: number;
}

/**
 * A tiny two-layer perceptron (`dense1` → relu → `dense2`) with known shapes, for conformance
 * checks and plugin tests. The output layer is deliberately not called `"output"`, so that
 * plugins resolving the `"output"` alias must go through `model.outputLayer`.
 * Defaults: 6 inputs, 5 hidden units, 3 classes: 30 + 15 = 45 prunable weights.
 */
export function fakeModel({ inputSize = 6, hidden = 5, classes = 3 }: FakeModelOptions = {}): ModelSpec {
  const shapes: Record<string, number[]> = {
    'dense1/kernel': [inputSize, hidden],
    'dense1/bias': [hidden],
    'dense2/kernel': [hidden, classes],
    'dense2/bias': [classes],
  };
  const weightNames = Object.keys(shapes);
  // Split after dense1's product (ModelSpec.firstLayer), as lenet is.
  const firstLayer: FirstLayer = {
    kernel: 'dense1/kernel',
    apply: (kernel, x) => tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D),
    rest(weights, z) {
      const h = tf.relu(tf.add(z, weights['dense1/bias']));
      return tf.add(tf.matMul(h as tf.Tensor2D, weights['dense2/kernel'] as tf.Tensor2D), weights['dense2/bias']);
    },
  };
  return {
    weightNames,
    prunable: ['dense1/kernel', 'dense2/kernel'],
    layerOf: {
      'dense1/kernel': 'dense1',
      'dense1/bias': 'dense1',
      'dense2/kernel': 'dense2',
      'dense2/bias': 'dense2',
    },
    outputLayer: 'dense2',
    shapes,
    init(seed: number): TensorMap {
      // Each tensor draws from its own seed so that two tensors of one init never share a stream.
      return tf.tidy(() => {
        const weights: TensorMap = {};
        weightNames.forEach((name, i) => {
          const shape = shapes[name];
          if (shape.length === 1) {
            weights[name] = tf.zeros(shape);
          } else {
            const limit = Math.sqrt(6 / (shape[0] + shape[1]));
            weights[name] = tf.randomUniform(shape, -limit, limit, 'float32', seed * 7919 + i);
          }
        });
        return weights;
      });
    },
    firstLayer,
    forward(weights: TensorMap, x: tf.Tensor): tf.Tensor {
      return tf.tidy(() => firstLayer.rest(weights, firstLayer.apply(weights['dense1/kernel'], x)));
    },
  };
}

/** A deterministic generator in [0, 1): test data that does not depend on tf's RNG (core's `fastRng`). */
export const seededRandom = fastRng;

/** Masks with roughly `fractionPruned` of each prunable weight pruned, from a seed. */
export function randomMasks(model: Pick<ModelSpec, 'prunable' | 'shapes'>, fractionPruned: number, seed: number): Masks {
  const random = seededRandom(seed);
  const masks = denseMasks(model);
  for (const mask of Object.values(masks)) {
    for (let i = 0; i < mask.data.length; i++) if (random() < fractionPruned) mask.data[i] = 0;
  }
  return masks;
}

function multiplyByMasks(weights: TensorMap, masks: Masks): TensorMap {
  return tf.tidy(() => {
    const out: TensorMap = {};
    for (const [name, w] of Object.entries(weights)) {
      const m = masks[name];
      out[name] = m ? tf.mul(w, tf.tensor(m.data, m.shape, 'float32')) : tf.clone(w);
    }
    return out;
  });
}

function disposeMap(map: TensorMap | undefined): void {
  if (map) for (const t of Object.values(map)) t.dispose();
}

/**
 * ∂(mean softmax cross-entropy)/∂w for the `fakeModel()` layout, at the masked weights, written
 * out by hand: tfjs-core's Node bundle registers no gradient functions, and the conformance
 * suite must not depend on whoever registers them.
 */
export function fakeModelGradients(weights: TensorMap, masks: Masks, batch: Batch): TensorMap {
  return tf.tidy(() => {
    const masked = (name: string): tf.Tensor2D => {
      const m = masks[name];
      return (m ? tf.mul(weights[name], tf.tensor(m.data, m.shape, 'float32')) : weights[name]) as tf.Tensor2D;
    };
    const x = batch.x as tf.Tensor2D;
    const w1 = masked('dense1/kernel');
    const w2 = masked('dense2/kernel');
    const z1 = tf.add(tf.matMul(x, w1), weights['dense1/bias']) as tf.Tensor2D;
    const h = tf.relu(z1);
    const logits = tf.add(tf.matMul(h, w2), weights['dense2/bias']) as tf.Tensor2D;
    const dLogits = tf.div(tf.sub(tf.softmax(logits), batch.y), x.shape[0]) as tf.Tensor2D;
    const dz1 = tf.mul(tf.matMul(dLogits, w2, false, true), tf.cast(tf.greater(z1, 0), 'float32')) as tf.Tensor2D;
    const maskOf = (name: string, g: tf.Tensor): tf.Tensor => {
      const m = masks[name];
      return m ? tf.mul(g, tf.tensor(m.data, m.shape, 'float32')) : g;
    };
    return {
      'dense1/kernel': maskOf('dense1/kernel', tf.matMul(x, dz1, true, false)),
      'dense1/bias': tf.sum(dz1, 0),
      'dense2/kernel': maskOf('dense2/kernel', tf.matMul(h, dLogits, true, false)),
      'dense2/bias': tf.sum(dLogits, 0),
    };
  });
}

/** A ScorerContext that owns its tensors: call `dispose()` when done. */
export interface FakeScorerContext extends ScorerContext {
  dispose(): void;
}

export interface FakeScorerContextOptions {
  model?: ModelSpec;
  seed?: number;
  level?: number;
  /** Current masks (default: dense). `weights` are zero where these are 0, as after training. */
  masks?: Masks;
  /** Also provide `rewind` (θk), distinct from `init` and `weights`. */
  withRewind?: boolean;
  /** Batch layout for `sampleBatch`; by default read from a `fakeModel()`-like spec. */
  inputSize?: number;
  classes?: number;
}

/**
 * A ScorerContext on `fakeModel()`: `init` = θ0 = `model.init(seed)`, `weights` = another init
 * standing in for trained weights, masked. `sampleBatch` draws random inputs with one-hot float32
 * labels from a stream seeded by `seed` (two contexts with the same seed give the same batches);
 * `gradients` is ∂(mean softmax cross-entropy)/∂w at the masked weights (`fakeModelGradients`,
 * so `model` must have the fake model's layout, whatever its sizes).
 */
export function fakeScorerContext(opts: FakeScorerContextOptions = {}): FakeScorerContext {
  const model = opts.model ?? fakeModel();
  const seed = opts.seed ?? 0;
  const masks = opts.masks ?? denseMasks(model);
  const init = model.init(seed);
  const unmasked = model.init(seed + 1);
  const weights = multiplyByMasks(unmasked, masks);
  disposeMap(unmasked);
  const rewind = opts.withRewind ? model.init(seed + 2) : undefined;
  const inputSize = opts.inputSize ?? model.shapes[model.weightNames[0]][0];
  const classes = opts.classes ?? model.shapes[model.weightNames[model.weightNames.length - 1]][0];
  let batchesDrawn = 0;

  const context = createScorerContext({
    model,
    weights,
    init,
    rewind,
    masks,
    level: opts.level ?? 1,
    seed,
    sampleBatch(size = 8): Batch {
      const batchSeed = seed * 100_003 + ++batchesDrawn;
      return tf.tidy(() => ({
        x: tf.randomNormal([size, inputSize], 0, 1, 'float32', batchSeed),
        y: tf.cast(tf.oneHot(tf.randomUniform([size], 0, classes, 'int32', batchSeed + 1) as tf.Tensor1D, classes), 'float32'),
      }));
    },
    gradients: (at: TensorMap, batch: Batch): TensorMap => fakeModelGradients(at, masks, batch),
  });
  return {
    ...context,
    dispose() {
      disposeMap(init);
      disposeMap(weights);
      disposeMap(rewind);
    },
  };
}

/** A RewindContext that owns its tensors: call `dispose()` when done. */
export interface FakeRewindContext extends RewindContext {
  dispose(): void;
}

export interface FakeRewindContextOptions {
  model?: ModelSpec;
  seed?: number;
  level?: number;
  /** Iterations with a snapshot; the snapshot at k > 0 is `model.init(seed + 1000 + k)`, at 0 a copy of θ0. */
  snapshotsAt?: number[];
  iterationsPerEpoch?: number;
  totalIterations?: number;
  masks?: Masks;
}

/**
 * A RewindContext on `fakeModel()`: θ0 = `model.init(seed)`, θT (`final`) = `model.init(seed + 1)`,
 * distinct snapshots, so a test can tell which weights a rewinder started from.
 */
export function fakeRewindContext(opts: FakeRewindContextOptions = {}): FakeRewindContext {
  const model = opts.model ?? fakeModel();
  const seed = opts.seed ?? 0;
  const init = model.init(seed);
  const final = model.init(seed + 1);
  const snapshots = new Map<number, TensorMap>();
  for (const k of opts.snapshotsAt ?? []) {
    snapshots.set(k, k === 0 ? tf.tidy(() => Object.fromEntries(Object.entries(init).map(([n, t]) => [n, tf.clone(t)]))) : model.init(seed + 1000 + k));
  }
  return {
    model,
    init,
    final,
    snapshots,
    masks: opts.masks ?? randomMasks(model, 0.5, seed),
    level: opts.level ?? 1,
    seed,
    iterationsPerEpoch: opts.iterationsPerEpoch ?? 10,
    totalIterations: opts.totalIterations ?? 100,
    dispose() {
      disposeMap(init);
      disposeMap(final);
      for (const map of snapshots.values()) disposeMap(map);
    },
  };
}
