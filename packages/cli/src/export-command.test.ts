/**
 * `lth export` in-process on a tiny LeNet trained by the real `lth run` (synthetic 8x8 data):
 * the sparse file and the tfjs model give lth's own logits for the same masked weights, the
 * sparse file holds exactly the kept weights and is smaller than the dense safetensors at 20 %
 * remaining, --best picks what the summaries say, and bad input exits 2 naming the problem.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LevelSummary, RunStore, type TensorMap, tf } from '@lth/core';
import { openOnnx, tfjsFileHandler } from '@lth/export';
import { lenetDefaults, lenetSpec } from '@lth/models';
import { SparseModel } from '@lth/sparse-runtime';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

const DATA = { inputShape: [8, 8, 1], numClasses: 4 };
const config = {
  name: 'export',
  seed: 0,
  dataset: { use: 'synthetic', validation: 100, train: 300, test: 200, ...DATA },
  model: { use: 'lenet-32-16' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 32, iterations: 30, evalEvery: 10 },
  // Two levels at 1 - √0.2 each: 44.7 %, then 20.0 % of the weights remain.
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5528 }, scorer: { use: 'magnitude' }, masker: { use: 'layerwise' }, rewind: { use: 'iteration', at: 0 } },
};
const spec = lenetSpec({ ...lenetDefaults, hidden: [32, 16] }, DATA);

let dir: string;
let runDir: string;
let store: RunStore;

/** A batch of 8 deterministic inputs in the data's shape. */
const inputs = Float32Array.from({ length: 8 * 64 }, (_, i) => Math.sin(i * 0.37) * 2);

