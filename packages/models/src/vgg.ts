import { API_VERSION, type LayerDescription, type ModelFactory, type ModelSpec, type Static, type TensorMap, tf, Type, UserError } from '@lth/core';
import { BN_EPSILON, batchNorm, conv, dense, imageShape, LayerTable, maxPool2 } from './layers.js';
import { VERSION } from './version.js';

/** Channels of each 3×3 convolution; 0 marks a 2×2 max-pool (the CIFAR plans of OpenLTH). */
export const VGG_PLANS: Record<11 | 13 | 16 | 19, number[]> = {
  11: [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512],
  13: [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512],
  16: [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512],
  19: [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512],
};

export const VggOptions = Type.Object(
  {
    depth: Type.Union([Type.Literal(11), Type.Literal(13), Type.Literal(16), Type.Literal(19)], {
      description: 'VGG-11/13/16/19 (convolution layers + 1). The names "vgg-16" and "vgg-19" set it.',
    }),
    width: Type.Number({
      exclusiveMinimum: 0,
      description: 'Multiplier of every convolution\'s channels (rounded, at least 1): 1 is the published network; small values for quick tests.',
    }),
    init: Type.Union([Type.Literal('kaiming-normal'), Type.Literal('glorot-normal'), Type.Literal('glorot-uniform')], {
      description: 'Initialisation of the kernels: "kaiming-normal" N(0, 2/fan_in) as in OpenLTH; biases start at 0, batch norm at γ = 1, β = 0.',
    }),
    outputLayer: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', description: 'Name of the linear output layer (weights "<name>/kernel", "<name>/bias").' }),
  },
  { additionalProperties: false },
);
export type VggOptions = Static<typeof VggOptions>;

export const vggDefaults = { depth: 19, width: 1, init: 'kaiming-normal', outputLayer: 'output' } satisfies VggOptions;

const VGG_NAME = /^vgg-(11|13|16|19)$/;

/**
 * The CIFAR VGG of Frankle & Carbin (2019) and OpenLTH: 3×3 'same' convolutions with bias, batch
 * norm and ReLU, 2×2 max-pools between the blocks, then an average pool over what is left (2×2 on
 * 32×32 inputs) and a single linear layer 512 → classes (no hidden fully connected layers).
 * Layers: conv1..convN (batch norms `conv<i>/bn`) and the output.
 */
export function vggSpec(options: VggOptions, data: { inputShape: number[]; numClasses: number }): ModelSpec {
  const o = { ...vggDefaults, ...options };
  const [h, w, c] = imageShape(`vgg-${o.depth}`, data.inputShape);
  const plan = VGG_PLANS[o.depth];
  const pools = plan.filter((x) => x === 0).length;
  if (h % 2 ** pools !== 0 || w % 2 ** pools !== 0) {
    throw new UserError(`model "vgg-${o.depth}": input ${h}×${w} is not divisible by ${2 ** pools} (${pools} 2×2 max-pools)`, '/model/depth');
  }
  const table = new LayerTable();
  const steps: (string | 'pool')[] = [];
  let channels = c;
  let i = 0;
  for (const width of plan) {
    if (width === 0) {
      steps.push('pool');
      continue;
    }
    const out = Math.max(1, Math.round(width * o.width));
    const layer = `conv${++i}`;
    table.kernel(layer, [3, 3, channels, out], o.init);
    table.bias(layer, out);
    table.batchNorm(`${layer}/bn`, out);
    steps.push(layer);
    channels = out;
  }
  table.kernel(o.outputLayer, [channels, data.numClasses], o.init);
  table.bias(o.outputLayer, data.numClasses);

  const run = (wts: TensorMap, x: tf.Tensor, updates?: TensorMap): tf.Tensor => {
    let a = x as tf.Tensor4D;
    for (const step of steps) {
      a = step === 'pool' ? maxPool2(a) : tf.relu(batchNorm(conv(a, wts[`${step}/kernel`]!, 1, wts[`${step}/bias`]), wts, `${step}/bn`, updates));
    }
    // The final average pool covers the whole remaining map (2×2 for 32×32 inputs).
    return dense(tf.mean(a, [1, 2]), wts[`${o.outputLayer}/kernel`]!, wts[`${o.outputLayer}/bias`]);
  };

  return {
    ...table.describe(o.outputLayer),
    init: (seed) => table.init(seed),
    // The inference architecture: batch norm with its running statistics.
    describe: () => ({
      inputShape: [...data.inputShape],
      layers: [
        ...steps.flatMap((step): LayerDescription[] =>
          step === 'pool'
            ? [{ type: 'maxpool', size: 2 }]
            : [
                { type: 'conv2d', name: step, kernel: `${step}/kernel`, bias: `${step}/bias`, filters: table.shapes[`${step}/kernel`]![3]!, kernelSize: [3, 3], activation: 'linear' },
                { type: 'batchnorm', name: `${step}/bn`, gamma: `${step}/bn/gamma`, beta: `${step}/bn/beta`, mean: `${step}/bn/mean`, variance: `${step}/bn/variance`, epsilon: BN_EPSILON, activation: 'relu' },
              ],
        ),
        { type: 'globalavgpool' },
        { type: 'dense', name: o.outputLayer, kernel: `${o.outputLayer}/kernel`, bias: `${o.outputLayer}/bias`, units: data.numClasses, activation: 'linear' },
      ],
    }),
    forward: (wts, x, training) => tf.tidy(() => run(wts, x, training ? {} : undefined)),
    forwardTrain(wts, x) {
      const buffers: TensorMap = {};
      const logits = run(wts, x, buffers);
      return { logits, buffers };
    },
  };
}

export const vgg: ModelFactory<VggOptions> = {
  meta: {
    name: 'vgg',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'CIFAR VGG (vgg-16, vgg-19, vgg-11/13) with batch norm and a single 512→classes output layer',
  },
  optionsSchema: VggOptions,
  defaults: vggDefaults,
  examples: ['vgg-16', 'vgg-19'].map((name) => ({ name, inputShape: [32, 32, 3], numClasses: 10 })),

  /** `vgg-19` → `{ depth: 19 }`. */
  matches(name) {
    const m = VGG_NAME.exec(name);
    return m ? { depth: Number(m[1]) as 11 | 13 | 16 | 19 } : undefined;
  },

  create(options, data) {
    return vggSpec(options, data);
  },
};
