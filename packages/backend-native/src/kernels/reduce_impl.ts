import { backend_util, util, type KernelConfig } from '@tensorflow/tfjs-core';

import { withCpuFallback } from './shared.js';

/** Op codes of native/reduce.cc. */
export const ReduceOp = { sum: 0, mean: 1, max: 2, min: 3 } as const;

/**
 * A float32 reduction over axes that form one contiguous block once size-1 dims are ignored
 * (every reduction of a dense layer's forward and backward pass); anything else runs cpu's.
 */
export function reduceKernel(kernelName: string, op: number, axisAttr: string): KernelConfig {
  return withCpuFallback(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!x || x.dtype !== 'float32') return null;
    const a = attrs as Record<string, unknown>;
    const axes = util.parseAxisParam(a[axisAttr] as number | number[], x.shape);
    const keepDims = Boolean(a.keepDims);
    const reduced = new Set(axes);
    const inBlock = x.shape.map((d, i) => reduced.has(i) && d !== 1);
    const first = inBlock.indexOf(true);
    const last = inBlock.lastIndexOf(true);
    let outer = 1;
    let r = 1;
    let inner = 1;
    for (let i = 0; i < x.shape.length; i++) {
      const d = x.shape[i]!;
      if (first < 0 || i < first) outer *= d;
      else if (i > last) inner *= d;
      else if (reduced.has(i)) r *= d;
      else if (d !== 1) return null; // a kept axis of size > 1 inside the block
    }
    if (first < 0) { inner = outer; outer = 1; }
    let outShape = backend_util.computeOutAndReduceShapes(x.shape, axes)[0];
    if (keepDims) outShape = backend_util.expandShapeToKeepDim(outShape, axes);
    if (r === 0 && (op === ReduceOp.max || op === ReduceOp.min)) return null;
    const out = backend.allocFloat32(outer * inner);
    backend.addon.reduce(op, backend.float32(x), out, outer, r, inner);
    return backend.makeTensorInfo(outShape, 'float32', out);
  });
}
