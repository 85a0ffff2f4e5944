import { backend_util, MaxPool, util, type MaxPoolAttrs } from '@tensorflow/tfjs-core';

import { poolParams } from './pool_impl.js';
import { withCpuFallback } from './shared.js';

export const maxPoolConfig = withCpuFallback(MaxPool, ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (!x || x.dtype !== 'float32' || x.shape.length !== 4) return null;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolAttrs;
  const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const out = backend.allocFloat32(util.sizeFromShape(info.outShape));
  backend.addon.maxPool(backend.float32(x), out, poolParams(info));
  return backend.makeTensorInfo(info.outShape, 'float32', out);
});
