/**
 * The ONNX export, run in onnxruntime-node: a hand-computed two-unit net, an MLP and a small conv
 * net (NHWC input, 3x3 'same' convolutions, max-pooling, flatten in lth's order) give the
 * model's own logits for the same masked weights; the file records its source and opset, and
 * what it cannot express is refused by name.
 */
import '@lth/core/testing'; // registers tfjs's CPU backend
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, type ExportTicket, type LevelSummary, type ModelDescription, type ModelSpec, type TensorMap, tf } from '@lth/core';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTicket, ONNX_FILE, onnxExporter, onnxMetadata, onnxModelBytes, openOnnx, type Ticket } from './index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lth-onnx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 97 + i * 1.7) * 1.2);

/** A ticket over `shapes`: pseudo-random weights, every third kernel weight pruned (zeroed, as readTicket does). */
function ticketOf(shapes: Record<string, number[]>, accuracy = 0): Ticket {
  const weights: Ticket['weights'] = {};
  const masks: Ticket['masks'] = {};
  Object.entries(shapes).forEach(([name, shape], k) => {
    const data = values(shape.reduce((a, b) => a * b, 1), k + 1);
    if (name.endsWith('/kernel')) {
      const mask = Uint8Array.from(data, (_, i) => (i % 3 === 1 ? 0 : 1));
      masks[name] = { shape, data: mask };
      data.forEach((_, i) => mask[i] === 0 && (data[i] = 0));
    }
    weights[name] = { shape, data };
  });
  const summary = { replicate: 0, level: 1, fractionRemaining: 2 / 3, finalTestAccuracy: accuracy, earlyStopTestAccuracy: accuracy } as LevelSummary;
  return { runDir: '/runs/x', configHash: 'abc', replicate: 0, level: 1, summary, masks, weights };
}

const exportOf = (t: Ticket, description: ModelDescription, provenance: Record<string, unknown>): ExportTicket => ({ description, weights: t.weights, masks: t.masks, provenance });
const tensors = (t: Ticket): TensorMap => Object.fromEntries(Object.entries(t.weights).map(([n, w]) => [n, tf.tensor(w.data, w.shape)]));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('onnxModelBytes in onnxruntime', () => {
  it('a 2-2 dense layer: logits known by hand', async () => {
    const description: ModelDescription = { inputShape: [2], layers: [{ type: 'dense', name: 'd', kernel: 'd/kernel', bias: 'd/bias', units: 2, activation: 'linear' }] };
    const ticket = ticketOf({});
    ticket.weights = { 'd/kernel': { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }, 'd/bias': { shape: [2], data: Float32Array.of(0.5, -1) } };
    const session = await openOnnx(onnxModelBytes(exportOf(ticket, description, { level: 1 })), [2]);
    // [1, -1] · [[1, 2], [3, 4]] + [0.5, -1] = [-2, -2] + b = [-1.5, -3];  [2, 0.5] → [3.5, 6] + b = [4, 5]
    expect(Array.from(await session.predict(Float32Array.of(1, -1, 2, 0.5), 2))).toEqual([-1.5, -3, 4, 5]);
    await session.dispose();
  });

  it('an MLP (Flatten, Gemm, Relu): opset 13, the model\'s logits, the source in metadata_props', async () => {
    const description: ModelDescription = {
      inputShape: [2, 3],
      layers: [
        { type: 'flatten' },
        { type: 'dense', name: 'h', kernel: 'h/kernel', bias: 'h/bias', units: 4, activation: 'relu' },
        { type: 'dense', name: 'out', kernel: 'out/kernel', bias: 'out/bias', units: 3, activation: 'linear' },
      ],
    };
    const ticket = ticketOf({ 'h/kernel': [6, 4], 'h/bias': [4], 'out/kernel': [4, 3], 'out/bias': [3] });
    const bytes = onnxModelBytes(exportOf(ticket, description, { run: '/runs/x', level: 1 }));
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 13]]);
    expect(model.graph!.node!.map((n) => n.opType)).toEqual(['Flatten', 'Gemm', 'Relu', 'Gemm']);
    expect(onnxMetadata(bytes)).toEqual({ run: '/runs/x', level: 1 });

    const x = values(5 * 6, 9);
    const w = tensors(ticket);
    const ours = tf.tidy(() => {
      const h = tf.relu(tf.add(tf.matMul(tf.tensor2d(x, [5, 6]), w['h/kernel'] as tf.Tensor2D), w['h/bias']!));
      return tf.add(tf.matMul(h as tf.Tensor2D, w['out/kernel'] as tf.Tensor2D), w['out/bias']!).dataSync();
    });
    const session = await openOnnx(bytes, [2, 3]);
    expect(maxDiff(await session.predict(x, 5), ours)).toBeLessThan(1e-5);
    await session.dispose();
    tf.dispose(Object.values(w));
  });

  it('a conv net on NHWC images (Conv 3x3 same, MaxPool, Flatten in lth\'s row-major NHWC order): the model\'s logits', async () => {
    const description: ModelDescription = {
      inputShape: [6, 6, 2],
      layers: [
        { type: 'conv2d', name: 'c1', kernel: 'c1/kernel', bias: 'c1/bias', filters: 3, kernelSize: [3, 3], activation: 'relu' },
        { type: 'conv2d', name: 'c2', kernel: 'c2/kernel', bias: 'c2/bias', filters: 4, kernelSize: [3, 3], activation: 'relu' },
        { type: 'maxpool', size: 2 },
        { type: 'flatten' },
        { type: 'dense', name: 'out', kernel: 'out/kernel', bias: 'out/bias', units: 3, activation: 'linear' },
      ],
    };
    const ticket = ticketOf({ 'c1/kernel': [3, 3, 2, 3], 'c1/bias': [3], 'c2/kernel': [3, 3, 3, 4], 'c2/bias': [4], 'out/kernel': [36, 3], 'out/bias': [3] });
    const bytes = onnxModelBytes(exportOf(ticket, description, {}));
    expect(onnxProto.onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType)).toEqual(['Transpose', 'Conv', 'Relu', 'Conv', 'Relu', 'MaxPool', 'Transpose', 'Flatten', 'Gemm']);
    const x = values(4 * 72, 5);
    const w = tensors(ticket);
    const ours = tf.tidy(() => {
      let a = tf.tensor4d(x, [4, 6, 6, 2]);
      a = tf.relu(tf.add(tf.conv2d(a, w['c1/kernel'] as tf.Tensor4D, 1, 'same'), w['c1/bias']!));
      a = tf.relu(tf.add(tf.conv2d(a, w['c2/kernel'] as tf.Tensor4D, 1, 'same'), w['c2/bias']!));
      a = tf.maxPool(a, 2, 2, 'valid');
      return tf.add(tf.matMul(tf.reshape(a, [4, 36]), w['out/kernel'] as tf.Tensor2D), w['out/bias']!).dataSync();
    });
    const session = await openOnnx(bytes, [6, 6, 2]);
    expect(maxDiff(await session.predict(x, 4), ours)).toBeLessThan(1e-4);
    await session.dispose();
    tf.dispose(Object.values(w));
  });

  it('refuses layers it cannot write, naming them, and a model that does not end in a dense layer', () => {
    const ticket = ticketOf({});
    expect(() => onnxModelBytes(exportOf(ticket, { inputShape: [4], layers: [{ type: 'lstm' } as never] }, {}))).toThrow(/onnx export supports flatten, dense, conv2d, maxpool, globalavgpool, residual, subsample, padchannels and batchnorm \(folded\) .* this model has lstm/);
    expect(() => onnxModelBytes(exportOf(ticket, { inputShape: [4, 4, 1], layers: [{ type: 'maxpool', size: 2 }] }, {}))).toThrow(/needs a dense layer last/);
    expect(() =>
      onnxModelBytes(exportOf(ticket, { inputShape: [2, 3], layers: [{ type: 'dense', name: 'd', kernel: 'd/kernel', bias: 'd/bias', units: 2, activation: 'linear' }] }, {})),
    ).toThrow(/input is 2x3 but it describes no flatten/);
  });
});

