import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

import type { NativeBackend } from '../backend.js';
import { BACKEND_NAME, type NativeKernelArgs } from './shared.js';

/** Kernel name of core's fused Adam contract (core's `FUSED_KERNELS.adam`). */
export const LthAdamUpdate = 'LthAdamUpdate';

export interface LthAdamUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1-based. */
  step: number;
  weightDecay: number;
  /** The weight's name: labels `sparse.usage()` entries only. */
  name?: string;
}

/** A mask as float32 values (masks should be float32 0/1; other dtypes are converted). */
export function maskValues(backend: NativeBackend, mask: TensorInfo | undefined, size: number): Float32Array | null {
  if (!mask) return null;
  util.assert(util.sizeFromShape(mask.shape) === size, () => 'fused optimizer: mask and weight sizes differ');
  const values = backend.data.get(mask.dataId).values;
  return mask.dtype === 'float32' ? (values as Float32Array) : Float32Array.from(values as ArrayLike<number>);
}

/**
 * Masked Adam with PyTorch semantics in one pass; returns [weight', m', v']:
 * g' = (g + wd·w)·mask; m' = (β1·m + (1−β1)·g')·mask; v' = (β2·v + (1−β2)·g'²)·mask;
 * w' = (w − lr·(m'/(1−β1^t)) / (sqrt(v'/(1−β2^t)) + ε))·mask.
 */
export function lthAdamUpdate({ inputs, backend, attrs }: NativeKernelArgs<LthAdamUpdateAttrs>): TensorInfo[] {
  const { weight, grad, m, v, mask } = inputs;
  for (const [name, t] of Object.entries({ weight, grad, m, v })) {
    util.assert(t !== undefined && t.dtype === 'float32', () => `${LthAdamUpdate}: ${name} must be a float32 tensor`);
    util.assert(util.arraysEqual(t!.shape, weight!.shape), () => `${LthAdamUpdate}: ${name} has shape ${t!.shape}, weight ${weight!.shape}`);
  }
  const size = util.sizeFromShape(weight!.shape);
  const { lr, beta1, beta2, epsilon, step, weightDecay } = attrs;
  util.assert(step >= 1, () => `${LthAdamUpdate}: step is 1-based, got ${step}`);
  // A pruned dense layer: update the kept entries only, as compact tensors (src/sparse.ts).
  const pattern = backend.sparse.patternFor(weight!, mask, attrs.name);
  if (pattern) {
    const sparse = backend.sparse;
    const ins = [weight!, grad!, m!, v!].map((t) => sparse.keptValues(t, pattern));
    const [w1, m1, v1, csc] = [0, 1, 2, 3].map(() => sparse.allocKept(pattern)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    backend.addon.adamCompact(ins[0]!.values, ins[1]!.values, ins[2]!.values, ins[3]!.values, w1, m1, v1, pattern.cscOf, csc,
      lr, beta1, beta2, epsilon, step, weightDecay ?? 0);
    ins.forEach((x) => sparse.done(x));
    return [
      sparse.compactOutput(weight!.shape, pattern, w1, csc),
      sparse.compactOutput(weight!.shape, pattern, m1),
      sparse.compactOutput(weight!.shape, pattern, v1),
    ];
  }
  const outW = backend.allocFloat32(size);
  const outM = backend.allocFloat32(size);
  const outV = backend.allocFloat32(size);
  backend.addon.adam(backend.float32(weight!), backend.float32(grad!), backend.float32(m!), backend.float32(v!),
    maskValues(backend, mask, size), outW, outM, outV, lr, beta1, beta2, epsilon, step, weightDecay ?? 0);
  return [
    backend.makeTensorInfo(weight!.shape, 'float32', outW),
    backend.makeTensorInfo(weight!.shape, 'float32', outM),
    backend.makeTensorInfo(weight!.shape, 'float32', outV),
  ];
}

export const lthAdamUpdateConfig: KernelConfig = {
  kernelName: LthAdamUpdate,
  backendName: BACKEND_NAME,
  kernelFunc: lthAdamUpdate as unknown as KernelFunc,
};
