import { backend_util, MaxPoolGrad, util, type MaxPoolGradAttrs } from '@tensorflow/tfjs-core';

import { poolParams } from './pool_impl.js';
import { withCpuFallback } from './shared.js';

export const maxPoolGradConfig = withCpuFallback(MaxPoolGrad, ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs;
  if (!dy || !input || dy.dtype !== 'float32' || input.dtype !== 'float32') return null;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const out = backend.allocFloat32(util.sizeFromShape(input.shape));
  backend.addon.maxPoolGrad(backend.float32(dy), backend.float32(input), out, poolParams(info));
  return backend.makeTensorInfo(input.shape, 'float32', out);
});
