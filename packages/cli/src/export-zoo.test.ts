/**
 * Every exporter that writes convolutional nets (tfjs, onnx), on the zoo's batch-norm and residual
 * architectures built by @lth/models at small widths: ResNet-8 with each shortcut (projection:
 * subsample + 1x1 convolution + batch norm; pad: option A, subsample + zero channels) and VGG-11,
 * with deterministic weights, non-trivial batch-norm statistics and a third of each kernel
 * pruned. Loaded back (tf.loadLayersModel, onnxruntime), each gives the model's own inference
 * logits. No training: the architectures, not a run, are under test (a trained VGG is in
 * export-vgg.test.ts).
 */
import '@lth/core/testing'; // registers tfjs's CPU backend
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Exporter, type ExportTicket, type ModelSpec, stateNames, type TensorMap, tf } from '@lth/core';
import { onnxExporter, tfjsExporter } from '@lth/export';
import { resnetDefaults, resnetSpec, vggDefaults, vggSpec } from '@lth/models';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'lth-export-zoo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The spec's state with deterministic values: positive variances, every third prunable weight 0. */
function ticketOf(spec: ModelSpec): { ticket: ExportTicket; weights: TensorMap } {
  const host: ExportTicket['weights'] = {};
  const masks: ExportTicket['masks'] = {};
  stateNames(spec).forEach((name, k) => {
    const shape = spec.shapes[name]!;
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(k * 7.1 + i * 0.91));
    if (name.endsWith('/variance')) data.forEach((v, i) => (data[i] = 0.5 + v * v));
    else if (name.endsWith('/kernel')) data.forEach((v, i) => (data[i] = 0.4 * v));
    if (spec.prunable.includes(name)) {
      const mask = Uint8Array.from(data, (_, i) => (i % 3 === 1 ? 0 : 1));
      data.forEach((_, i) => mask[i] === 0 && (data[i] = 0));
      masks[name] = { shape, data: mask };
    }
    host[name] = { shape, data };
  });
  const weights = Object.fromEntries(Object.entries(host).map(([n, w]) => [n, tf.tensor(w.data, w.shape)]));
  return { ticket: { description: spec.describe!(), weights: host, masks, provenance: {} }, weights };
}

const DATA = { inputShape: [8, 8, 3], numClasses: 3 };
const CASES: [string, ModelSpec][] = [
  ['resnet-8, projection shortcuts', resnetSpec({ ...resnetDefaults, depth: 8, width: 4, shortcut: 'projection' }, DATA)],
  ['resnet-8, option-A shortcuts (subsample, zero channels)', resnetSpec({ ...resnetDefaults, depth: 8, width: 4, shortcut: 'pad' }, DATA)],
  ['vgg-11 at width 1/16 (32x32)', vggSpec({ ...vggDefaults, depth: 11, width: 0.0625 }, { inputShape: [32, 32, 3], numClasses: 3 })],
];

describe.each(CASES)('%s', (label, spec) => {
  const { ticket, weights } = ticketOf(spec);
  const shape = spec.describe!().inputShape;
  const x = Float32Array.from({ length: 3 * shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i * 0.37));
  const ours = tf.tidy(() => spec.forward(weights, tf.tensor(x, [3, ...shape]), false).dataSync() as Float32Array);
  const maxDiff = (a: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - ours[i]!)));

  it.each([
    ['tfjs', tfjsExporter, { quantize: 'none' }],
    ['onnx', onnxExporter, {}],
  ] as [string, Exporter, Record<string, unknown>][])('%s: loaded back, the model\'s inference logits', async (format, exporter, options) => {
    const out = join(dir, `${label.split(',')[0]}-${format}-${label.length}`);
    const files = await exporter.write(ticket, options, out);
    const model = await exporter.load(out, options, ticket.description);
    const theirs = await model.predict(x, 3);
    await model.dispose?.();
    expect(theirs.length).toBe(3 * 3);
    expect(maxDiff(theirs)).toBeLessThan(1e-4);
    if (format === 'tfjs' && label.startsWith('resnet')) {
      const json = JSON.parse(readFileSync(join(out, files[0]!), 'utf8'));
      expect(json.modelTopology.class_name).toBe('Model');
      expect(json.modelTopology.config.layers.filter((l: { class_name: string }) => l.class_name === 'Add')).toHaveLength(3);
    }
  });
});
