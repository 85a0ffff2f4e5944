import { util, type KernelConfig } from '@tensorflow/tfjs-core';

import { allFloat32, broadcastStrides, withCpuFallback } from './shared.js';

/** Op codes of native/elementwise.cc's `binary`. */
export const BinaryOp = {
  add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, squaredDifference: 6,
} as const;

/** A float32 element-wise binary kernel with numpy broadcasting; other dtypes run cpu's. */
export function binaryKernel(kernelName: string, op: number): KernelConfig {
  return withCpuFallback(kernelName, ({ inputs, backend }) => {
    const { a, b } = inputs;
    if (!a || !b || !allFloat32(a, b)) return null;
    const { outShape, shape, aStrides, bStrides } = broadcastStrides(a.shape, b.shape);
    if (shape.length > 8) return null;
    const out = backend.allocFloat32(util.sizeFromShape(outShape));
    backend.addon.binary(op, backend.float32(a), aStrides, backend.float32(b), bStrides, out, shape);
    return backend.makeTensorInfo(outShape, 'float32', out);
  });
}
