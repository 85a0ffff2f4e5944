import { deriveSeed, tf } from '@lth/core';

export type KernelInit = 'glorot-normal' | 'glorot-uniform' | 'kaiming-normal';

/**
 * A 31-bit seed for one weight, derived from the model seed and the weight's name, so that each
 * weight's values depend only on (seed, name): adding or resizing another layer never shifts them.
 */
export function weightSeed(seed: number, name: string): number {
  return deriveSeed(seed, name);
}

/**
 * A dense kernel [fanIn, fanOut] drawn as PyTorch's initialisers do (not truncated):
 * glorot-normal = `xavier_normal_`, N(0, 2 / (fanIn + fanOut)), the initialisation of Frankle &
 * Carbin; glorot-uniform = `xavier_uniform_`, U(±√(6 / (fanIn + fanOut))); kaiming-normal =
 * `kaiming_normal_` for ReLU, N(0, 2 / fanIn).
 *
 * tfjs draws seeded random tensors on the host (seedrandom) and only then uploads them, so the
 * same seed gives bit-identical weights on every backend.
 */
export function initKernel(kind: KernelInit, shape: [number, number], seed: number): tf.Tensor2D {
  return initWeight(kind, shape, seed) as tf.Tensor2D;
}

/**
 * Fan-in and fan-out of a kernel as PyTorch computes them: a dense kernel [in, out]; a convolution
 * kernel [kh, kw, in, out] (NHWC, tfjs layout) has fan-in kh·kw·in and fan-out kh·kw·out.
 */
export function fans(shape: number[]): [number, number] {
  if (shape.length === 2) return [shape[0]!, shape[1]!];
  if (shape.length === 4) {
    const receptive = shape[0]! * shape[1]!;
    return [receptive * shape[2]!, receptive * shape[3]!];
  }
  throw new Error(`fans: kernel shape [${shape.join(', ')}] is neither dense (2-D) nor a 2-D convolution (4-D)`);
}

/** A dense or convolution kernel of any supported rank, drawn like `initKernel` from its fans. */
export function initWeight(kind: KernelInit, shape: number[], seed: number): tf.Tensor {
  const [fanIn, fanOut] = fans(shape);
  switch (kind) {
    case 'glorot-normal':
      return tf.randomNormal(shape, 0, Math.sqrt(2 / (fanIn + fanOut)), 'float32', seed);
    case 'glorot-uniform': {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return tf.randomUniform(shape, -limit, limit, 'float32', seed);
    }
    case 'kaiming-normal':
      return tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed);
  }
}
