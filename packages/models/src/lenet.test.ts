import '@lth/core/testing'; // registers tfjs's CPU backend
import { tf, type TensorMap } from '@lth/core';
import { afterEach, describe, expect, it } from 'vitest';
import { lenet, lenetDefaults, lenetSpec } from './lenet.js';

const MNIST = { inputShape: [28, 28, 1], numClasses: 10 };

function dispose(weights: TensorMap): void {
  for (const t of Object.values(weights)) t.dispose();
}

/** Bit equality of two tensors' values; vitest's deep equality is slow on 235k floats. */
async function same(a: tf.Tensor, b: tf.Tensor): Promise<boolean> {
  const [x, y] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

function count(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

describe('lenet', () => {
  afterEach(() => tf.disposeVariables());

  it('LeNet-300-100 has exactly 266,200 prunable weights, the kernels, in layer order', () => {
    const spec = lenet.create({ ...lenetDefaults, ...lenet.matches!('lenet-300-100') }, MNIST);
    expect(spec.weightNames).toEqual([
      'dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias', 'output/kernel', 'output/bias',
    ]);
    expect(spec.prunable).toEqual(['dense1/kernel', 'dense2/kernel', 'output/kernel']);
    expect(spec.prunable.reduce((n, name) => n + count(spec.shapes[name]!), 0)).toBe(266200);
    expect(spec.shapes).toEqual({
      'dense1/kernel': [784, 300], 'dense1/bias': [300],
      'dense2/kernel': [300, 100], 'dense2/bias': [100],
      'output/kernel': [100, 10], 'output/bias': [10],
    });
    expect(spec.layerOf).toEqual({ 'dense1/kernel': 'dense1', 'dense2/kernel': 'dense2', 'output/kernel': 'output' });
    expect(spec.outputLayer).toBe('output');
  });

  it('resolves lenet-<h1>-<h2>-... names to hidden widths and nothing else', () => {
    expect(lenet.matches!('lenet-300-100')).toEqual({ hidden: [300, 100] });
    expect(lenet.matches!('lenet-500-300-100')).toEqual({ hidden: [500, 300, 100] });
    expect(lenet.matches!('lenet-64')).toEqual({ hidden: [64] });
    for (const name of ['lenet', 'lenet-', 'lenet-0-10', 'lenet-300-', 'lenet-a', 'conv-2', 'xlenet-300']) {
      expect(lenet.matches!(name), name).toBeUndefined();
    }
  });

  it('init is deterministic, differs between seeds and leaves biases at zero', async () => {
    const spec = lenet.create(lenetDefaults, MNIST);
    const a = spec.init(7);
    const b = spec.init(7);
    const c = spec.init(8);
    for (const name of spec.weightNames) {
      expect(a[name]!.shape).toEqual(spec.shapes[name]);
      expect(a[name]!.dtype).toBe('float32');
      expect(await same(a[name]!, b[name]!), name).toBe(true);
    }
    for (const name of spec.prunable) expect(await same(a[name]!, c[name]!), name).toBe(false);
    for (const name of ['dense1/bias', 'dense2/bias', 'output/bias']) {
      expect([...(await a[name]!.data())].every((v) => v === 0)).toBe(true);
    }
    // Each layer's seed depends only on its name: resizing another layer leaves it unchanged.
    const wider = lenet.create({ ...lenetDefaults, hidden: [300, 50] }, MNIST).init(7);
    expect(await same(wider['dense1/kernel']!, a['dense1/kernel']!)).toBe(true);
    for (const w of [a, b, c, wider]) dispose(w);
  });

  it('draws glorot-normal kernels with variance 2 / (fan_in + fan_out), untruncated', async () => {
    const spec = lenet.create(lenetDefaults, MNIST);
    const weights = spec.init(0);
    const values = await weights['dense1/kernel']!.data();
    let sum = 0;
    let sq = 0;
    let max = 0;
    for (const v of values) {
      sum += v;
      sq += v * v;
      max = Math.max(max, Math.abs(v));
    }
    const mean = sum / values.length;
    const std = Math.sqrt(sq / values.length - mean * mean);
    const expected = Math.sqrt(2 / (784 + 300));
    expect(Math.abs(mean)).toBeLessThan(expected * 0.01);
    expect(std / expected).toBeGreaterThan(0.99);
    expect(std / expected).toBeLessThan(1.01);
    // With 235,200 draws a normal exceeds 4σ about 15 times; a truncated one (at 2σ) never does.
    expect(max).toBeGreaterThan(4 * expected);
    dispose(weights);
  });

  it('supports glorot-uniform and kaiming-normal', async () => {
    const uniform = lenet.create({ ...lenetDefaults, init: 'glorot-uniform' }, MNIST).init(0);
    const limit = Math.sqrt(6 / (784 + 300));
    const u = await uniform['dense1/kernel']!.data();
    const largest = u.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(largest).toBeLessThanOrEqual(limit);
    expect(largest).toBeGreaterThan(limit * 0.99);
    const kaiming = lenet.create({ ...lenetDefaults, init: 'kaiming-normal' }, MNIST).init(0);
    const k = await kaiming['output/kernel']!.data();
    const std = Math.sqrt(k.reduce((s, v) => s + v * v, 0) / k.length);
    expect(std / Math.sqrt(2 / 100)).toBeGreaterThan(0.9);
    expect(std / Math.sqrt(2 / 100)).toBeLessThan(1.1);
    dispose(uniform);
    dispose(kaiming);
  });

  it('forward flattens NHWC input, returns [batch, 10] logits and keeps no tensors', async () => {
    const spec = lenet.create(lenetDefaults, MNIST);
    const weights = spec.init(1);
    const x = tf.randomUniform([5, 28, 28, 1], 0, 1, 'float32', 3);
    const before = tf.memory().numTensors;
    const logits = spec.forward(weights, x, true);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(logits.shape).toEqual([5, 10]);
    logits.dispose();
    x.dispose();
    dispose(weights);
  });

  it('computes a hand-checked forward pass: ReLU hidden layers, linear output', async () => {
    const spec = lenetSpec({ ...lenetDefaults, hidden: [2] }, { inputShape: [3], numClasses: 2 });
    const weights: TensorMap = {
      'dense1/kernel': tf.tensor2d([[1, -1], [0, 2], [2, 0]]),
      'dense1/bias': tf.tensor1d([0.5, -2]),
      'output/kernel': tf.tensor2d([[1, 2], [-3, 0.5]]),
      'output/bias': tf.tensor1d([-10, 1]),
    };
    const x = tf.tensor2d([[1, 2, 3], [-1, 0, 1]]);
    // Hidden: [7.5, 1] and relu([1.5, -1]) = [1.5, 0]; logits: [7.5-3-10, 15+0.5+1], [1.5-10, 3+1].
    const logits = spec.forward(weights, x, false);
    expect(logits.shape).toEqual([2, 2]);
    expect(Array.from(await logits.data())).toEqual([-5.5, 16.5, -8.5, 4]);
    logits.dispose();
    x.dispose();
    dispose(weights);
  });

  it('gives the output layer the configured name and rejects a clash with a hidden layer', () => {
    const spec = lenet.create({ ...lenetDefaults, outputLayer: 'logits' }, MNIST);
    expect(spec.outputLayer).toBe('logits');
    expect(spec.prunable).toContain('logits/kernel');
    expect(() => lenet.create({ ...lenetDefaults, outputLayer: 'dense2' }, MNIST)).toThrow(/outputLayer "dense2"/);
  });

  it('describes itself for exporters: flatten (image inputs), ReLU dense layers, a linear output over its weights', () => {
    const spec = lenet.create({ ...lenetDefaults, hidden: [300, 100], outputLayer: 'logits' }, MNIST);
    expect(spec.describe!()).toEqual({
      inputShape: [28, 28, 1],
      layers: [
        { type: 'flatten' },
        { type: 'dense', name: 'dense1', kernel: 'dense1/kernel', bias: 'dense1/bias', units: 300, activation: 'relu' },
        { type: 'dense', name: 'dense2', kernel: 'dense2/kernel', bias: 'dense2/bias', units: 100, activation: 'relu' },
        { type: 'dense', name: 'logits', kernel: 'logits/kernel', bias: 'logits/bias', units: 10, activation: 'linear' },
      ],
    });
    const flat = lenetSpec({ ...lenetDefaults, hidden: [2] }, { inputShape: [3], numClasses: 2 }).describe!();
    expect(flat.layers.map((l) => l.type)).toEqual(['dense', 'dense']);
    // Every weight the description names is a weight of the model, with the stated width.
    for (const l of spec.describe!().layers) if (l.type === 'dense') expect(spec.shapes[l.kernel]![1]).toBe(l.units);
  });
  it("splits its forward pass after the first layer's product (firstLayer), bit for bit, and the product is linear in the kernel", async () => {
    const spec = lenetSpec({ ...lenetDefaults, hidden: [7, 5] }, MNIST);
    const w = spec.init(3);
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 1);
    // The plain three-layer computation, written out.
    const reference = tf.tidy(() => {
      const h1 = tf.relu(tf.add(tf.matMul(tf.reshape(x, [4, 784]) as tf.Tensor2D, w['dense1/kernel'] as tf.Tensor2D), w['dense1/bias']!));
      const h2 = tf.relu(tf.add(tf.matMul(h1, w['dense2/kernel'] as tf.Tensor2D), w['dense2/bias']!));
      return tf.add(tf.matMul(h2, w['output/kernel'] as tf.Tensor2D), w['output/bias']!);
    });
    const first = spec.firstLayer!;
    expect(first.kernel).toBe('dense1/kernel');
    const split = tf.tidy(() => first.rest(w, first.apply(w[first.kernel]!, x)));
    const forward = spec.forward(w, x, false);
    expect(await same(forward, reference)).toBe(true);
    expect(await same(split, reference)).toBe(true);
    const d = tf.randomNormal(spec.shapes['dense1/kernel']!, 0, 1, 'float32', 2);
    const [sum, parts] = tf.tidy(() => [first.apply(tf.add(w[first.kernel]!, tf.mul(d, 0.5)), x), tf.add(first.apply(w[first.kernel]!, x), tf.mul(first.apply(d, x), 0.5))]);
    expect(tf.max(tf.abs(tf.sub(sum!, parts!))).dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([reference, split, forward, d, sum!, parts!, x]);
    dispose(w);
  });
});
