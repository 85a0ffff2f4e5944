import { join } from 'node:path';
import { API_VERSION, type Exporter, type Static, Type, writeFileAtomic } from '@lth/core';
import { VERSION } from './version.js';

export const ONNX_FILE = 'model.onnx';

const optionsSchema = Type.Object({}, { additionalProperties: false });
export type OnnxExporterOptions = Static<typeof optionsSchema>;

/** An ONNX model (opset 13) of LeNet and Conv-2/4/6, re-checked in onnxruntime-node. */
export const onnxExporter: Exporter<OnnxExporterOptions> = {
  meta: { name: 'onnx', version: VERSION, apiVersion: API_VERSION, description: 'model.onnx (opset 13, NHWC input); re-checked with onnxruntime-node, which must be installed' },
  optionsSchema,
  defaults: {},
  async write(ticket, _o, outDir) {
    // Loaded on use: discovery imports this file for every lth command.
    const { onnxModelBytes } = await import('./onnx.js');
    writeFileAtomic(join(outDir, ONNX_FILE), onnxModelBytes(ticket));
    return [ONNX_FILE];
  },
  async load(outDir, _o, description) {
    const { openOnnx } = await import('./onnx-runtime.js');
    const { ONNX_INPUT, ONNX_OUTPUT } = await import('./onnx.js');
    return openOnnx(join(outDir, ONNX_FILE), description.inputShape, ONNX_INPUT, ONNX_OUTPUT);
  },
};
