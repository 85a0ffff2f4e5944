import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Exporter, ExportTicket } from '../contracts.js';
import { checkPluginShape, pluginLabel } from './check-plugin.js';

export interface CheckExporterOptions<O> {
  /** Options to export with (merged over the exporter's defaults). */
  options?: Partial<O>;
  /** Largest |exported logit − reference logit| accepted (default 1e-4; lossy options need more). */
  logitTolerance?: number;
}

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 13 + i * 0.77));

/**
 * The tiny ticket every exporter is checked on: a flatten, a 6→4 ReLU layer and a 4→3 linear
 * output, a third of each kernel pruned (0, as a ticket's masked weights are).
 */
export function fakeExportTicket(): ExportTicket {
  const weights: ExportTicket['weights'] = {};
  const masks: ExportTicket['masks'] = {};
  const shapes: Record<string, number[]> = { 'hidden/kernel': [6, 4], 'hidden/bias': [4], 'output/kernel': [4, 3], 'output/bias': [3] };
  Object.entries(shapes).forEach(([name, shape], k) => {
    const data = values(shape.reduce((a, b) => a * b, 1), k + 1);
    if (name.endsWith('/kernel')) {
      const mask = Uint8Array.from(data, (_, i) => (i % 3 === 2 ? 0 : 1));
      data.forEach((_, i) => mask[i] === 0 && (data[i] = 0));
      masks[name] = { shape, data: mask };
    }
    weights[name] = { shape, data };
  });
  return {
    description: {
      inputShape: [2, 3],
      layers: [
        { type: 'flatten' },
        { type: 'dense', name: 'hidden', kernel: 'hidden/kernel', bias: 'hidden/bias', units: 4, activation: 'relu' },
        { type: 'dense', name: 'output', kernel: 'output/kernel', bias: 'output/bias', units: 3, activation: 'linear' },
      ],
    },
    weights,
    masks,
    provenance: { run: '/runs/fake', replicate: 0, level: 1, fractionRemaining: 2 / 3 },
  };
}

/** The fake ticket's logits, in plain double-precision arithmetic. */
function referenceLogits(ticket: ExportTicket, x: Float32Array, batch: number): number[] {
  const dense = (a: number[], kernel: string, bias: string, relu: boolean) => {
    const k = ticket.weights[kernel]!;
    const b = ticket.weights[bias]!.data;
    const [inputs, units] = k.shape as [number, number];
    return Array.from({ length: units }, (_, j) => {
      let s = b[j]!;
      for (let i = 0; i < inputs; i++) s += a[i]! * k.data[i * units + j]!;
      return relu ? Math.max(0, s) : s;
    });
  };
  return Array.from({ length: batch }, (_, n) => dense(dense(Array.from(x.subarray(n * 6, n * 6 + 6)), 'hidden/kernel', 'hidden/bias', true), 'output/kernel', 'output/bias', false)).flat();
}

/**
 * An exporter against the contract, on `fakeExportTicket`: the shared plugin shape; `write`
 * returns the names of files it wrote in the directory (relative) and leaves the ticket as it was;
 * `load` reads them back into a model whose logits for a batch are the ticket's within
 * `logitTolerance`; no tfjs tensor outlives it. Throws naming the exporter and the problem.
 */
export async function checkExporter<O>(exporter: Exporter<O>, o: CheckExporterOptions<O> = {}): Promise<void> {
  const label = pluginLabel('exporter', exporter);
  checkPluginShape('exporter', exporter);
  const options = { ...exporter.defaults, ...o.options } as O;
  const ticket = fakeExportTicket();
  const before = JSON.stringify(Object.fromEntries(Object.entries(ticket.weights).map(([n, w]) => [n, Array.from(w.data)])));
  const dir = mkdtempSync(join(tmpdir(), 'lth-check-exporter-'));
  const tensors = tf.memory().numTensors;
  try {
    const files = await exporter.write(ticket, options, dir);
    assert.ok(Array.isArray(files) && files.length > 0, `${label}: write must return the names of the files it wrote`);
    for (const f of files) {
      assert.ok(!isAbsolute(f), `${label}: write must return names relative to the directory, got ${f}`);
      assert.ok(existsSync(join(dir, f)), `${label}: write returned ${f}, which is not in the directory`);
    }
    const after = JSON.stringify(Object.fromEntries(Object.entries(ticket.weights).map(([n, w]) => [n, Array.from(w.data)])));
    assert.ok(before === after, `${label}: write changed the ticket's weights (copy them instead)`);
    const model = await exporter.load(dir, options, ticket.description);
    const batch = 5;
    const x = values(batch * 6, 7);
    const logits = await model.predict(x, batch);
    await model.dispose?.();
    assert.equal(logits.length, batch * 3, `${label}: predict must return [batch, classes] logits (${batch * 3} values), got ${logits.length}`);
    const reference = referenceLogits(ticket, x, batch);
    const tolerance = o.logitTolerance ?? 1e-4;
    const worst = Math.max(...Array.from(logits, (v, i) => (Number.isFinite(v) ? Math.abs(v - reference[i]!) : Infinity)));
    assert.ok(worst <= tolerance, `${label}: the loaded model's logits differ from the ticket's by up to ${worst} (tolerance ${tolerance})`);
    const leaked = tf.memory().numTensors - tensors;
    assert.ok(leaked <= 0, `${label}: leaked ${leaked} tensor(s) (dispose what load allocates in dispose())`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
