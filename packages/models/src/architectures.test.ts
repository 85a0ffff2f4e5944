import '@lth/core/testing'; // registers tfjs's CPU backend
import { type ModelFactory, type ModelSpec, stateNames, type TensorMap, tf } from '@lth/core';
import { afterEach, describe, expect, it } from 'vitest';
import { convNet, DROPOUT_STATE } from './conv.js';
import { batchNorm, BN_EPSILON } from './layers.js';
import { lenet } from './lenet.js';
import { everyOther, resnet } from './resnet.js';
import { vgg } from './vgg.js';

const CIFAR = { inputShape: [32, 32, 3], numClasses: 10 };
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const count = (spec: ModelSpec, names: string[]) => names.reduce((n, name) => n + size(spec.shapes[name]!), 0);
const values = (t: tf.Tensor) => Array.from(t.dataSync());

/** The spec a config naming `name` would get (defaults, then what the name implies, then `over`). */
function byName<O>(factory: ModelFactory<O>, name: string, over: Record<string, unknown> = {}, data = CIFAR): ModelSpec {
  const implied = factory.matches!(name);
  expect(implied, name).toBeDefined();
  return factory.create({ ...factory.defaults, ...implied, ...over } as O, data);
}

const conv3 = (cin: number, cout: number) => 9 * cin * cout;

