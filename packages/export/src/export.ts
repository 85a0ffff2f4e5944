import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Dataset, type ExportedModel, type Exporter, type ExportTicket, type ModelSpec, resolvePluginOptions, type TensorMap, tf, UserError, writeJsonAtomic } from '@lth/core';
import { provenanceOf } from './formats.js';
import type { Ticket } from './ticket.js';

/** The sidecar every export writes: where the model came from, the options, and the re-check. */
export const RECORD_FILE = 'export.json';

/**
 * How far the exported model's test accuracy may be from the one lth measured, unless the
 * exporter says otherwise for lossy options: 0.01 pp. On a test set of fewer than 10 000
 * examples this allows no flipped prediction at all.
 */
export const DEFAULT_ACCURACY_TOLERANCE = 1e-4;

/** The exported model on the test set, beside lth's own forward pass on the same weights. */
export interface Recheck {
  examples: number;
  /** Test accuracy of the exported model. */
  accuracy: number;
  /** Test accuracy lth recorded for the level at the end of its training. */
  recordedAccuracy: number;
  /** accuracy − recordedAccuracy: what the format (a quantization) changed. */
  accuracyChange: number;
  /** The largest |accuracyChange| the export accepts (the exporter's, for its options). */
  tolerance: number;
  /** max |exported logit − lth logit| over the test set. */
  maxLogitDifference: number;
}

export interface ExportOptions {
  /** The format (a registered exporter: `registry.get('exporter', name)`). */
  exporter: Exporter;
  /** Its options as given (flags); defaults are filled in and the whole checked against its schema. */
  options?: Record<string, unknown>;
  outDir: string;
  /** The run's model (from its config): its description and forward pass. */
  model: ModelSpec;
  /** The run's dataset: the test set re-checks the export. */
  dataset: Dataset;
}

export interface ExportResult {
  files: string[];
  record: Record<string, unknown> & { recheck: Recheck; bytes: number; options: Record<string, unknown> };
}

/** The exported model and lth's forward pass on the whole test set, in chunks. */
async function recheck(exported: ExportedModel, ticket: Ticket, options: ExportOptions, tolerance: number): Promise<Recheck> {
  const { dataset, model } = options;
  const test = dataset.test;
  const inputSize = dataset.inputShape.reduce((a, b) => a * b, 1);
  const weights: TensorMap = {};
  for (const [name, w] of Object.entries(ticket.weights)) weights[name] = tf.tensor(w.data, w.shape);
  let correct = 0;
  let maxDiff = 0;
  try {
    for (let start = 0; start < test.count; start += 500) {
      const batch = Math.min(500, test.count - start);
      const x = test.x.subarray(start * inputSize, (start + batch) * inputSize);
      const ours = await exported.predict(x, batch);
      const lth = tf.tidy(() => model.forward(weights, tf.tensor(x, [batch, ...dataset.inputShape]), false).dataSync() as Float32Array);
      const classes = ours.length / batch;
      for (let b = 0; b < batch; b++) {
        let best = 0;
        for (let c = 0; c < classes; c++) {
          maxDiff = Math.max(maxDiff, Math.abs(ours[b * classes + c]! - lth[b * classes + c]!));
          if (ours[b * classes + c]! > ours[b * classes + best]!) best = c;
        }
        if (best === test.y[start + b]) correct++;
      }
    }
  } finally {
    tf.dispose(Object.values(weights));
  }
  const accuracy = correct / test.count;
  const recordedAccuracy = ticket.summary.finalTestAccuracy;
  return { examples: test.count, accuracy, recordedAccuracy, accuracyChange: accuracy - recordedAccuracy, tolerance, maxLogitDifference: maxDiff };
}

const pp = (x: number) => `${(100 * x).toFixed(2)} %`;

/**
 * Exports one level of a run with an exporter: writes the format's files and `export.json` (the
 * source run, level, fraction remaining, accuracies, the options, the re-check) to `outDir`. The
 * files are loaded back as a user loads them and run on the test set; an accuracy further from
 * lth's than the exporter's tolerance (0.01 pp for lossless formats) is an error, and then no
 * `export.json` is written.
 */
export async function exportTicket(ticket: Ticket, o: ExportOptions): Promise<ExportResult> {
  const { exporter, outDir } = o;
  const format = exporter.meta.name;
  if (!o.model.describe) {
    throw new UserError(`this run's model does not describe its architecture (ModelSpec.describe), so it cannot be exported`, '<runDir>');
  }
  const options = resolvePluginOptions('exporter', exporter, o.options ?? {}, '--format') as Record<string, unknown>;
  const description = o.model.describe();
  const exportTicket: ExportTicket = { description, weights: ticket.weights, masks: ticket.masks, provenance: provenanceOf(ticket, format) };
  mkdirSync(outDir, { recursive: true });
  const names = await exporter.write(exportTicket, options, outDir);
  const tolerance = exporter.accuracyTolerance?.(options) ?? DEFAULT_ACCURACY_TOLERANCE;
  const loaded = await exporter.load(outDir, options, description);
  let check: Recheck;
  try {
    check = await recheck(loaded, ticket, o, tolerance);
  } finally {
    await loaded.dispose?.();
  }
  if (!(Math.abs(check.accuracyChange) <= tolerance)) {
    const lossy = tolerance > DEFAULT_ACCURACY_TOLERANCE;
    throw new Error(
      `the ${format} export of level ${ticket.level} scores ${pp(check.accuracy)} on the test set, lth measured ${pp(check.recordedAccuracy)} ` +
        `(max |logit difference| ${check.maxLogitDifference.toExponential(2)}; tolerance ${(100 * tolerance).toFixed(2)} pp)` +
        (lossy ? `: these options lose more accuracy than they allow on this ticket (${JSON.stringify(options)})` : '; the export is wrong, please report it'),
    );
  }
  const files = names.map((n) => join(outDir, n));
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const record = { ...exportTicket.provenance, options, files: names, bytes, recheck: check };
  writeJsonAtomic(join(outDir, RECORD_FILE), record);
  return { files: [...files, join(outDir, RECORD_FILE)], record };
}
