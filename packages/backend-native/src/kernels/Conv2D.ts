import { backend_util, Conv2D, type Conv2DAttrs } from '@tensorflow/tfjs-core';

import { ConvOp, nativeConv } from './conv_impl.js';
import { withCpuFallback } from './shared.js';

export const conv2DConfig = withCpuFallback(Conv2D, ({ inputs, backend, attrs }) => {
  const { x, filter } = inputs;
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as Conv2DAttrs;
  const info = backend_util.computeConv2DInfo(x!.shape as [number, number, number, number],
    filter!.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, false,
    backend_util.convertConv2DDataFormat(dataFormat));
  return nativeConv(backend, ConvOp.forward, x!, filter!, info.outShape, info, dataFormat);
});
