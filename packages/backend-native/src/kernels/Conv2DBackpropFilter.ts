import { backend_util, Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs } from '@tensorflow/tfjs-core';

import { ConvOp, nativeConv } from './conv_impl.js';
import { withCpuFallback } from './shared.js';

export const conv2DBackpropFilterConfig = withCpuFallback(Conv2DBackpropFilter, ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs;
  const { filterShape, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Conv2DBackpropFilterAttrs;
  const info = backend_util.computeConv2DInfo(x!.shape as [number, number, number, number], filterShape,
    strides, 1, pad, dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
  return nativeConv(backend, ConvOp.backpropFilter, x!, dy!, filterShape, info, dataFormat);
});