describe('parameter counts, from the shapes (no tensors allocated)', () => {
  it('Conv-2/4/6: convolution and fully connected kernels as Frankle & Carbin describe them', () => {
    const conv2 = byName(convNet, 'conv-2');
    const conv4 = byName(convNet, 'conv-4');
    const conv6 = byName(convNet, 'conv-6');
    // Hand arithmetic: 3×3 convs, 'same' padding, one 2×2 max-pool per pair, FC 256-256-10.
    const fc = (flat: number) => flat * 256 + 256 * 256 + 256 * 10;
    expect(count(conv2, conv2.prunable)).toBe(conv3(3, 64) + conv3(64, 64) + fc(16 * 16 * 64));
    expect(count(conv2, conv2.prunable)).toBe(4_300_992); // paper: 4.3M
    expect(count(conv4, conv4.prunable)).toBe(conv3(3, 64) + conv3(64, 64) + conv3(64, 128) + conv3(128, 128) + fc(8 * 8 * 128));
    expect(count(conv4, conv4.prunable)).toBe(2_425_024); // paper: 2.4M
    const conv6Convs = conv3(3, 64) + conv3(64, 64) + conv3(64, 128) + conv3(128, 128) + conv3(128, 256) + conv3(256, 256);
    expect(conv6Convs).toBe(1_144_512); // paper: 1.1M of convolutions
    expect(count(conv6, conv6.prunable)).toBe(conv6Convs + fc(4 * 4 * 256));
    expect(count(conv6, conv6.prunable)).toBe(2_261_184);
    // The paper's 1.7M for Conv-6 is what a first FC layer of 2,048 inputs (not 4×4×256 = 4,096) would give.
    expect(conv6Convs + fc(2048)).toBe(1_736_896);
    // Biases are weights but never prunable.
    expect(count(conv2, conv2.weightNames)).toBe(4_300_992 + 64 + 64 + 256 + 256 + 10);
    expect(conv6.prunable).toEqual([1, 2, 3, 4, 5, 6].map((i) => `conv${i}/kernel`).concat(['dense1/kernel', 'dense2/kernel', 'output/kernel']));
    expect(conv6.layerOf['conv3/kernel']).toBe('conv3');
    expect(conv6.outputLayer).toBe('output');
  });

  it('LeNet-300-100: 266,200 prunable weights', () => {
    const spec = byName(lenet, 'lenet-300-100', {}, { inputShape: [28, 28, 1], numClasses: 10 });
    expect(count(spec, spec.prunable)).toBe(266_200);
  });

  it('ResNet-20: 272,474 parameters with projection shortcuts, 269,722 (He et al.\'s 0.27M) with padding ones', () => {
    const projection = byName(resnet, 'resnet-20');
    const pad = byName(resnet, 'resnet-20', { shortcut: 'pad' });
    const convs = conv3(3, 16) + 6 * conv3(16, 16) + conv3(16, 32) + 5 * conv3(32, 32) + conv3(32, 64) + 5 * conv3(64, 64);
    expect(count(pad, pad.prunable)).toBe(convs + 64 * 10);
    expect(count(pad, pad.prunable)).toBe(268_336);
    const bn = 2 * (16 + 6 * 16 + 6 * 32 + 6 * 64); // γ and β of 19 batch norms
    expect(count(pad, pad.weightNames)).toBe(268_336 + bn + 10);
    expect(count(pad, pad.weightNames)).toBe(269_722); // He et al. 2016, table 6: 0.27M
    expect(count(projection, projection.prunable)).toBe(268_336 + 16 * 32 + 32 * 64);
    expect(count(projection, projection.weightNames)).toBe(272_474); // Frankle et al. 2020: 272K
    expect(projection.prunable).toHaveLength(22);
    expect(projection.prunable).toContain('stage2/block1/shortcut/kernel');
    // Batch norm is never prunable; its running statistics are buffers.
    expect(projection.prunable.some((n) => n.includes('/bn/'))).toBe(false);
    expect(projection.buffers).toContain('stage3/block3/conv2/bn/variance');
    expect(count(projection, projection.buffers!)).toBe(2 * (16 + 6 * 16 + 6 * 32 + 6 * 64 + 32 + 64));
  });

  it('VGG-16/19 (CIFAR): convolutions plus one 512→10 layer; VGG-19 ≈ 20M', () => {
    const vgg19 = byName(vgg, 'vgg-19');
    const vgg16 = byName(vgg, 'vgg-16');
    const convs19 = conv3(3, 64) + conv3(64, 64) + conv3(64, 128) + conv3(128, 128) + conv3(128, 256) + 3 * conv3(256, 256) +
      conv3(256, 512) + 3 * conv3(512, 512) + 4 * conv3(512, 512);
    expect(count(vgg19, vgg19.prunable)).toBe(convs19 + 512 * 10);
    expect(count(vgg19, vgg19.prunable)).toBe(20_024_000);
    expect(count(vgg19, vgg19.weightNames)).toBe(20_040_522);
    expect(count(vgg16, vgg16.prunable)).toBe(14_715_584);
    expect(vgg19.prunable).toHaveLength(17);
    expect(vgg16.prunable).toHaveLength(14);
  });

  it('names resolve to options and nothing else', () => {
    expect(convNet.matches!('conv-6')).toEqual({ depth: 6 });
    expect(resnet.matches!('resnet-56')).toEqual({ depth: 56 });
    expect(vgg.matches!('vgg-16')).toEqual({ depth: 16 });
    for (const name of ['conv-3', 'conv-8', 'resnet-21', 'resnet-2', 'vgg-17', 'conv', 'resnet', 'lenet-300-100']) {
      expect(convNet.matches!(name) ?? resnet.matches!(name) ?? vgg.matches!(name), name).toBeUndefined();
    }
    expect(() => resnet.create({ ...resnet.defaults, depth: 22 } as never, CIFAR)).toThrow(/6n \+ 2/);
    expect(() => convNet.create(convNet.defaults as never, { inputShape: [784], numClasses: 10 })).toThrow(/image inputs/);
  });
});

/** A batch of `n` seeded images. */
const images = (n: number, h: number, c = 3, seed = 1) => tf.randomNormal([n, h, h, c], 0, 1, 'float32', seed);

function dispose(...maps: TensorMap[]): void {
  for (const m of maps) tf.dispose(Object.values(m));
}

