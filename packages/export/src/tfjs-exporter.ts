import { join } from 'node:path';
import { API_VERSION, type Exporter, type Static, tf, Type, writeFileAtomic, writeJsonAtomic } from '@lth/core';
import { VERSION } from './version.js';

export const TFJS_MODEL_FILE = 'model.json';
export const TFJS_WEIGHTS_FILE = 'weights.bin';

/**
 * How far a quantized model's re-checked test accuracy may be from lth's: float16 rounds each
 * weight by at most 2^-11 of itself (0.05 pp); uint8 by up to half a 1/255 step of the tensor's
 * range, which flips a few borderline predictions (0.5 pp).
 */
export const TFJS_ACCURACY_TOLERANCE = { none: 1e-4, float16: 5e-4, uint8: 5e-3 } as const;

const optionsSchema = Type.Object(
  {
    quantize: Type.Union([Type.Literal('none'), Type.Literal('float16'), Type.Literal('uint8')], {
      description:
        "Weights as float32 (none), or through the weights manifest's standard quantization: float16 (half the bytes; re-checked within 0.05 pp) " +
        'or uint8 (a quarter; per-tensor scale and min with 0 exact, so pruned weights stay 0; re-checked within 0.5 pp).',
    }),
  },
  { additionalProperties: false },
);
export type TfjsExporterOptions = Static<typeof optionsSchema>;

/** A TensorFlow.js LayersModel (`model.json` + `weights.bin`) that `tf.loadLayersModel` reads: LeNet and Conv-2/4/6. */
export const tfjsExporter: Exporter<TfjsExporterOptions> = {
  meta: { name: 'tfjs', version: VERSION, apiVersion: API_VERSION, description: 'model.json + weights.bin, a TensorFlow.js LayersModel; optional float16/uint8 quantization' },
  optionsSchema,
  defaults: { quantize: 'none' },
  accuracyTolerance: (o) => TFJS_ACCURACY_TOLERANCE[o.quantize],
  async write(ticket, o, outDir) {
    // Loaded on use: discovery imports this file for every lth command.
    const { tfjsArtifacts } = await import('./formats.js');
    const { modelJson, weights } = tfjsArtifacts(ticket, o.quantize);
    writeJsonAtomic(join(outDir, TFJS_MODEL_FILE), modelJson);
    writeFileAtomic(join(outDir, TFJS_WEIGHTS_FILE), weights);
    return [TFJS_MODEL_FILE, TFJS_WEIGHTS_FILE];
  },
  async load(outDir, _o, description) {
    const [{ tfjsFileHandler }, { loadLayersModel }] = await Promise.all([import('./formats.js'), import('@tensorflow/tfjs-layers')]);
    // Read from disk the way tf.loadLayersModel reads a model.json over HTTP.
    const model = await loadLayersModel(tfjsFileHandler(join(outDir, TFJS_MODEL_FILE)));
    return {
      predict: (x, batch) => tf.tidy(() => Float32Array.from((model.predict(tf.tensor(x, [batch, ...description.inputShape])) as tf.Tensor).dataSync() as Float32Array)),
      dispose: () => {
        model.dispose();
      },
    };
  },
};
