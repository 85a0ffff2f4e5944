import { util, type KernelConfig } from '@tensorflow/tfjs-core';

import { allFloat32, withCpuFallback } from './shared.js';

/** Op codes of native/elementwise.cc's `unary`. */
export const UnaryOp = {
  relu: 0, step: 1, exp: 2, log: 3, neg: 4, sqrt: 5, square: 6, sigmoid: 7, tanh: 8, abs: 9,
  reciprocal: 10, rsqrt: 11, relu6: 12,
} as const;

/** A float32 element-wise unary kernel; `alpha` reads an attribute (Step's). */
export function unaryKernel(kernelName: string, op: number, alphaAttr?: string): KernelConfig {
  return withCpuFallback(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!x || !allFloat32(x)) return null;
    const out = backend.allocFloat32(util.sizeFromShape(x.shape));
    const alpha = alphaAttr ? Number((attrs as Record<string, unknown>)[alphaAttr] ?? 0) : 0;
    backend.addon.unary(op, backend.float32(x), out, alpha);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  });
}