describe('forward passes on tiny inputs', () => {
  afterEach(() => tf.disposeVariables());

  it('conv-4 (width 1/8): logits [n, classes], deterministic, pure, no tensors left', () => {
    const spec = byName(convNet, 'conv-4', { width: 0.125, dense: [12, 12] }, { inputShape: [8, 8, 3], numClasses: 5 });
    expect(spec.shapes['conv4/kernel']).toEqual([3, 3, 16, 16]);
    expect(spec.shapes['dense1/kernel']).toEqual([2 * 2 * 16, 12]);
    expect(spec.buffers).toBeUndefined();
    const w = spec.init(3);
    const again = spec.init(3);
    for (const n of spec.weightNames) expect(values(w[n]!), n).toEqual(values(again[n]!));
    const x = images(2, 8);
    const before = tf.memory().numTensors;
    const a = spec.forward(w, x, false);
    const b = spec.forward(w, x, true); // no dropout: training mode is the same function
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(a.shape).toEqual([2, 5]);
    expect(values(a)).toEqual(values(b));
    dispose(w, again);
    tf.dispose([x, a, b]);
  });

  it('conv-2 with dropout: seeded by a step counter kept with the weights; evaluation has none', () => {
    const spec = byName(convNet, 'conv-2', { width: 0.125, dense: [32, 32], dropout: 0.5 }, { inputShape: [4, 4, 3], numClasses: 3 });
    expect(spec.buffers).toEqual([DROPOUT_STATE]);
    const w = spec.init(0);
    expect(values(w[DROPOUT_STATE]!)[1]).toBe(0);
    const x = images(4, 4);
    const first = spec.forwardTrain!(w, x);
    const repeat = spec.forwardTrain!(w, x);
    expect(values(first.logits)).toEqual(values(repeat.logits)); // same state, same dropout masks
    expect(values(first.buffers[DROPOUT_STATE]!)).toEqual([values(w[DROPOUT_STATE]!)[0], 1]);
    const next = spec.forwardTrain!({ ...w, [DROPOUT_STATE]: first.buffers[DROPOUT_STATE]! }, x);
    expect(values(next.logits)).not.toEqual(values(first.logits)); // the next step draws new masks
    const evalA = spec.forward(w, x, false);
    const evalB = spec.forward({ ...w, [DROPOUT_STATE]: first.buffers[DROPOUT_STATE]! }, x, false);
    expect(values(evalA)).toEqual(values(evalB));
    expect(values(evalA)).not.toEqual(values(first.logits));
    // Another replicate's initialisation draws other masks.
    const other = spec.init(1);
    expect(values(other[DROPOUT_STATE]!)[0]).not.toBe(values(w[DROPOUT_STATE]!)[0]);
    dispose(w, other, first.buffers, repeat.buffers, next.buffers);
    tf.dispose([x, first.logits, repeat.logits, next.logits, evalA, evalB]);
  });

  it('batch norm: training normalises with batch statistics and updates running ones (momentum 0.1, unbiased variance)', () => {
    // One channel, batch of 4 values 1, 2, 3, 6: mean 3, biased variance 3.5, unbiased 14/3.
    const x = tf.tensor4d([1, 2, 3, 6], [4, 1, 1, 1]);
    const w = {
      'bn/gamma': tf.tensor1d([2]),
      'bn/beta': tf.tensor1d([0.5]),
      'bn/mean': tf.tensor1d([1]),
      'bn/variance': tf.tensor1d([2]),
    };
    const updates: TensorMap = {};
    const y = batchNorm(x, w, 'bn', updates);
    const expected = [1, 2, 3, 6].map((v) => ((v - 3) / Math.sqrt(3.5 + BN_EPSILON)) * 2 + 0.5);
    values(y).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    expect(values(updates['bn/mean']!)[0]).toBeCloseTo(0.9 * 1 + 0.1 * 3, 6);
    expect(values(updates['bn/variance']!)[0]).toBeCloseTo(0.9 * 2 + 0.1 * (14 / 3), 6);
    const evaluated = batchNorm(x, w, 'bn');
    values(evaluated).forEach((v, i) => expect(v).toBeCloseTo((([1, 2, 3, 6][i]! - 1) / Math.sqrt(2 + BN_EPSILON)) * 2 + 0.5, 5));
    dispose(w, updates);
    tf.dispose([x, y, evaluated]);
  });

  for (const shortcut of ['projection', 'pad'] as const) {
    it(`resnet-8 (width 2, ${shortcut} shortcuts): train mode returns every buffer, eval mode uses them, gradients flow`, () => {
      const spec = byName(resnet, 'resnet-8', { width: 2, shortcut }, { inputShape: [8, 8, 3], numClasses: 4 });
      const w = spec.init(5);
      const x = images(3, 8);
      const before = tf.memory().numTensors;
      // forwardTrain is pure like forward: the caller (the training loop's tape) owns the scope.
      const train = tf.tidy(() => spec.forwardTrain!(w, x));
      expect(train.logits.shape).toEqual([3, 4]);
      expect(Object.keys(train.buffers).sort()).toEqual([...spec.buffers!].sort());
      const evalInit = spec.forward(w, x, false); // running statistics at their initial 0 / 1
      const trainMode = spec.forward(w, x, true); // batch statistics, as forwardTrain
      expect(values(trainMode)).toEqual(values(train.logits));
      expect(values(evalInit)).not.toEqual(values(train.logits));
      const updated = spec.forward({ ...w, ...train.buffers }, x, false);
      expect(values(updated)).not.toEqual(values(evalInit));
      expect(tf.memory().numTensors).toBe(before + 4 + spec.buffers!.length);
      // Every trainable weight gets a gradient through the batch-norm ops.
      const grads = tf.grads((...ws: tf.Tensor[]) =>
        tf.tidy(() => tf.sum(spec.forwardTrain!({ ...w, ...Object.fromEntries(spec.weightNames.map((n, i) => [n, ws[i]!])) }, x).logits) as tf.Scalar),
      )(spec.weightNames.map((n) => w[n]!));
      grads.forEach((g, i) => expect(g.shape, spec.weightNames[i]).toEqual(spec.shapes[spec.weightNames[i]!]));
      expect(stateNames(spec)).toHaveLength(spec.weightNames.length + spec.buffers!.length);
      tf.dispose([x, train.logits, evalInit, trainMode, updated, ...grads]);
      dispose(w, train.buffers);
    });
  }

  it('vgg-19 at width 1/32 on 16×16 inputs: logits and batch-norm buffers', () => {
    const spec = byName(vgg, 'vgg-19', { width: 1 / 32 }, { inputShape: [16, 16, 3], numClasses: 10 });
    expect(spec.shapes['conv16/kernel']).toEqual([3, 3, 16, 16]);
    expect(spec.shapes['output/kernel']).toEqual([16, 10]);
    const w = spec.init(0);
    const x = images(2, 16);
    const train = spec.forwardTrain!(w, x);
    const evaluated = spec.forward({ ...w, ...train.buffers }, x, false);
    expect(train.logits.shape).toEqual([2, 10]);
    expect(evaluated.shape).toEqual([2, 10]);
    expect(Object.keys(train.buffers)).toHaveLength(32);
    tf.dispose([x, train.logits, evaluated]);
    dispose(w, train.buffers);
  });
});

