/**
 * Exporters as a plugin kind: @lth/export's register() adds its three formats and importing it
 * adds nothing; a third party's format (a tiny JSON exporter written here, with its own
 * forward pass) is found by name, written and re-checked like the built-in ones; unknown names
 * list the formats that exist, and a name two packages claim is an error naming both.
 */
import { checkExporter } from '@lth/core/testing'; // also registers tfjs's CPU backend
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, type Dataset, type Exporter, type LevelSummary, loadPlugins, type ModelDescription, type ModelSpec, rootContainer, type TensorMap, TOKENS, tf, Type } from '@lth/core';
import { afterAll, describe, expect, it } from 'vitest';
import { exportTicket, onnxExporter, quantizeUint8, register, sparseExporter, type Ticket, tfjsExporter } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'lth-exporters-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Layers = { kernel: number[][]; bias: number[]; relu: boolean }[];

/** A third-party format: dense layers as JSON arrays, run by a dozen lines of plain JavaScript. */
const jsonExporter: Exporter<{ indent: number }> = {
  meta: { name: 'json', version: '1.0.0', apiVersion: API_VERSION, description: 'weights as JSON arrays' },
  optionsSchema: Type.Object({ indent: Type.Integer({ minimum: 0, maximum: 8, description: 'JSON indentation' }) }, { additionalProperties: false }),
  defaults: { indent: 0 },
  async write(ticket, o, outDir) {
    const layers: Layers = ticket.description.layers.flatMap((l) => {
      if (l.type !== 'dense') return [];
      const k = ticket.weights[l.kernel]!;
      const kernel = Array.from({ length: k.shape[0]! }, (_, i) => Array.from(k.data.subarray(i * k.shape[1]!, (i + 1) * k.shape[1]!)));
      return [{ kernel, bias: Array.from(ticket.weights[l.bias]!.data), relu: l.activation === 'relu' }];
    });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(outDir, 'ticket.json'), JSON.stringify({ source: ticket.provenance, layers }, null, o.indent));
    return ['ticket.json'];
  },
  async load(outDir) {
    const { layers } = JSON.parse(readFileSync(join(outDir, 'ticket.json'), 'utf8')) as { layers: Layers };
    const inputs = layers[0]!.kernel.length;
    return {
      predict: (x, batch) =>
        Float32Array.from(
          Array.from({ length: batch }, (_, b) =>
            layers.reduce<number[]>(
              (a, l) => l.bias.map((bias, j) => ((v) => (l.relu ? Math.max(0, v) : v))(a.reduce((s, ai, i) => s + ai * l.kernel[i]![j]!, bias))),
              Array.from(x.subarray(b * inputs, (b + 1) * inputs)),
            ),
          ).flat(),
        ),
    };
  },
};

