/**
 * Batch norm folded into the layer before it: a hand-computed dense case, the errors for what
 * cannot be folded, and a VGG-shaped net (conv, batch norm + ReLU, max-pool, global average
 * pool, dense) written by the tfjs and onnx exporters and loaded back, against tfjs ops that
 * apply batch norm as lth's models do.
 */
import '@lth/core/testing'; // registers tfjs's CPU backend
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExportTicket, type LayerDescription, type ModelDescription, type TensorMap, tf } from '@lth/core';
import { afterAll, describe, expect, it } from 'vitest';
import { foldBatchNorm, onnxExporter, tfjsExporter } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'lth-fold-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const host = (shape: number[], ...values: number[]) => ({ shape, data: Float32Array.from(values) });
const bn = (name: string, activation: 'relu' | 'linear' = 'relu') =>
  ({ type: 'batchnorm', name, gamma: `${name}/gamma`, beta: `${name}/beta`, mean: `${name}/mean`, variance: `${name}/variance`, epsilon: 1, activation }) as const;

describe('foldBatchNorm', () => {
  it('scales each output channel by γ / √(variance + ε) and moves mean and β into the bias; pruned weights stay 0', () => {
    const ticket: ExportTicket = {
      description: { inputShape: [2], layers: [{ type: 'dense', name: 'd', kernel: 'd/kernel', bias: 'd/bias', units: 2, activation: 'linear' }, bn('n')] },
      weights: {
        'd/kernel': host([2, 2], 1, 0, 3, 4),
        'd/bias': host([2], 0, 1),
        'n/gamma': host([2], 4, 3),
        'n/beta': host([2], 0.5, 0),
        'n/mean': host([2], 1, -1),
        // √(3 + 1) = 2, √(0 + 1) = 1: scales 4 / 2 = 2 and 3 / 1 = 3.
        'n/variance': host([2], 3, 0),
      },
      masks: {},
      provenance: {},
    };
    const folded = foldBatchNorm(ticket);
    expect(folded.description.layers).toEqual([{ type: 'dense', name: 'd', kernel: 'd/kernel', bias: 'd/bias', units: 2, activation: 'relu' }]);
    expect(Array.from(folded.weights['d/kernel']!.data)).toEqual([2, 0, 6, 12]);
    // (0 − 1) · 2 + 0.5, (1 + 1) · 3 + 0
    expect(Array.from(folded.weights['d/bias']!.data)).toEqual([-1.5, 6]);
    // The ticket given is left as it was.
    expect(Array.from(ticket.weights['d/kernel']!.data)).toEqual([1, 0, 3, 4]);
  });

  it('refuses a batch norm that follows the input or a layer with an activation, naming it', () => {
    const weights = {};
    expect(() => foldBatchNorm({ description: { inputShape: [2], layers: [bn('first')] }, weights, masks: {}, provenance: {} })).toThrow(/batch norm "first" follows the input/);
    const conv: LayerDescription = { type: 'conv2d', name: 'c', kernel: 'c/kernel', bias: 'c/bias', filters: 2, kernelSize: [3, 3], activation: 'relu' };
    expect(() => foldBatchNorm({ description: { inputShape: [4, 4, 1], layers: [conv, bn('after')] }, weights, masks: {}, provenance: {} })).toThrow(
      /batch norm "after" follows a conv2d layer with relu activation; exporters fold batch norm into a linear dense or conv2d layer/,
    );
  });
});