describe('resnet option A shortcut', () => {
  it('keeps rows and columns 0, 2, 4, … (x[:, ::2, ::2, :]) of even and odd sizes, with gradients', () => {
    const even = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
    const odd = tf.tensor4d(Array.from({ length: 9 }, (_, i) => i), [1, 3, 3, 1]);
    const [a, b] = [everyOther(even), everyOther(odd)];
    expect(a.shape).toEqual([1, 2, 2, 1]);
    expect(values(a)).toEqual([0, 2, 8, 10]);
    expect(values(b)).toEqual([0, 2, 6, 8]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(everyOther(t as tf.Tensor4D)))(even);
    expect(values(g)).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
    // The projection shortcut's 1×1 stride-2 convolution, computed as a 1×1 convolution of every other pixel.
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 4);
    const k = tf.randomNormal([1, 1, 3, 5], 0, 1, 'float32', 5);
    const [strided, subsampled] = [tf.conv2d(x, k as tf.Tensor4D, 2, 'valid'), tf.conv2d(everyOther(x as tf.Tensor4D), k as tf.Tensor4D, 1, 'valid')];
    expect(subsampled.shape).toEqual(strided.shape);
    values(subsampled).forEach((v, i) => expect(v).toBeCloseTo(values(strided)[i]!, 5));
    tf.dispose([x, k, strided, subsampled]);
    const spec = byName(resnet, 'resnet-8', { width: 1, shortcut: 'pad' }, { inputShape: [4, 4, 1], numClasses: 2 });
    expect(spec.prunable.some((n) => n.includes('shortcut'))).toBe(false);
    tf.dispose([even, odd, a, b, g]);
  });
});