describe('the exporter plugin kind', () => {
  it('@lth/export registers sparse, tfjs and onnx on register(), nothing on import', async () => {
    const before = rootContainer.isRegistered(TOKENS.exporter, true);
    const { registry } = await loadPlugins({ modules: { '@lth/export': { register } }, builtins: false });
    expect(registry.names('exporter')).toEqual(['onnx', 'sparse', 'tfjs']);
    expect(registry.get('exporter', 'onnx').meta.package).toBe('@lth/export');
    expect(rootContainer.isRegistered(TOKENS.exporter, true)).toBe(before);
  });

  it('a third-party exporter is found by name, validated, written and re-checked like the built-in ones', async () => {
    const { registry } = await loadPlugins({
      modules: { '@lth/export': { register }, 'lth-exporter-json': { register: (c) => void c.register(TOKENS.exporter, { useValue: jsonExporter }) } },
      builtins: false,
    });
    expect(registry.names('exporter')).toEqual(['json', 'onnx', 'sparse', 'tfjs']);
    expect(() => registry.get('exporter', 'caffe', '--format')).toThrow(/--format: unknown exporter "caffe". Known exporters: json, onnx, sparse, tfjs/);
    const exporter = registry.get<Exporter>('exporter', 'json');

    const description: ModelDescription = { inputShape: [3], layers: [{ type: 'dense', name: 'd', kernel: 'd/kernel', bias: 'd/bias', units: 2, activation: 'linear' }] };
    const model = { describe: () => description, forward: (w: TensorMap, x: tf.Tensor) => tf.tidy(() => tf.add(tf.matMul(x as tf.Tensor2D, w['d/kernel'] as tf.Tensor2D), w['d/bias']!)) } as unknown as ModelSpec;
    // Known answer: x · [[1, 0], [0, 1], [1, -1]] + [0, 0.5]; the class is 0 when x0 + x2 > x1 − x2 + 0.5.
    const x = Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1);
    const split = { x, y: Int32Array.of(0, 1, 0, 0), count: 4 };
    const dataset: Dataset = { name: 't', inputShape: [3], numClasses: 2, train: split, validation: split, test: split };
    const ticket: Ticket = {
      runDir: '/runs/r',
      replicate: 0,
      level: 2,
      summary: { replicate: 0, level: 2, fractionRemaining: 0.5, finalTestAccuracy: 1 } as LevelSummary,
      masks: {},
      weights: { 'd/kernel': { shape: [3, 2], data: Float32Array.of(1, 0, 0, 1, 1, -1) }, 'd/bias': { shape: [2], data: Float32Array.of(0, 0.5) } },
    };
    const out = join(dir, 'json');
    const { record } = await exportTicket(ticket, { exporter, options: { indent: 2 }, outDir: out, model, dataset });
    expect(record).toMatchObject({ format: 'json', level: 2, options: { indent: 2 }, files: ['ticket.json'] });
    // logits [1, 0.5], [0, 1.5], [1, -0.5], [2, 0.5]: classes 0, 1, 0, 0, all as labelled.
    expect(record.recheck).toMatchObject({ accuracy: 1, accuracyChange: 0, tolerance: 1e-4, maxLogitDifference: 0 });
    expect(readFileSync(join(out, 'ticket.json'), 'utf8')).toContain('\n  "source": {');
    await expect(exportTicket(ticket, { exporter, options: { indent: 99 }, outDir: out, model, dataset })).rejects.toThrow(/exporter "json": \/indent: must be <= 8/);
  });

  it('a format name two packages register is an error naming both', async () => {
    const copy = { ...onnxExporter, meta: { ...onnxExporter.meta } };
    const { registry } = await loadPlugins({
      modules: { '@lth/export': { register }, 'lth-onnx-too': { register: (c) => void c.register(TOKENS.exporter, { useValue: copy }) } },
      builtins: false,
    });
    expect(() => registry.get('exporter', 'onnx', '--format')).toThrow(/exporter "onnx" is registered by @lth\/export and lth-onnx-too/);
  });
});

describe("core's conformance suite", () => {
  it('passes for every built-in exporter and option (lossy options within a wider logit tolerance), and for the third-party one', async () => {
    await checkExporter(sparseExporter);
    await checkExporter(sparseExporter, { options: { values: 'float16' }, logitTolerance: 5e-3 });
    await checkExporter(tfjsExporter);
    await checkExporter(tfjsExporter, { options: { quantize: 'float16' }, logitTolerance: 5e-3 });
    await checkExporter(tfjsExporter, { options: { quantize: 'uint8' }, logitTolerance: 5e-2 });
    await checkExporter(onnxExporter);
    await checkExporter(jsonExporter);
  });
});

describe('quantizeUint8', () => {
  it('spreads the range over 255 steps with 0 on the grid: known codes, 0 decodes to exactly 0, every value within half a step', () => {
    const data = Float32Array.of(-1, 0, 0.5, 2);
    const { q, scale, min } = quantizeUint8(data);
    expect(scale).toBeCloseTo(3 / 255, 15);
    expect(Array.from(q)).toEqual([0, 85, 128, 255]);
    // As tfjs decodes it: q · scale + min.
    const decoded = Array.from(q, (v) => v * scale + min);
    expect(decoded[1]).toBe(0);
    decoded.forEach((v, i) => expect(Math.abs(v - data[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-12));
  });

  it('a range on one side of 0 still includes 0; an all-zero tensor decodes to zeros', () => {
    const pos = quantizeUint8(Float32Array.of(0.1, 0.4));
    expect(Array.from(pos.q)).toEqual([64, 255]);
    expect(0 * pos.scale + pos.min).toBe(0);
    const zeros = quantizeUint8(new Float32Array(3));
    expect(Array.from(zeros.q, (v) => v * zeros.scale + zeros.min)).toEqual([0, 0, 0]);
  });
});
