import { API_VERSION, type LayerDescription, type ModelFactory, type ModelSpec, type Static, type TensorMap, tf, Type, UserError } from '@lth/core';
import { BN_EPSILON, batchNorm, conv, dense, imageShape, LayerTable } from './layers.js';
import { VERSION } from './version.js';

export const ResnetOptions = Type.Object(
  {
    depth: Type.Integer({
      minimum: 8,
      multipleOf: 2,
      description:
        'Depth 6n + 2 (20, 32, 44, 56, 110): n basic blocks per stage, 3 stages. The names "resnet-20", "resnet-56", … set it.',
    }),
    width: Type.Integer({ minimum: 1, description: 'Channels of the first stage (16 in He et al.); the stages have width, 2·width, 4·width.' }),
    shortcut: Type.Union([Type.Literal('projection'), Type.Literal('pad')], {
      description:
        'Shortcut where a stage halves the resolution and doubles the channels. "projection": a 1×1 stride-2 convolution with batch norm ' +
        '(OpenLTH and Frankle et al. 2020; 272,474 parameters at depth 20); "pad": subsample and zero-pad the channels, parameter-free ' +
        '(He et al. 2016 option A; 269,722 parameters).',
    }),
    init: Type.Union([Type.Literal('kaiming-normal'), Type.Literal('glorot-normal'), Type.Literal('glorot-uniform')], {
      description: 'Initialisation of the convolution and output kernels: "kaiming-normal" N(0, 2/fan_in) as in OpenLTH; batch norm starts at γ = 1, β = 0.',
    }),
    outputLayer: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', description: 'Name of the linear output layer (weights "<name>/kernel", "<name>/bias").' }),
  },
  { additionalProperties: false },
);
export type ResnetOptions = Static<typeof ResnetOptions>;

export const resnetDefaults = { depth: 20, width: 16, shortcut: 'projection', init: 'kaiming-normal', outputLayer: 'output' } satisfies ResnetOptions;

const RESNET_NAME = /^resnet-(\d+)$/;

/**
 * x[:, ::2, ::2, :] (rows and columns 0, 2, 4, …), built from pad, reshape and slice because
 * tfjs has no gradient for StridedSlice.
 */
export function everyOther(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const even = tf.pad(x, [[0, 0], [0, h % 2], [0, w % 2], [0, 0]]);
  const [h2, w2] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  const pairs = tf.reshape(even, [n, h2, 2, w2, 2, c]);
  return tf.reshape(tf.slice(pairs, [0, 0, 0, 0, 0, 0], [n, h2, 1, w2, 1, c]), [n, h2, w2, c]);
}

/**
 * The CIFAR ResNet of He et al. (2016, section 4.2): a 3×3 convolution (no bias) with batch norm
 * and ReLU, three stages of n basic blocks (two 3×3 convolutions with batch norm; the first block
 * of stages 2 and 3 has stride 2), global average pooling and a linear output layer. Layers:
 * `conv`, `stage<s>/block<b>/conv1|conv2|shortcut`, and the output; batch norms are `<layer>/bn`.
 */