describe('exportTicket --format onnx', () => {
  it('writes model.onnx, re-checks it in onnxruntime on the test set, and records the source and the check', async () => {
    const description: ModelDescription = {
      inputShape: [4],
      layers: [
        { type: 'dense', name: 'h', kernel: 'h/kernel', bias: 'h/bias', units: 5, activation: 'relu' },
        { type: 'dense', name: 'out', kernel: 'out/kernel', bias: 'out/bias', units: 3, activation: 'linear' },
      ],
    };
    const forward = (w: TensorMap, x: tf.Tensor) =>
      tf.tidy(() => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w['h/kernel'] as tf.Tensor2D), w['h/bias']!)) as tf.Tensor2D, w['out/kernel'] as tf.Tensor2D), w['out/bias']!));
    const shapes = { 'h/kernel': [4, 5], 'h/bias': [5], 'out/kernel': [5, 3], 'out/bias': [3] };
    const model = { forward, describe: () => description } as unknown as ModelSpec;
    const count = 30;
    const x = values(count * 4, 2);
    const probe = ticketOf(shapes);
    const w = tensors(probe);
    // Labels: the model's own predictions on half the examples, so lth's accuracy is 0.5 + chance hits.
    const predicted = tf.tidy(() => tf.argMax(forward(w, tf.tensor2d(x, [count, 4])), 1).dataSync());
    tf.dispose(Object.values(w));
    const y = Int32Array.from(predicted, (p, i) => (i % 2 ? p : (p + 1) % 3));
    const split = { x, y, count };
    const dataset: Dataset = { name: 't', inputShape: [4], numClasses: 3, train: split, validation: split, test: split };
    const ticket = ticketOf(shapes, 0.5);
    const out = join(dir, 'onnx');
    const { record, files } = await exportTicket(ticket, { exporter: onnxExporter, outDir: out, model, dataset });
    expect(files.map((f) => f.slice(out.length + 1))).toEqual([ONNX_FILE, 'export.json']);
    expect(record.recheck).toMatchObject({ examples: 30, accuracy: 0.5, recordedAccuracy: 0.5 });
    expect(record.recheck.maxLogitDifference).toBeLessThan(1e-5);
    expect(onnxMetadata(readFileSync(join(out, ONNX_FILE)))).toMatchObject({ format: 'onnx', run: '/runs/x', configHash: 'abc', level: 1, fractionRemaining: 2 / 3 });

    // A recorded accuracy the file does not reproduce fails the export, and writes no export.json.
    await expect(exportTicket(ticketOf(shapes, 0.9), { exporter: onnxExporter, outDir: join(dir, 'bad'), model, dataset })).rejects.toThrow(
      /onnx export of level 1 scores 50\.00 % on the test set, lth measured 90\.00 %/,
    );
  });
});
