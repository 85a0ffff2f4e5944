/**
 * `lth export --format tfjs` of a convolutional ticket (a narrow Conv-2 trained by the real
 * `lth run` on synthetic 8x8x3 images, with dropout): tf.loadLayersModel reads it and gives lth's
 * logits, and so do onnxruntime (onnx) and @lth/sparse-runtime (sparse: the kept weights only).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore, type TensorMap, tf } from '@lth/core';
import { openOnnx, tfjsFileHandler } from '@lth/export';
import { convDefaults, convSpec } from '@lth/models';
import { SparseModel } from '@lth/sparse-runtime';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

const DATA = { inputShape: [8, 8, 3], numClasses: 3 };
const MODEL = { depth: 2 as const, width: 0.0625, dense: [8], dropout: 0.2 };
const config = {
  name: 'export-conv',
  seed: 0,
  dataset: { use: 'synthetic', validation: 50, train: 150, test: 60, ...DATA },
  model: { use: 'conv-2', width: MODEL.width, dense: MODEL.dense, dropout: MODEL.dropout },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 16, iterations: 8, evalEvery: 4 },
  pruning: { schedule: { use: 'iterative', levels: 1, rate: 0.5 }, scorer: { use: 'magnitude' }, masker: { use: 'layerwise' }, rewind: { use: 'iteration', at: 0 } },
};

let dir: string;
let runDir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lth-export-conv-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const done = await lth('run', file, '--out', join(dir, 'runs'), '--backend', 'cpu');
  expect(done.code, done.stderr).toBe(0);
  runDir = join(dir, 'runs', JSON.parse((await lth('validate', file, '--no-data')).stdout).runDir as string);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lth export of Conv-2', () => {
  it('--format tfjs: Conv2D, MaxPooling2D, Flatten, Dense layers that tf.loadLayersModel reads, with lth\'s logits', async () => {
    const out = join(dir, 'tfjs');
    const done = await lth('export', runDir, '--level', '1', '--format', 'tfjs', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).toEqual(['Conv2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense']);

    const spec = convSpec({ ...convDefaults, ...MODEL }, DATA);
    const level = new RunStore(runDir).replicate(0).level(1);
    const final = level.readFinal(spec.weightNames);
    const masks = level.readMasks();
    const x = tf.tensor(Float32Array.from({ length: 4 * 8 * 8 * 3 }, (_, i) => Math.sin(i * 0.61)), [4, 8, 8, 3]);
    const ours = tf.tidy(() => {
      const masked: TensorMap = { ...final };
      for (const [name, m] of Object.entries(masks)) masked[name] = tf.mul(final[name]!, tf.tensor(m.data, m.shape, 'float32'));
      return spec.forward(masked, x, false).dataSync();
    });
    const model = await loadLayersModel(tfjsFileHandler(join(out, 'model.json')));
    const theirs = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    expect(theirs.length).toBe(4 * 3);
    expect(Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i]!)))).toBeLessThan(1e-5);
    model.dispose();
    tf.dispose([x, ...Object.values(final)]);
  }, 60_000);

  it('--format onnx: Transpose to NCHW, Conv, Relu, MaxPool, Transpose back, Flatten, Gemm; onnxruntime gives lth\'s logits', async () => {
    const out = join(dir, 'onnx');
    const done = await lth('export', runDir, '--level', '1', '--format', 'onnx', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    const spec = convSpec({ ...convDefaults, ...MODEL }, DATA);
    const level = new RunStore(runDir).replicate(0).level(1);
    const final = level.readFinal(spec.weightNames);
    const masks = level.readMasks();
    const inputs = Float32Array.from({ length: 4 * 8 * 8 * 3 }, (_, i) => Math.cos(i * 0.43));
    const ours = tf.tidy(() => {
      const masked: TensorMap = { ...final };
      for (const [name, m] of Object.entries(masks)) masked[name] = tf.mul(final[name]!, tf.tensor(m.data, m.shape, 'float32'));
      return spec.forward(masked, tf.tensor(inputs, [4, 8, 8, 3]), false).dataSync();
    });
    const session = await openOnnx(join(out, 'model.onnx'), DATA.inputShape);
    const theirs = await session.predict(inputs, 4);
    expect(theirs.length).toBe(4 * 3);
    expect(Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i]!)))).toBeLessThan(1e-4);
    await session.dispose();
    tf.dispose(Object.values(final));
  }, 60_000);

  it('--format sparse: only the kept weights of every conv and dense layer; @lth/sparse-runtime gives lth\'s logits', async () => {
    const out = join(dir, 'sparse');
    const done = await lth('export', runDir, '--level', '1', '--format', 'sparse', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    const spec = convSpec({ ...convDefaults, ...MODEL }, DATA);
    const level = new RunStore(runDir).replicate(0).level(1);
    const final = level.readFinal(spec.weightNames);
    const masks = level.readMasks();
    const inputs = Float32Array.from({ length: 5 * 8 * 8 * 3 }, (_, i) => Math.sin(i * 0.37));
    const ours = tf.tidy(() => {
      const masked: TensorMap = { ...final };
      for (const [name, m] of Object.entries(masks)) masked[name] = tf.mul(final[name]!, tf.tensor(m.data, m.shape, 'float32'));
      return spec.forward(masked, tf.tensor(inputs, [5, 8, 8, 3]), false).dataSync();
    });
    for (const kernel of ['js', 'wasm'] as const) {
      const model = SparseModel.read(new Uint8Array(readFileSync(join(out, 'model.lthsparse'))), { kernel });
      const theirs = model.predict(inputs, 5);
      expect(theirs.length).toBe(5 * 3);
      expect(Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i]!)))).toBeLessThan(1e-4);
      // Pruned weights are absent: the stored values per layer are the mask's counts.
      const stored = model.storedWeights();
      for (const l of spec.describe!().layers) {
        if (l.type !== 'conv2d' && l.type !== 'dense') continue;
        expect(stored[l.name]).toBe(masks[l.kernel]!.data.reduce((a, b) => a + b, 0));
      }
    }
    tf.dispose(Object.values(final));
  }, 60_000);
});