export function resnetSpec(options: ResnetOptions, data: { inputShape: number[]; numClasses: number }): ModelSpec {
  const o = { ...resnetDefaults, ...options };
  imageShape(`resnet-${o.depth}`, data.inputShape);
  const channelsIn = data.inputShape[2]!;
  if ((o.depth - 2) % 6 !== 0) {
    throw new UserError(`model "resnet": depth ${o.depth} is not 6n + 2 (20, 32, 44, 56, 110, …)`, '/model/depth');
  }
  const blocks = (o.depth - 2) / 6;
  const table = new LayerTable();
  table.kernel('conv', [3, 3, channelsIn, o.width], o.init);
  table.batchNorm('conv/bn', o.width);
  interface Block { name: string; stride: number; in: number; out: number; projection: boolean }
  const plan: Block[] = [];
  let channels = o.width;
  for (let s = 0; s < 3; s++) {
    const out = o.width * 2 ** s;
    for (let b = 0; b < blocks; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      const name = `stage${s + 1}/block${b + 1}`;
      const projection = o.shortcut === 'projection' && (stride !== 1 || channels !== out);
      table.kernel(`${name}/conv1`, [3, 3, channels, out], o.init);
      table.batchNorm(`${name}/conv1/bn`, out);
      table.kernel(`${name}/conv2`, [3, 3, out, out], o.init);
      table.batchNorm(`${name}/conv2/bn`, out);
      if (projection) {
        table.kernel(`${name}/shortcut`, [1, 1, channels, out], o.init);
        table.batchNorm(`${name}/shortcut/bn`, out);
      }
      plan.push({ name, stride, in: channels, out, projection });
      channels = out;
    }
  }
  table.kernel(o.outputLayer, [channels, data.numClasses], o.init);
  table.bias(o.outputLayer, data.numClasses);

  const run = (w: TensorMap, x: tf.Tensor, updates?: TensorMap): tf.Tensor => {
    const convBn = (a: tf.Tensor4D, layer: string, stride: number) => batchNorm(conv(a, w[`${layer}/kernel`]!, stride), w, `${layer}/bn`, updates);
    let a = tf.relu(convBn(x as tf.Tensor4D, 'conv', 1));
    for (const blk of plan) {
      const y = convBn(tf.relu(convBn(a, `${blk.name}/conv1`, blk.stride)), `${blk.name}/conv2`, 1);
      let shortcut: tf.Tensor4D = a;
      // A 1×1 stride-s convolution is a 1×1 convolution of every s-th pixel; computing it that way
      // also avoids a strided 1×1 filter gradient that the native backend gets wrong (heap corruption).
      if (blk.projection) shortcut = convBn(blk.stride === 1 ? a : everyOther(a), `${blk.name}/shortcut`, 1);
      else if (blk.stride !== 1 || blk.in !== blk.out) {
        // Option A: every other pixel, channels padded with zeros (half before, half after).
        const sub = blk.stride === 1 ? a : everyOther(a);
        const extra = blk.out - blk.in;
        shortcut = tf.pad(sub, [[0, 0], [0, 0], [0, 0], [Math.floor(extra / 2), extra - Math.floor(extra / 2)]]);
      }
      a = tf.relu(tf.add(y, shortcut));
    }
    return dense(tf.mean(a, [1, 2]), w[`${o.outputLayer}/kernel`]!, w[`${o.outputLayer}/bias`]);
  };

  /** A convolution (no bias) and its batch norm, as exporters read them. */
  const convBnLayers = (layer: string, stride: number, size: number, activation: 'relu' | 'linear'): LayerDescription[] => [
    { type: 'conv2d', name: layer, kernel: `${layer}/kernel`, filters: table.shapes[`${layer}/kernel`]![3]!, kernelSize: [size, size], activation: 'linear', stride },
    { type: 'batchnorm', name: `${layer}/bn`, gamma: `${layer}/bn/gamma`, beta: `${layer}/bn/beta`, mean: `${layer}/bn/mean`, variance: `${layer}/bn/variance`, epsilon: BN_EPSILON, activation },
  ];
  const shortcutLayers = (blk: Block): LayerDescription[] => {
    const sub: LayerDescription[] = blk.stride === 1 ? [] : [{ type: 'subsample', stride: blk.stride }];
    if (blk.projection) return [...sub, ...convBnLayers(`${blk.name}/shortcut`, 1, 1, 'linear')];
    if (blk.stride === 1 && blk.in === blk.out) return [];
    const extra = blk.out - blk.in;
    return [...sub, { type: 'padchannels', before: Math.floor(extra / 2), after: extra - Math.floor(extra / 2) }];
  };

  return {
    ...table.describe(o.outputLayer),
    init: (seed) => table.init(seed),
    // The inference architecture: batch norm with its running statistics, residual blocks.
    describe: () => ({
      inputShape: [...data.inputShape],
      layers: [
        ...convBnLayers('conv', 1, 3, 'relu'),
        ...plan.map((blk): LayerDescription => ({
          type: 'residual',
          name: blk.name,
          body: [...convBnLayers(`${blk.name}/conv1`, blk.stride, 3, 'relu'), ...convBnLayers(`${blk.name}/conv2`, 1, 3, 'linear')],
          shortcut: shortcutLayers(blk),
          activation: 'relu',
        })),
        { type: 'globalavgpool' },
        { type: 'dense', name: o.outputLayer, kernel: `${o.outputLayer}/kernel`, bias: `${o.outputLayer}/bias`, units: data.numClasses, activation: 'linear' },
      ],
    }),
    // Training-mode passes outside the loop (scorers' gradients) normalise with batch statistics.
    forward: (w, x, training) => tf.tidy(() => run(w, x, training ? {} : undefined)),
    forwardTrain(w, x) {
      const buffers: TensorMap = {};
      const logits = run(w, x, buffers);
      return { logits, buffers };
    },
  };
}

export const resnet: ModelFactory<ResnetOptions> = {
  meta: {
    name: 'resnet',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'CIFAR ResNet of He et al. (resnet-20, resnet-<6n+2>) with batch norm; width option',
  },
  optionsSchema: ResnetOptions,
  defaults: resnetDefaults,
  examples: [{ name: 'resnet-20', inputShape: [32, 32, 3], numClasses: 10 }],

  /** `resnet-20` → `{ depth: 20 }`; depths of the form 6n + 2 only. */
  matches(name) {
    const m = RESNET_NAME.exec(name);
    if (!m) return undefined;
    const depth = Number(m[1]);
    return depth >= 8 && (depth - 2) % 6 === 0 ? { depth } : undefined;
  },

  create(options, data) {
    return resnetSpec(options, data);
  },
};
