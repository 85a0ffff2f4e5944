import { backend_util, Conv2DBackpropInput, type Conv2DBackpropInputAttrs } from '@tensorflow/tfjs-core';

import { ConvOp, nativeConv } from './conv_impl.js';
import { withCpuFallback } from './shared.js';

export const conv2DBackpropInputConfig = withCpuFallback(Conv2DBackpropInput, ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs;
  const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Conv2DBackpropInputAttrs;
  const info = backend_util.computeConv2DInfo(inputShape, filter!.shape as [number, number, number, number],
    strides, 1, pad, dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
  return nativeConv(backend, ConvOp.backpropInput, dy!, filter!, info.inShape, info, dataFormat);
});
