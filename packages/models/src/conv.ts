import { API_VERSION, deriveSeed, type LayerDescription, type ModelFactory, type ModelSpec, type Static, type TensorMap, tf, Type, UserError } from '@lth/core';
import { conv, dense, flatten, imageShape, LayerTable, maxPool2 } from './layers.js';
import { VERSION } from './version.js';

const INIT = Type.Union([Type.Literal('glorot-normal'), Type.Literal('glorot-uniform'), Type.Literal('kaiming-normal')], {
  description:
    'Initialisation of the kernels (biases start at zero). "glorot-normal": N(0, 2/(fan_in+fan_out)) as in Frankle & Carbin; ' +
    '"glorot-uniform"; "kaiming-normal": N(0, 2/fan_in). Convolution fans are kh·kw·channels.',
});

export const ConvOptions = Type.Object(
  {
    depth: Type.Union([Type.Literal(2), Type.Literal(4), Type.Literal(6)], {
      description:
        'Convolution layers: 2 (64-64), 4 (64-64-128-128) or 6 (64-64-128-128-256-256), 3×3, a 2×2 max-pool after each pair. ' +
        'The names "conv-2", "conv-4" and "conv-6" set it.',
    }),
    width: Type.Number({
      exclusiveMinimum: 0,
      description: 'Multiplier of every convolution\'s channels (rounded, at least 1): 1 is the paper\'s network; 0.125 makes 8-8-16-… for quick tests.',
    }),
    dense: Type.Array(Type.Integer({ minimum: 1 }), { description: 'Widths of the hidden fully connected layers (ReLU) after the convolutions: [256, 256] in the paper.' }),
    dropout: Type.Number({
      minimum: 0,
      exclusiveMaximum: 1,
      description:
        'Dropout rate on the outputs of the hidden fully connected layers, training only (0 = none, the paper\'s default). ' +
        'Its randomness comes from a seed and a step counter kept with the weights (the buffer "dropout/state"), so runs and resumed runs are reproducible.',
    }),
    init: INIT,
    outputLayer: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_-]*$',
      description: 'Name of the output layer (its weights are "<name>/kernel" and "<name>/bias"; per-layer overrides refer to it by this name).',
    }),
  },
  { additionalProperties: false },
);
export type ConvOptions = Static<typeof ConvOptions>;

export const convDefaults = {
  depth: 2,
  width: 1,
  dense: [256, 256],
  dropout: 0,
  init: 'glorot-normal',
  outputLayer: 'output',
} satisfies ConvOptions;

const CONV_NAME = /^conv-(2|4|6)$/;
const CHANNELS = [64, 64, 128, 128, 256, 256];
/** The buffer holding [seed mod 2^24, step] of a model with dropout (both exact in float32). */
export const DROPOUT_STATE = 'dropout/state';

/** The seed of dropout layer `layer` at step `step`, from the state buffer's values. */
export function dropoutSeed(state: ArrayLike<number>, layer: string): number {
  return deriveSeed(state[0]!, 'dropout', state[1]!, layer);
}

function applyDropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), rate), 'float32');
  return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
}

/**
 * Conv-2/4/6 of Frankle & Carbin (2019), for CIFAR-10: pairs of 3×3 'same' convolutions with
 * bias and ReLU (64, 128, 256 channels), a 2×2 max-pool after each pair, then fully connected
 * 256-256 (ReLU) and a linear output layer. Layers: conv1..convN, dense1..denseM, output.
 */
