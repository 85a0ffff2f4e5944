import { _FusedMatMul, util, type _FusedMatMulAttrs } from '@tensorflow/tfjs-core';

import { BinaryOp } from './binary_impl.js';
import { nativeMatMul } from './matmul_impl.js';
import { broadcastStrides, withCpuFallback } from './shared.js';
import { UnaryOp } from './unary_impl.js';

const ACTIVATIONS: Record<string, number | undefined> = {
  relu: UnaryOp.relu, relu6: UnaryOp.relu6, sigmoid: UnaryOp.sigmoid, tanh: UnaryOp.tanh,
};

/** matMul + bias + activation in place on the GEMM output (what tf.layers.dense runs for inference). */
export const fusedMatMulConfig = withCpuFallback(_FusedMatMul, ({ inputs, backend, attrs }) => {
  const { transposeA, transposeB, activation } = attrs as unknown as _FusedMatMulAttrs;
  const { a, b, bias, preluActivationWeights } = inputs;
  const act = activation === 'linear' ? -1 : ACTIVATIONS[activation];
  if (act === undefined || preluActivationWeights || (bias && bias.dtype !== 'float32')) return null;
  const r = nativeMatMul(backend, a!, b!, transposeA, transposeB);
  if (!r) return null;
  if (bias) {
    const s = broadcastStrides(r.outShape, bias.shape);
    if (!util.arraysEqual(s.outShape, r.outShape) || s.shape.length > 8) return null;
    backend.addon.binary(BinaryOp.add, r.out, s.aStrides, backend.float32(bias), s.bStrides, r.out, s.shape);
  }
  if (act >= 0) backend.addon.unary(act, r.out, r.out);
  return backend.makeTensorInfo(r.outShape, 'float32', r.out);
});
