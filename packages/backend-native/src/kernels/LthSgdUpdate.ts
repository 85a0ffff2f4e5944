import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

import { maskValues } from './LthAdamUpdate.js';
import { BACKEND_NAME, type NativeKernelArgs } from './shared.js';

/** Kernel name of core's fused SGD contract (core's `FUSED_KERNELS.sgd`). */
export const LthSgdUpdate = 'LthSgdUpdate';

export interface LthSgdUpdateAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/**
 * Masked SGD with heavy-ball momentum (PyTorch semantics); returns [weight', velocity']:
 * g' = (g + wd·w)·mask; vel' = (μ·vel + g')·mask; w' = (w − lr·vel')·mask.
 */
export function lthSgdUpdate({ inputs, backend, attrs }: NativeKernelArgs<LthSgdUpdateAttrs>): TensorInfo[] {
  const { weight, grad, velocity, mask } = inputs;
  for (const [name, t] of Object.entries({ weight, grad, velocity })) {
    util.assert(t !== undefined && t.dtype === 'float32', () => `${LthSgdUpdate}: ${name} must be a float32 tensor`);
    util.assert(util.arraysEqual(t!.shape, weight!.shape), () => `${LthSgdUpdate}: ${name} has shape ${t!.shape}, weight ${weight!.shape}`);
  }
  const size = util.sizeFromShape(weight!.shape);
  const outW = backend.allocFloat32(size);
  const outVel = backend.allocFloat32(size);
  const { lr, momentum, weightDecay } = attrs;
  // A pruned dense layer: update the kept weights only, and track the result for sparse products.
  const pattern = backend.sparse.patternFor(weight!, mask);
  if (pattern) {
    const compact = backend.sparse.compactGrad(grad!, pattern);
    const tracked = backend.sparse.newTracked(pattern);
    backend.addon.sgdSparse(pattern.flat, pattern.cscOf, backend.float32(weight!), compact ?? backend.float32(grad!),
      compact !== null, backend.float32(velocity!), outW, outVel, tracked.csr, tracked.csc, lr, momentum ?? 0, weightDecay ?? 0);
    const w2 = backend.makeTensorInfo(weight!.shape, 'float32', outW);
    backend.sparse.track(w2.dataId, tracked);
    return [w2, backend.makeTensorInfo(weight!.shape, 'float32', outVel)];
  }
  backend.addon.sgd(backend.float32(weight!), backend.float32(grad!), backend.float32(velocity!),
    maskValues(backend, mask, size), outW, outVel, lr, momentum ?? 0, weightDecay ?? 0);
  return [
    backend.makeTensorInfo(weight!.shape, 'float32', outW),
    backend.makeTensorInfo(weight!.shape, 'float32', outVel),
  ];
}

export const lthSgdUpdateConfig: KernelConfig = {
  kernelName: LthSgdUpdate,
  backendName: BACKEND_NAME,
  kernelFunc: lthSgdUpdate as unknown as KernelFunc,
};
