import {
  API_VERSION,
  type FirstLayer,
  type LayerDescription,
  type ModelDescription,
  type ModelFactory,
  type ModelSpec,
  type Static,
  type TensorMap,
  tf,
  Type,
  UserError,
} from '@lth/core';
import { initKernel, weightSeed } from './init.js';
import { VERSION } from './version.js';

export const LenetOptions = Type.Object(
  {
    hidden: Type.Array(Type.Integer({ minimum: 1 }), {
      description:
        'Widths of the hidden layers (ReLU), input side first: [300, 100] is LeNet-300-100. ' +
        'The name "lenet-<h1>-<h2>-..." sets it, e.g. "lenet-500-300-100".',
    }),
    init: Type.Union([Type.Literal('glorot-normal'), Type.Literal('glorot-uniform'), Type.Literal('kaiming-normal')], {
      description:
        'Initialisation of the kernels (biases start at zero). "glorot-normal": N(0, 2/(fan_in+fan_out)), as in Frankle & Carbin; ' +
        '"glorot-uniform": U(±√(6/(fan_in+fan_out))); "kaiming-normal": N(0, 2/fan_in).',
    }),
    outputLayer: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_-]*$',
      description:
        'Name of the output layer: its weights are "<name>/kernel" and "<name>/bias", and per-layer pruning overrides refer to it by this name.',
    }),
  },
  { additionalProperties: false },
);
export type LenetOptions = Static<typeof LenetOptions>;

export const lenetDefaults = {
  hidden: [300, 100],
  init: 'glorot-normal',
  outputLayer: 'output',
} satisfies LenetOptions;

const LENET_NAME = /^lenet((?:-\d+)+)$/;

/**
 * The spec of a fully connected network: `dense1..denseN` (ReLU) then a linear output layer.
 * Inputs of any shape are flattened, so the same net serves [784] and [28, 28, 1] data.
 */
export function lenetSpec(options: LenetOptions, data: { inputShape: number[]; numClasses: number }): ModelSpec {
  const { hidden, init: kernelInit, outputLayer } = { ...lenetDefaults, ...options };
  const hiddenNames = hidden.map((_, i) => `dense${i + 1}`);
  if (hiddenNames.includes(outputLayer)) {
    throw new UserError(
      `model "lenet": outputLayer "${outputLayer}" is also the name of a hidden layer; pick another name`,
      '/model/outputLayer',
    );
  }
  const inputSize = data.inputShape.reduce((a, b) => a * b, 1);
  const layers = [...hiddenNames, outputLayer];
  const widths = [inputSize, ...hidden, data.numClasses];

  const weightNames: string[] = [];
  const prunable: string[] = [];
  const layerOf: Record<string, string> = {};
  const shapes: Record<string, number[]> = {};
  layers.forEach((layer, i) => {
    const kernel = `${layer}/kernel`;
    const bias = `${layer}/bias`;
    weightNames.push(kernel, bias);
    prunable.push(kernel);
    layerOf[kernel] = layer;
    shapes[kernel] = [widths[i]!, widths[i + 1]!];
    shapes[bias] = [widths[i + 1]!];
  });

  // The forward pass is the first layer's product and the rest, so that analyses that evaluate many
  // weights on the same inputs can reuse the product (ModelSpec.firstLayer).
  const firstLayer: FirstLayer = {
    kernel: `${layers[0]}/kernel`,
    // Functional ops only: tfjs-core without the chained-op registrations has no `x.reshape`.
    apply: (kernel, x) => tf.matMul(tf.reshape(x, [x.shape[0]!, inputSize]) as tf.Tensor2D, kernel as tf.Tensor2D),
    rest(weights, z) {
      return tf.tidy(() => {
        let h: tf.Tensor = z;
        layers.forEach((layer, i) => {
          const product = i === 0 ? z : tf.matMul(h as tf.Tensor2D, weights[`${layer}/kernel`] as tf.Tensor2D);
          const pre = tf.add(product, weights[`${layer}/bias`]!);
          h = layer === outputLayer ? pre : tf.relu(pre);
        });
        return h;
      });
    },
  };

  return {
    weightNames,
    prunable,
    layerOf,
    outputLayer,
    shapes,

    init(seed: number): TensorMap {
      const weights: TensorMap = {};
      for (const layer of layers) {
        const kernel = `${layer}/kernel`;
        weights[kernel] = initKernel(kernelInit, shapes[kernel] as [number, number], weightSeed(seed, kernel));
        weights[`${layer}/bias`] = tf.zeros(shapes[`${layer}/bias`]!);
      }
      return weights;
    },

    describe(): ModelDescription {
      const dense = layers.map((layer, i): LayerDescription => ({
        type: 'dense',
        name: layer,
        kernel: `${layer}/kernel`,
        bias: `${layer}/bias`,
        units: widths[i + 1]!,
        activation: layer === outputLayer ? 'linear' : 'relu',
      }));
      return { inputShape: [...data.inputShape], layers: data.inputShape.length > 1 ? [{ type: 'flatten' }, ...dense] : dense };
    },

    firstLayer,

    forward(weights: TensorMap, x: tf.Tensor, _training: boolean): tf.Tensor {
      return tf.tidy(() => firstLayer.rest(weights, firstLayer.apply(weights[firstLayer.kernel]!, x)));
    },
  };
}

export const lenet: ModelFactory<LenetOptions> = {
  meta: {
    name: 'lenet',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Fully connected LeNet (lenet-300-100, lenet-<h1>-<h2>-...): ReLU hidden layers, flattened input',
  },
  optionsSchema: LenetOptions,
  defaults: lenetDefaults,
  examples: [{ name: 'lenet-300-100', inputShape: [28, 28, 1], numClasses: 10 }],

  /** `lenet-300-100` → `{ hidden: [300, 100] }`; any number of hidden widths ≥ 1. */
  matches(name: string): Partial<LenetOptions> | undefined {
    const m = LENET_NAME.exec(name);
    if (!m) return undefined;
    const hidden = m[1]!.slice(1).split('-').map(Number);
    return hidden.every((w) => Number.isSafeInteger(w) && w >= 1) ? { hidden } : undefined;
  },

  create(options, data): ModelSpec {
    return lenetSpec(options, data);
  },
};
