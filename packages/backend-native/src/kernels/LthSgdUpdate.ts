import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

import { maskValues } from './LthAdamUpdate.js';
import { BACKEND_NAME, type NativeKernelArgs } from './shared.js';

/** Kernel name of core's fused SGD contract (core's `FUSED_KERNELS.sgd`). */
export const LthSgdUpdate = 'LthSgdUpdate';

export interface LthSgdUpdateAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  /** The weight's name: labels `sparse.usage()` entries only. */
  name?: string;
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
  const { lr, momentum, weightDecay } = attrs;
  // A pruned dense layer: update the kept entries only, as compact tensors (src/sparse.ts).
  const pattern = backend.sparse.patternFor(weight!, mask, attrs.name);
  if (pattern) {
    const sparse = backend.sparse;
    const ins = [weight!, grad!, velocity!].map((t) => sparse.keptValues(t, pattern));
    const [w1, vel1, csc] = [0, 1, 2].map(() => sparse.allocKept(pattern)) as [Float32Array, Float32Array, Float32Array];
    backend.addon.sgdCompact(ins[0]!.values, ins[1]!.values, ins[2]!.values, w1, vel1, pattern.cscOf, csc,
      lr, momentum ?? 0, weightDecay ?? 0);
    ins.forEach((x) => sparse.done(x));
    return [sparse.compactOutput(weight!.shape, pattern, w1, csc), sparse.compactOutput(weight!.shape, pattern, vel1)];
  }
  const outW = backend.allocFloat32(size);
  const outVel = backend.allocFloat32(size);
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
