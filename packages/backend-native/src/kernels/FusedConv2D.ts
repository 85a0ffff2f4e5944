import { backend_util, FusedConv2D, util, type FusedConv2DAttrs } from '@tensorflow/tfjs-core';

import { BinaryOp } from './binary_impl.js';
import { ConvOp, nativeConv } from './conv_impl.js';
import { broadcastStrides, withCpuFallback } from './shared.js';
import { UnaryOp } from './unary_impl.js';

const ACTIVATIONS: Record<string, number | undefined> = {
  relu: UnaryOp.relu, relu6: UnaryOp.relu6, sigmoid: UnaryOp.sigmoid, tanh: UnaryOp.tanh,
};

/** conv + bias + activation in place on the conv output (the inference path of tf.layers.conv2d). */
export const fusedConv2DConfig = withCpuFallback(FusedConv2D, ({ inputs, backend, attrs }) => {
  const { x, filter, bias, preluActivationWeights } = inputs;
  const { strides, pad, dataFormat, dilations, dimRoundingMode, activation } = attrs as unknown as FusedConv2DAttrs;
  const act = activation === 'linear' ? -1 : ACTIVATIONS[activation];
  if (act === undefined || preluActivationWeights || (bias && bias.dtype !== 'float32')) return null;
  const info = backend_util.computeConv2DInfo(x!.shape as [number, number, number, number],
    filter!.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, false,
    backend_util.convertConv2DDataFormat(dataFormat));
  if (bias && !util.arraysEqual(broadcastStrides(info.outShape, bias.shape).outShape, info.outShape)) return null;
  const out = nativeConv(backend, ConvOp.forward, x!, filter!, info.outShape, info, dataFormat);
  if (!out) return null;
  const values = backend.float32(out);
  if (bias) {
    const s = broadcastStrides(info.outShape, bias.shape);
    backend.addon.binary(BinaryOp.add, values, s.aStrides, backend.float32(bias), s.bStrides, values, s.shape);
  }
  if (act >= 0) backend.addon.unary(act, values, values);
  return out;
});