describe('vgg describes itself for exporters', () => {
  it('conv (linear) then batch norm with ReLU per step, max-pools between blocks, a global average pool, the linear output; every name is a state tensor', () => {
    const spec = byName(vgg, 'vgg-11', { width: 0.0625 });
    const d = spec.describe!();
    expect(d.inputShape).toEqual([32, 32, 3]);
    expect(d.layers.map((l) => l.type).join(' ')).toBe(
      'conv2d batchnorm maxpool conv2d batchnorm maxpool conv2d batchnorm conv2d batchnorm maxpool conv2d batchnorm conv2d batchnorm maxpool conv2d batchnorm conv2d batchnorm globalavgpool dense',
    );
    expect(d.layers[1]).toEqual({ type: 'batchnorm', name: 'conv1/bn', gamma: 'conv1/bn/gamma', beta: 'conv1/bn/beta', mean: 'conv1/bn/mean', variance: 'conv1/bn/variance', epsilon: BN_EPSILON, activation: 'relu' });
    expect(d.layers.at(-1)).toMatchObject({ type: 'dense', kernel: 'output/kernel', units: 10, activation: 'linear' });
    const names = d.layers.flatMap((l) => (l.type === 'batchnorm' ? [l.gamma, l.beta, l.mean, l.variance] : l.type === 'conv2d' || l.type === 'dense' ? [l.kernel, l.bias] : []));
    expect(new Set(names)).toEqual(new Set(stateNames(spec)));
    for (const l of d.layers) if (l.type === 'conv2d') expect(spec.shapes[l.kernel]![3]).toBe(l.filters);
  });
});

describe('resnet describes itself for exporters', () => {
  it('conv + batch norm, residual blocks (stride-2 conv1 where a stage starts; projection or option-A shortcuts), global average pool, output; every name is a state tensor', () => {
    for (const shortcut of ['projection', 'pad'] as const) {
      const spec = byName(resnet, 'resnet-20', { width: 4, shortcut });
      const d = spec.describe!();
      expect(d.layers.map((l) => l.type)).toEqual(['conv2d', 'batchnorm', ...Array(9).fill('residual'), 'globalavgpool', 'dense']);
      const blocks = d.layers.filter((l) => l.type === 'residual');
      expect(blocks.map((b) => b.name)).toEqual([1, 2, 3].flatMap((s) => [1, 2, 3].map((b) => `stage${s}/block${b}`)));
      // Stage 2 starts at stride 2 with 4 → 8 channels; other blocks keep the identity.
      const [, , , start2] = blocks;
      expect(start2!.body[0]).toMatchObject({ type: 'conv2d', name: 'stage2/block1/conv1', stride: 2, filters: 8 });
      expect(start2!.body[0]).not.toHaveProperty('bias');
      expect(start2!.shortcut.map((l) => l.type)).toEqual(shortcut === 'projection' ? ['subsample', 'conv2d', 'batchnorm'] : ['subsample', 'padchannels']);
      if (shortcut === 'pad') expect(start2!.shortcut[1]).toEqual({ type: 'padchannels', before: 2, after: 2 });
      expect(blocks[1]!.shortcut).toEqual([]);
      const namesOf = (layers: typeof d.layers): string[] =>
        layers.flatMap((l) =>
          l.type === 'residual'
            ? [...namesOf(l.body), ...namesOf(l.shortcut)]
            : l.type === 'batchnorm'
              ? [l.gamma, l.beta, l.mean, l.variance]
              : l.type === 'conv2d' || l.type === 'dense'
                ? [l.kernel, ...(l.bias ? [l.bias] : [])]
                : [],
        );
      expect(new Set(namesOf(d.layers))).toEqual(new Set(stateNames(spec)));
    }
  });
});
