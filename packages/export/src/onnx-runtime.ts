import { createRequire } from 'node:module';
import { join } from 'node:path';
import { UserError } from '@lth/core';

/** The part of onnxruntime-node's API the re-check uses (typed here: the package is optional). */
interface OrtTensor {
  data: unknown;
  dims: readonly number[];
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array | string): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
}

/**
 * onnxruntime-node, installed beside @lth/export or in the user's project (the working
 * directory). It is an optional peer: `lth export --format onnx` needs it to re-check the file.
 */
async function importOrt(): Promise<Ort> {
  try {
    return (await import('onnxruntime-node')) as unknown as Ort;
  } catch {
    try {
      return createRequire(join(process.cwd(), 'package.json'))('onnxruntime-node') as Ort;
    } catch {
      throw new UserError(
        'the onnx export is re-checked on the test set with onnxruntime-node, which is not installed here: npm install onnxruntime-node ' +
          '(with --onnxruntime-node-install=skip where only the npm registry is reachable: it skips an optional CUDA download)',
        '--format',
      );
    }
  }
}

/** An ONNX model loaded in onnxruntime (CPU), as a user runs it: `[batch, ...inputShape]` → logits. */
export interface OnnxSession {
  predict(x: Float32Array, batch: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** Opens `model` (a path or the file's bytes) in onnxruntime-node; `input`/`output` name the graph's tensors. */
export async function openOnnx(model: string | Uint8Array, inputShape: number[], input = 'input', output = 'logits'): Promise<OnnxSession> {
  const ort = await importOrt();
  const session = await ort.InferenceSession.create(model);
  return {
    predict: async (x, batch) => {
      const result = await session.run({ [input]: new ort.Tensor('float32', new Float32Array(x), [batch, ...inputShape]) });
      return Float32Array.from(result[output]!.data as Float32Array);
    },
    dispose: () => session.release(),
  };
}
