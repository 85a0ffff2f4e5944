import { type ModelSpec, type TensorMap, tf, UserError } from '@lth/core';
import { initWeight, type KernelInit, weightSeed } from './init.js';

/** PyTorch's batch-norm defaults: running = (1 − 0.1)·running + 0.1·batch; ε = 1e-5. */
export const BN_MOMENTUM = 0.1;
export const BN_EPSILON = 1e-5;

type Initialiser = (seed: number) => tf.Tensor;

/**
 * Collects a model's tensors as its layers are declared, in a stable order: names, shapes, which
 * are prunable (kernels only), which layer each kernel belongs to, which are buffers, and how each
 * is initialised. Declaring a layer allocates nothing; `init` does.
 */
export class LayerTable {
  readonly weightNames: string[] = [];
  readonly prunable: string[] = [];
  readonly layerOf: Record<string, string> = {};
  readonly shapes: Record<string, number[]> = {};
  readonly buffers: string[] = [];
  private readonly initialisers = new Map<string, Initialiser>();

  /** A prunable dense ([in, out]) or convolution ([kh, kw, in, out]) kernel `<layer>/kernel`. */
  kernel(layer: string, shape: number[], kind: KernelInit): string {
    const name = `${layer}/kernel`;
    this.add(name, shape, (seed) => initWeight(kind, shape, weightSeed(seed, name)));
    this.prunable.push(name);
    this.layerOf[name] = layer;
    return name;
  }

  /** A bias `<layer>/bias`, starting at zero, never pruned. */
  bias(layer: string, size: number): string {
    const name = `${layer}/bias`;
    this.add(name, [size], () => tf.zeros([size]));
    return name;
  }

  /**
   * Batch norm over `channels`: trainable `<layer>/gamma` (ones) and `<layer>/beta` (zeros), and
   * the buffers `<layer>/mean` (zeros) and `<layer>/variance` (ones). None of them is prunable.
   */
  batchNorm(layer: string, channels: number): void {
    this.add(`${layer}/gamma`, [channels], () => tf.ones([channels]));
    this.add(`${layer}/beta`, [channels], () => tf.zeros([channels]));
    this.addBuffer(`${layer}/mean`, [channels], () => tf.zeros([channels]));
    this.addBuffer(`${layer}/variance`, [channels], () => tf.ones([channels]));
  }

  addBuffer(name: string, shape: number[], init: Initialiser): void {
    this.shapes[name] = shape;
    this.buffers.push(name);
    this.initialisers.set(name, init);
  }

  private add(name: string, shape: number[], init: Initialiser): void {
    if (this.shapes[name]) throw new Error(`duplicate weight name ${name}`);
    this.shapes[name] = shape;
    this.weightNames.push(name);
    this.initialisers.set(name, init);
  }

  /** Every weight and buffer, freshly initialised from `seed` (each from its own derived seed). */
  init(seed: number): TensorMap {
    const out: TensorMap = {};
    for (const name of [...this.weightNames, ...this.buffers]) out[name] = this.initialisers.get(name)!(seed);
    return out;
  }

  /** The parts of a ModelSpec that describe the tensors. */
  describe(outputLayer: string): Pick<ModelSpec, 'weightNames' | 'prunable' | 'layerOf' | 'outputLayer' | 'shapes'> & { buffers?: string[] } {
    return {
      weightNames: this.weightNames,
      prunable: this.prunable,
      layerOf: this.layerOf,
      outputLayer,
      shapes: this.shapes,
      ...(this.buffers.length ? { buffers: this.buffers } : {}),
    };
  }
}

/** Number of scalars in a shape. */
export const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A 3×3 (or k×k) convolution with PyTorch's symmetric zero padding of (k − 1) / 2, NHWC. For
 * stride 1 that is tfjs's 'same'; for stride 2 'same' would pad only bottom/right, so the input is
 * padded explicitly and convolved 'valid' (the outputs then line up with PyTorch's).
 */
export function conv(x: tf.Tensor4D, kernel: tf.Tensor, stride = 1, bias?: tf.Tensor): tf.Tensor4D {
  const k = kernel.shape[0]!;
  let y: tf.Tensor4D;
  if (stride === 1 || k === 1) {
    y = tf.conv2d(x, kernel as tf.Tensor4D, stride, k === 1 ? 'valid' : 'same');
  } else {
    const p = (k - 1) / 2;
    y = tf.conv2d(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]), kernel as tf.Tensor4D, stride, 'valid');
  }
  return bias ? tf.add(y, bias) : y;
}

/** Dense layer: x [n, in] · kernel [in, out] + bias. */
export function dense(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D) as tf.Tensor2D;
  return bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
}

/**
 * Batch norm of `layer` over the channel axis of NHWC `x`. Evaluation (`updates` undefined):
 * normalise with the running statistics. Training: normalise with the batch's mean and biased
 * variance, and put the new running statistics in `updates` (momentum 0.1, unbiased variance, as
 * PyTorch does). Built from elementary ops so that every backend can differentiate it.
 */
export function batchNorm(x: tf.Tensor4D, w: TensorMap, layer: string, updates?: TensorMap): tf.Tensor4D {
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (updates) {
    const m = tf.moments(x, [0, 1, 2]);
    mean = m.mean;
    variance = m.variance;
    const n = x.shape[0] * x.shape[1] * x.shape[2];
    const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
    updates[`${layer}/mean`] = tf.add(tf.mul(w[`${layer}/mean`]!, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM));
    updates[`${layer}/variance`] = tf.add(tf.mul(w[`${layer}/variance`]!, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM));
  } else {
    mean = w[`${layer}/mean`]!;
    variance = w[`${layer}/variance`]!;
  }
  const scale = tf.mul(w[`${layer}/gamma`]!, tf.rsqrt(tf.add(variance, BN_EPSILON)));
  return tf.add(tf.mul(tf.sub(x, mean), scale), w[`${layer}/beta`]!);
}

/** 2×2 max pooling, stride 2. */
export const maxPool2 = (x: tf.Tensor4D): tf.Tensor4D => tf.maxPool(x, 2, 2, 'valid');

/** [n, h, w, c] → [n, h·w·c] (row-major, so the flatten order is h, w, c). */
export const flatten = (x: tf.Tensor): tf.Tensor2D => tf.reshape(x, [x.shape[0]!, sizeOf(x.shape.slice(1))]);

/** Every input must be an image [h, w, c]; names the model in the error. */
export function imageShape(model: string, inputShape: number[]): [number, number, number] {
  if (inputShape.length !== 3) {
    throw new UserError(
      `model "${model}" needs image inputs [height, width, channels]; the dataset gives [${inputShape.join(', ')}]`,
      '/model/use',
    );
  }
  return inputShape as [number, number, number];
}