export function convSpec(options: ConvOptions, data: { inputShape: number[]; numClasses: number }): ModelSpec {
  const o = { ...convDefaults, ...options };
  const [h, w, c] = imageShape(`conv-${o.depth}`, data.inputShape);
  const pools = o.depth / 2;
  if (h % 2 ** pools !== 0 || w % 2 ** pools !== 0) {
    throw new UserError(`model "conv-${o.depth}": input ${h}×${w} is not divisible by ${2 ** pools} (one 2×2 max-pool per pair of convolutions)`, '/model/depth');
  }
  const denseNames = o.dense.map((_, i) => `dense${i + 1}`);
  if (denseNames.includes(o.outputLayer) || /^conv\d+$/.test(o.outputLayer)) {
    throw new UserError(`model "conv-${o.depth}": outputLayer "${o.outputLayer}" is also the name of a hidden layer; pick another name`, '/model/outputLayer');
  }
  const table = new LayerTable();
  const convLayers: string[] = [];
  let channels = c;
  for (let i = 0; i < o.depth; i++) {
    const out = Math.max(1, Math.round(CHANNELS[i]! * o.width));
    const layer = `conv${i + 1}`;
    table.kernel(layer, [3, 3, channels, out], o.init);
    table.bias(layer, out);
    convLayers.push(layer);
    channels = out;
  }
  const flat = (h / 2 ** pools) * (w / 2 ** pools) * channels;
  const fcLayers = [...denseNames, o.outputLayer];
  const widths = [flat, ...o.dense, data.numClasses];
  fcLayers.forEach((layer, i) => {
    table.kernel(layer, [widths[i]!, widths[i + 1]!], o.init);
    table.bias(layer, widths[i + 1]!);
  });
  const dropout = o.dropout;
  if (dropout > 0) {
    table.addBuffer(DROPOUT_STATE, [2], (seed) => tf.tensor1d([deriveSeed(seed, 'dropout') % 2 ** 24, 0]));
  }

  const run = (weights: TensorMap, x: tf.Tensor, state?: ArrayLike<number>): tf.Tensor => {
    let a = x as tf.Tensor4D;
    convLayers.forEach((layer, i) => {
      a = tf.relu(conv(a, weights[`${layer}/kernel`]!, 1, weights[`${layer}/bias`]));
      if (i % 2 === 1) a = maxPool2(a);
    });
    let z: tf.Tensor = flatten(a);
    for (const layer of fcLayers) {
      z = dense(z, weights[`${layer}/kernel`]!, weights[`${layer}/bias`]);
      if (layer !== o.outputLayer) {
        z = tf.relu(z);
        if (state) z = applyDropout(z, dropout, dropoutSeed(state, layer));
      }
    }
    return z;
  };

  const spec: ModelSpec = {
    ...table.describe(o.outputLayer),
    init: (seed) => table.init(seed),
    // Dropout acts in training only, so the inference architecture has none.
    describe: () => ({
      inputShape: [...data.inputShape],
      layers: [
        ...convLayers.flatMap((layer, i): LayerDescription[] => [
          { type: 'conv2d', name: layer, kernel: `${layer}/kernel`, bias: `${layer}/bias`, filters: table.shapes[`${layer}/kernel`]![3]!, kernelSize: [3, 3], activation: 'relu' },
          ...(i % 2 === 1 ? [{ type: 'maxpool', size: 2 } as const] : []),
        ]),
        { type: 'flatten' },
        ...fcLayers.map((layer, i): LayerDescription => ({ type: 'dense', name: layer, kernel: `${layer}/kernel`, bias: `${layer}/bias`, units: widths[i + 1]!, activation: layer === o.outputLayer ? 'linear' : 'relu' })),
      ],
    }),
    forward(weights, x, training) {
      // Training-mode passes outside the training loop (scorers' gradients) use the current state.
      const state = training && dropout > 0 ? weights[DROPOUT_STATE]!.dataSync() : undefined;
      return tf.tidy(() => run(weights, x, state));
    },
  };
  if (dropout > 0) {
    spec.forwardTrain = (weights, x) => {
      const state = Float32Array.from(weights[DROPOUT_STATE]!.dataSync());
      const logits = run(weights, x, state);
      return { logits, buffers: { [DROPOUT_STATE]: tf.tensor1d([state[0]!, state[1]! + 1]) } };
    };
  }
  return spec;
}

const CIFAR = { inputShape: [32, 32, 3], numClasses: 10 };

export const convNet: ModelFactory<ConvOptions> = {
  meta: {
    name: 'conv',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Conv-2/4/6 of Frankle & Carbin (conv-2, conv-4, conv-6): 3×3 conv pairs with max-pool, FC 256-256, output',
  },
  optionsSchema: ConvOptions,
  defaults: convDefaults,
  examples: ['conv-2', 'conv-4', 'conv-6'].map((name) => ({ name, ...CIFAR })),

  /** `conv-4` → `{ depth: 4 }`. */
  matches(name) {
    const m = CONV_NAME.exec(name);
    return m ? { depth: Number(m[1]) as 2 | 4 | 6 } : undefined;
  },

  create(options, data) {
    return convSpec(options, data);
  },
};
