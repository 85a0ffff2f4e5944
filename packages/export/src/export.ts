import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Dataset, type ModelSpec, type TensorMap, tf, UserError, writeFileAtomic, writeJsonAtomic } from '@lth/core';
import { SparseModel } from '@lth/sparse-runtime';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { provenanceOf, sparseModelBytes, TFJS_WEIGHTS_FILE, tfjsArtifacts } from './formats.js';
import { ONNX_INPUT, ONNX_OUTPUT, onnxModelBytes } from './onnx.js';
import { openOnnx } from './onnx-runtime.js';
import type { Ticket } from './ticket.js';

export const EXPORT_FORMATS = ['sparse', 'tfjs', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const SPARSE_FILE = 'model.lthsparse';
export const TFJS_MODEL_FILE = 'model.json';
export const ONNX_FILE = 'model.onnx';
/** The sidecar every export writes: where the model came from, and the re-check. */
export const RECORD_FILE = 'export.json';

/**
 * How far the exported model's test accuracy may be from the one lth measured: 0.01 pp for
 * float32 weights, 0.05 pp for float16 values. On a test set of fewer than 10 000 (2 000)
 * examples this allows no flipped prediction at all.
 */
export const ACCURACY_TOLERANCE = { float32: 1e-4, float16: 5e-4 } as const;

/** The exported model on the test set, beside lth's own forward pass on the same weights. */
export interface Recheck {
  examples: number;
  /** Test accuracy of the exported model. */
  accuracy: number;
  /** Test accuracy lth recorded for the level at the end of its training. */
  recordedAccuracy: number;
  /** max |exported logit − lth logit| over the test set. */
  maxLogitDifference: number;
}

export interface ExportOptions {
  format: ExportFormat;
  /** Precision of the stored weights: float32 (default) or float16 (sparse: kernel values; tfjs: every weight, by manifest quantization). */
  values?: 'float32' | 'float16';
  outDir: string;
  /** The run's model (from its config): its description and forward pass. */
  model: ModelSpec;
  /** The run's dataset: the test set re-checks the export. */
  dataset: Dataset;
}

export interface ExportResult {
  files: string[];
  record: Record<string, unknown> & { recheck: Recheck; bytes: number };
}

/**
 * A TensorFlow.js IOHandler that reads a `model.json` and its weight files from disk (Node),
 * parsed by tfjs's own `getModelArtifactsForJSON`, as its HTTP loader does:
 * `tf.loadLayersModel(tfjsFileHandler('export/model.json'))`.
 */
export function tfjsFileHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: () => {
      const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const buffers = manifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dirname(modelJsonPath), p))));
        const joined = Buffer.concat(buffers);
        const data = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
        return [manifest.flatMap((group) => group.weights), data];
      });
    },
  };
}

/** A batch of inputs → logits [batch, classes], row-major. */
type Predict = (x: Float32Array, batch: number) => Float32Array | Promise<Float32Array>;

/** Writes the format's files; returns their paths and how the exported model predicts. */
async function writeFormat(ticket: Ticket, options: ExportOptions): Promise<{ files: string[]; predict: Predict; dispose(): void | Promise<void> }> {
  const description = options.model.describe!();
  if (options.format === 'sparse') {
    const bytes = sparseModelBytes(ticket, description, options.values);
    const file = join(options.outDir, SPARSE_FILE);
    writeFileAtomic(file, bytes);
    // Checked as a user will load it: from the file just written.
    const model = SparseModel.read(readFileSync(file));
    return { files: [file], predict: (x, batch) => model.predict(x, batch), dispose: () => {} };
  }
  if (options.format === 'onnx') {
    const file = join(options.outDir, ONNX_FILE);
    writeFileAtomic(file, onnxModelBytes(ticket, description, provenanceOf(ticket, 'onnx')));
    // Checked in onnxruntime, from the file written.
    const session = await openOnnx(file, description.inputShape, ONNX_INPUT, ONNX_OUTPUT);
    return { files: [file], predict: session.predict, dispose: session.dispose };
  }
  const { modelJson, weights } = tfjsArtifacts(ticket, description, options.values);
  const files = [join(options.outDir, TFJS_MODEL_FILE), join(options.outDir, TFJS_WEIGHTS_FILE)];
  writeJsonAtomic(files[0]!, modelJson);
  writeFileAtomic(files[1]!, weights);
  // Loaded back from disk as tf.loadLayersModel loads a model.json over HTTP.
  const loaded = await loadLayersModel(tfjsFileHandler(files[0]!));
  const shape = [-1, ...description.inputShape];
  const predict: Predict = (x, batch) =>
    tf.tidy(() => Float32Array.from((loaded.predict(tf.tensor(x, [batch, ...shape.slice(1)])) as tf.Tensor).dataSync() as Float32Array));
  return { files, predict, dispose: () => { loaded.dispose(); } };
}

/** The exported model and lth's forward pass on the whole test set, in chunks. */
async function recheck(predict: Predict, ticket: Ticket, options: ExportOptions): Promise<Recheck> {
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
      const ours = await predict(x, batch);
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
  return { examples: test.count, accuracy: correct / test.count, recordedAccuracy: ticket.summary.finalTestAccuracy, maxLogitDifference: maxDiff };
}

/**
 * Exports one level of a run: writes the format's files and `export.json` (the source run,
 * level, fraction remaining, accuracies, the re-check) to `outDir`. The exported model is run on
 * the test set; an accuracy off by more than 0.01 pp from lth's is an error (nothing is kept
 * as a valid export: `export.json` is written only after the check passes).
 */
export async function exportTicket(ticket: Ticket, options: ExportOptions): Promise<ExportResult> {
  if (!options.model.describe) {
    throw new UserError(`this run's model does not describe its architecture (ModelSpec.describe), so it cannot be exported`, '<runDir>');
  }
  mkdirSync(options.outDir, { recursive: true });
  const written = await writeFormat(ticket, options);
  let check: Recheck;
  try {
    check = await recheck(written.predict, ticket, options);
  } finally {
    await written.dispose();
  }
  const values = options.values ?? 'float32';
  if (Math.abs(check.accuracy - check.recordedAccuracy) > ACCURACY_TOLERANCE[values]) {
    throw new Error(
      `the ${options.format} export of level ${ticket.level} scores ${(100 * check.accuracy).toFixed(2)} % on the test set, lth measured ${(100 * check.recordedAccuracy).toFixed(2)} % ` +
        `(max |logit difference| ${check.maxLogitDifference.toExponential(2)}); the export is wrong, please report it`,
    );
  }
  const bytes = written.files.reduce((n, f) => n + statSync(f).size, 0);
  const record = { ...provenanceOf(ticket, options.format), values, files: written.files.map((f) => f.slice(options.outDir.length + 1)), bytes, recheck: check };
  writeJsonAtomic(join(options.outDir, RECORD_FILE), record);
  return { files: [...written.files, join(options.outDir, RECORD_FILE)], record };
}