describe('a VGG-shaped net (conv, batch norm, max-pool, global average pool, dense)', () => {
  const description: ModelDescription = {
    inputShape: [4, 4, 2],
    layers: [
      { type: 'conv2d', name: 'c1', kernel: 'c1/kernel', bias: 'c1/bias', filters: 3, kernelSize: [3, 3], activation: 'linear' },
      bn('c1/bn'),
      { type: 'maxpool', size: 2 },
      { type: 'conv2d', name: 'c2', kernel: 'c2/kernel', bias: 'c2/bias', filters: 4, kernelSize: [3, 3], activation: 'linear' },
      bn('c2/bn'),
      { type: 'globalavgpool' },
      { type: 'dense', name: 'out', kernel: 'out/kernel', bias: 'out/bias', units: 3, activation: 'linear' },
    ],
  };
  const shapes: Record<string, number[]> = { 'c1/kernel': [3, 3, 2, 3], 'c1/bias': [3], 'c2/kernel': [3, 3, 3, 4], 'c2/bias': [4], 'out/kernel': [4, 3], 'out/bias': [3] };
  for (const [n, c] of [['c1/bn', 3], ['c2/bn', 4]] as const) for (const p of ['gamma', 'beta', 'mean', 'variance']) shapes[`${n}/${p}`] = [c];
  const weights: ExportTicket['weights'] = {};
  Object.entries(shapes).forEach(([name, shape], k) => {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(k * 31 + i * 1.3));
    // Variances are positive; every third kernel weight is pruned.
    if (name.endsWith('/variance')) data.forEach((v, i) => (data[i] = 0.5 + v * v));
    if (name.endsWith('/kernel')) data.forEach((_, i) => i % 3 === 2 && (data[i] = 0));
    weights[name] = { shape, data };
  });
  const ticket: ExportTicket = { description, weights, masks: {}, provenance: { level: 3 } };

  /** Batch norm as lth's models apply it at inference, on tfjs ops. */
  function reference(x: Float32Array, batch: number): Float32Array {
    const w: TensorMap = Object.fromEntries(Object.entries(weights).map(([n, t]) => [n, tf.tensor(t.data, t.shape)]));
    const norm = (a: tf.Tensor, n: string) => tf.relu(tf.add(tf.mul(tf.sub(a, w[`${n}/mean`]!), tf.div(w[`${n}/gamma`]!, tf.sqrt(tf.add(w[`${n}/variance`]!, 1)))), w[`${n}/beta`]!));
    const out = tf.tidy(() => {
      let a: tf.Tensor4D = tf.tensor4d(x, [batch, 4, 4, 2]);
      a = norm(tf.add(tf.conv2d(a, w['c1/kernel'] as tf.Tensor4D, 1, 'same'), w['c1/bias']!), 'c1/bn') as tf.Tensor4D;
      a = tf.maxPool(a, 2, 2, 'valid');
      a = norm(tf.add(tf.conv2d(a, w['c2/kernel'] as tf.Tensor4D, 1, 'same'), w['c2/bias']!), 'c2/bn') as tf.Tensor4D;
      return tf.add(tf.matMul(tf.mean(a, [1, 2]) as tf.Tensor2D, w['out/kernel'] as tf.Tensor2D), w['out/bias']!).dataSync() as Float32Array;
    });
    tf.dispose(Object.values(w));
    return Float32Array.from(out);
  }

  const x = Float32Array.from({ length: 5 * 32 }, (_, i) => Math.cos(i * 0.7));
  const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

  it('tfjs: Conv2D with the folded weights, MaxPooling2D, GlobalAveragePooling2D, Dense; tf.loadLayersModel gives the reference logits', async () => {
    const out = join(dir, 'tfjs');
    await tfjsExporter.write(ticket, { quantize: 'none' }, out);
    const model = await tfjsExporter.load(out, { quantize: 'none' }, description);
    expect(maxDiff(await model.predict(x, 5), reference(x, 5))).toBeLessThan(1e-5);
    await model.dispose?.();
  });

  it('onnx: Conv with the folded weights, MaxPool, GlobalAveragePool, Flatten, Gemm; onnxruntime gives the reference logits', async () => {
    const out = join(dir, 'onnx');
    await onnxExporter.write(ticket, {}, out);
    const model = await onnxExporter.load(out, {}, description);
    expect(maxDiff(await model.predict(x, 5), reference(x, 5))).toBeLessThan(1e-5);
    await model.dispose?.();
  });
});
