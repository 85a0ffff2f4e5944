/**
 * `lth export` of a batch-norm net (a narrow VGG-11 trained by the real `lth run` on synthetic
 * 16x16x3 images, so its running statistics are not the initial 0 and 1): the tfjs and onnx
 * exports fold each batch norm into its convolution and give lth's inference logits; the sparse
 * format, fully connected only, refuses it (exit 2).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore, type TensorMap, tf } from '@lth/core';
import { openOnnx, tfjsFileHandler } from '@lth/export';
import { vggDefaults, vggSpec } from '@lth/models';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

const DATA = { inputShape: [16, 16, 3], numClasses: 3 };
const MODEL = { depth: 11 as const, width: 0.0625 };
const config = {
  name: 'export-vgg',
  seed: 0,
  dataset: { use: 'synthetic', validation: 8, train: 32, test: 16, ...DATA },
  model: { use: 'vgg-11', width: MODEL.width },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 8, iterations: 2, evalEvery: 2 },
  pruning: { schedule: { use: 'iterative', levels: 1, rate: 0.5 }, scorer: { use: 'magnitude' }, masker: { use: 'layerwise' }, rewind: { use: 'iteration', at: 0 } },
};

let dir: string;
let runDir: string;
let ours: Float32Array;
const inputs = Float32Array.from({ length: 2 * 16 * 16 * 3 }, (_, i) => Math.sin(i * 0.29));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lth-export-vgg-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const done = await lth('run', file, '--out', join(dir, 'runs'), '--backend', 'cpu');
  expect(done.code, done.stderr).toBe(0);
  runDir = join(dir, 'runs', JSON.parse((await lth('validate', file, '--no-data')).stdout).runDir as string);
  // lth's own inference logits for level 1: θT masked, with the running statistics.
  const spec = vggSpec({ ...vggDefaults, ...MODEL }, DATA);
  const level = new RunStore(runDir).replicate(0).level(1);
  const final = level.readFinal([...spec.weightNames, ...(spec.buffers ?? [])]);
  const masks = level.readMasks();
  expect(Array.from(final['conv1/bn/mean']!.dataSync()).some((v) => v !== 0)).toBe(true);
  ours = tf.tidy(() => {
    const masked: TensorMap = { ...final };
    for (const [name, m] of Object.entries(masks)) masked[name] = tf.mul(final[name]!, tf.tensor(m.data, m.shape, 'float32'));
    return Float32Array.from(spec.forward(masked, tf.tensor(inputs, [2, 16, 16, 3]), false).dataSync() as Float32Array);
  });
  tf.dispose(Object.values(final));
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('lth export of VGG-11 (batch norm folded)', () => {
  it('--format tfjs: Conv2D (folded), MaxPooling2D, GlobalAveragePooling2D, Dense with lth\'s logits', async () => {
    const out = join(dir, 'tfjs');
    const done = await lth('export', runDir, '--level', '1', '--format', 'tfjs', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const classes = json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
    expect(classes.filter((c: string) => c === 'Conv2D')).toHaveLength(8);
    expect(classes.slice(-2)).toEqual(['GlobalAveragePooling2D', 'Dense']);
    const model = await loadLayersModel(tfjsFileHandler(join(out, 'model.json')));
    const theirs = tf.tidy(() => (model.predict(tf.tensor(inputs, [2, 16, 16, 3])) as tf.Tensor).dataSync());
    expect(maxDiff(theirs, ours)).toBeLessThan(1e-4);
    model.dispose();
  }, 60_000);

  it('--format onnx: onnxruntime gives lth\'s logits', async () => {
    const out = join(dir, 'onnx');
    const done = await lth('export', runDir, '--level', '1', '--format', 'onnx', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    const session = await openOnnx(join(out, 'model.onnx'), DATA.inputShape);
    expect(maxDiff(await session.predict(inputs, 2), ours)).toBeLessThan(1e-4);
    await session.dispose();
  }, 60_000);

  it('--format sparse refuses it, naming the layers (exit 2)', async () => {
    const done = await lth('export', runDir, '--level', '1', '--format', 'sparse', '--out', join(dir, 'sparse'), '--backend', 'cpu');
    expect(done.code).toBe(2);
    expect(done.stderr).toMatch(/sparse export runs conv2d, maxpool, flatten and dense layers .* this model also has batchnorm, globalavgpool: export it as tfjs or onnx/);
  }, 60_000);
});