/** lth's own logits for the level: its model's forward pass on θT with the masks applied. */
function lthLogits(level: number): Float32Array {
  const rep = store.replicate(0).level(level);
  const final = rep.readFinal(spec.weightNames);
  const masks = rep.readMasks();
  return tf.tidy(() => {
    const masked: TensorMap = { ...final };
    for (const [name, m] of Object.entries(masks)) masked[name] = tf.mul(final[name]!, tf.tensor(m.data, m.shape, 'float32'));
    const out = spec.forward(masked, tf.tensor(inputs, [8, 8, 8, 1]), false).dataSync() as Float32Array;
    tf.dispose(Object.values(final));
    return Float32Array.from(out);
  });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lth-export-cli-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const done = await lth('run', file, '--out', join(dir, 'runs'), '--backend', 'cpu');
  expect(done.code, done.stderr).toBe(0);
  runDir = join(dir, 'runs', JSON.parse((await lth('validate', file, '--no-data')).stdout).runDir as string);
  store = new RunStore(runDir);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lth export', () => {
  it('--format sparse: the runtime gives lth\'s logits, stores exactly the kept weights, and is smaller than the dense file at 20 %', async () => {
    const out = join(dir, 'sparse');
    const done = await lth('export', runDir, '--level', '2', '--format', 'sparse', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/^replicate 0 level 2: 20\.0\d % of weights remaining, test accuracy .* max \|logit difference\| /);
    const summary = store.replicate(0).level(2).readSummary();
    expect(summary.fractionRemaining).toBeCloseTo(0.2, 2);

    const model = SparseModel.read(readFileSync(join(out, 'model.lthsparse')));
    expect(maxDiff(model.predict(inputs, 8), lthLogits(2))).toBeLessThan(1e-5);
    const stored = Object.values(model.storedWeights()).reduce((a, b) => a + b, 0);
    expect(stored).toBe(summary.remainingWeights);
    expect(statSync(join(out, 'model.lthsparse')).size).toBeLessThan(statSync(store.replicate(0).level(2).finalFile).size / 2);

    const record = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'));
    expect(record).toMatchObject({ format: 'sparse', run: runDir, replicate: 0, level: 2, fractionRemaining: summary.fractionRemaining, finalTestAccuracy: summary.finalTestAccuracy });
    expect(record.recheck.accuracy).toBe(summary.finalTestAccuracy);
    expect(model.metadata).toMatchObject({ level: 2, configHash: store.readConfig<{ hash: string }>().hash });
  }, 60_000);

  it('--values float16 (sparse) and --quantize float16 (tfjs, by manifest quantization): smaller still, logits within half precision of lth\'s', async () => {
    const out = join(dir, 'sparse16');
    const done = await lth('export', runDir, '--level', '2', '--format', 'sparse', '--values', 'float16', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    const model = SparseModel.read(readFileSync(join(out, 'model.lthsparse')));
    expect(model.metadata).toMatchObject({ values: 'float16' });
    const lthOwn = lthLogits(2);
    const diff = maxDiff(model.predict(inputs, 8), lthOwn);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(1e-2 * Math.max(1, ...Array.from(lthOwn, Math.abs)));
    expect(statSync(join(out, 'model.lthsparse')).size).toBeLessThan(statSync(join(dir, 'sparse', 'model.lthsparse')).size);
    const tfjs = await lth('export', runDir, '--level', '2', '--format', 'tfjs', '--quantize', 'float16', '--out', join(dir, 'tfjs16'), '--backend', 'cpu');
    expect(tfjs.code, tfjs.stderr).toBe(0);
    const half = await loadLayersModel(tfjsFileHandler(join(dir, 'tfjs16', 'model.json')));
    const halfLogits = tf.tidy(() => (half.predict(tf.tensor(inputs, [8, 8, 8, 1])) as tf.Tensor).dataSync());
    expect(maxDiff(halfLogits, lthOwn)).toBeLessThan(1e-2 * Math.max(1, ...Array.from(lthOwn, Math.abs)));
    half.dispose();
    // Half the bytes of the float32 weights: 2 per weight.
    expect(statSync(join(dir, 'tfjs16', 'weights.bin')).size).toBe(2 * spec.weightNames.reduce((n, w) => n + spec.shapes[w]!.reduce((a, b) => a * b, 1), 0));
  }, 60_000);

  it('--quantize uint8 (tfjs): a byte per weight with the manifest\'s scale and min, pruned weights still exactly 0, the accuracy change reported', async () => {
    const out = join(dir, 'tfjs8');
    const done = await lth('export', runDir, '--level', '2', '--format', 'tfjs', '--quantize', 'uint8', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/change [+−]\d+\.\d\d pp, tolerance 0\.50 pp\)/);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    for (const w of json.weightsManifest[0].weights) expect(w.quantization).toMatchObject({ dtype: 'uint8', scale: expect.any(Number), min: expect.any(Number) });
    const total = spec.weightNames.reduce((n, w) => n + spec.shapes[w]!.reduce((a, b) => a * b, 1), 0);
    expect(statSync(join(out, 'weights.bin')).size).toBe(total);

    const model = await loadLayersModel(tfjsFileHandler(join(out, 'model.json')));
    const masks = store.replicate(0).level(2).readMasks();
    const checked = model.layers.flatMap((layer) => layer.weights).filter((w) => masks[w.originalName]);
    expect(checked.map((w) => w.originalName).sort()).toEqual(Object.keys(masks).sort());
    for (const w of checked) {
      const values = w.read().dataSync();
      expect(Array.from(masks[w.originalName]!.data).filter((m, i) => m === 0 && values[i] !== 0)).toEqual([]);
    }
    // Within a quantization step of lth's logits (the largest |logit| sets the scale of the error).
    const lthOwn = lthLogits(2);
    const logits = tf.tidy(() => (model.predict(tf.tensor(inputs, [8, 8, 8, 1])) as tf.Tensor).dataSync());
    expect(maxDiff(logits, lthOwn)).toBeLessThan(0.05 * Math.max(1, ...Array.from(lthOwn, Math.abs)));
    model.dispose();
    const record = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'));
    expect(record.options).toEqual({ quantize: 'uint8' });
    expect(record.recheck.accuracyChange).toBeCloseTo(record.recheck.accuracy - record.recheck.recordedAccuracy, 12);
    expect(Math.abs(record.recheck.accuracyChange)).toBeLessThanOrEqual(0.005);
  }, 60_000);

  it('--best --format tfjs: tf.loadLayersModel reads it and predicts lth\'s logits; the level is the sparsest within the tolerance', async () => {
    const out = join(dir, 'tfjs');
    const done = await lth('export', runDir, '--best', '--tolerance', '100', '--format', 'tfjs', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    // With a tolerance of 100 pp every level qualifies: the sparsest is the last.
    const record = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'));
    expect(record.level).toBe(2);
    const model = await loadLayersModel(tfjsFileHandler(join(out, 'model.json')));
    const logits = tf.tidy(() => (model.predict(tf.tensor(inputs, [8, 8, 8, 1])) as tf.Tensor).dataSync());
    expect(maxDiff(logits, lthLogits(2))).toBeLessThan(1e-5);
    model.dispose();

    const summaries = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as LevelSummary[];
    const dense = summaries.find((s) => s.level === 0)!;
    const strict = await lth('export', runDir, '--best', '--tolerance', '0', '--format', 'sparse', '--out', join(dir, 'strict'), '--backend', 'cpu');
    expect(strict.code, strict.stderr).toBe(0);
    const expected = summaries.filter((s) => s.earlyStopTestAccuracy >= dense.earlyStopTestAccuracy).sort((a, b) => a.fractionRemaining - b.fractionRemaining)[0]!;
    expect(JSON.parse(readFileSync(join(dir, 'strict', 'export.json'), 'utf8')).level).toBe(expected.level);
  }, 60_000);

  it('--format onnx: model.onnx that onnxruntime runs with lth\'s logits, re-checked on the test set', async () => {
    const out = join(dir, 'onnx');
    const done = await lth('export', runDir, '--level', '2', '--format', 'onnx', '--out', out, '--backend', 'cpu');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/level 2: .* max \|logit difference\| \d\.\d\de-\d+/);
    const session = await openOnnx(join(out, 'model.onnx'), DATA.inputShape);
    expect(maxDiff(await session.predict(inputs, 8), lthLogits(2))).toBeLessThan(1e-4);
    await session.dispose();
    const record = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'));
    expect(record).toMatchObject({ format: 'onnx', level: 2, files: ['model.onnx'] });
    expect(record.recheck.accuracy).toBe(store.replicate(0).level(2).readSummary().finalTestAccuracy);
  }, 60_000);

  it('exits 2 naming the problem: a level that does not exist or is unfinished, an unknown format (listing the known), a bad option, a directory that is no run', async () => {
    const missing = await lth('export', runDir, '--level', '9', '--format', 'sparse', '--out', join(dir, 'x'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/level 9 of replicate 0 does not exist; complete levels: 0, 1, 2/);
    const format = await lth('export', runDir, '--level', '1', '--format', 'caffe');
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/unknown exporter "caffe". Known exporters: onnx, sparse, tfjs/);
    const notRun = await lth('export', join(dir, 'runs'), '--level', '1', '--format', 'sparse');
    expect(notRun.code).toBe(2);
    expect(notRun.stderr).toMatch(/is not a run directory/);
    const both = await lth('export', runDir, '--level', '1', '--best', '--format', 'sparse');
    expect(both.code).toBe(2);
    // An option the format does not have, and a value it does not take, name the exporter and what it allows.
    const option = await lth('export', runDir, '--level', '1', '--format', 'sparse', '--quantize', 'uint8', '--out', join(dir, 'x'));
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/exporter "sparse": \/quantize: unknown field "quantize" \(allowed: values\)/);
    const value = await lth('export', runDir, '--level', '1', '--format', 'tfjs', '--quantize', 'int4', '--out', join(dir, 'x'));
    expect(value.code).toBe(2);
    expect(value.stderr).toMatch(/exporter "tfjs": \/quantize: .*"none", "float16", "uint8"/);
    // --option key=value reaches the exporter's options (here the same as --quantize float16), and is checked the same way.
    const generic = await lth('export', runDir, '--level', '1', '--format', 'tfjs', '--option', 'quantize=float16', '--out', join(dir, 'option'), '--backend', 'cpu');
    expect(generic.code, generic.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'option', 'export.json'), 'utf8')).options).toEqual({ quantize: 'float16' });
    const malformed = await lth('export', runDir, '--level', '1', '--format', 'tfjs', '--option', 'quantize', '--out', join(dir, 'x'));
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--option quantize: write key=value/);
    // A level that started but did not finish (killed, or still training).
    store.replicate(0).level(3).startMetrics();
    const unfinished = await lth('export', runDir, '--level', '3', '--format', 'onnx', '--out', join(dir, 'x'));
    expect(unfinished.code).toBe(2);
    expect(unfinished.stderr).toMatch(/level 3 of replicate 0 is not complete .*; complete levels: 0, 1, 2/);
  });
});
