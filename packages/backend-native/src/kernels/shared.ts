/**
 * Helpers shared by the native kernels (like tfjs-backend-cpu's utils/): fall back to the cpu
 * kernel for what the native code does not handle (other dtypes, unusual attributes).
 */
import {
  broadcast_util,
  getKernel,
  util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

import type { NativeBackend } from '../backend.js';

export const BACKEND_NAME = 'native';

export interface NativeKernelArgs<A = NamedAttrMap> {
  inputs: NamedTensorInfoMap;
  backend: NativeBackend;
  attrs: A;
}

/** The cpu backend's implementation of a kernel, which works on the native backend unchanged. */
export function cpuKernel(kernelName: string): KernelFunc {
  const config = getKernel(kernelName, 'cpu');
  if (!config) throw new Error(`@lth/backend-native: the cpu backend has no kernel ${kernelName}`);
  return config.kernelFunc;
}

export function allFloat32(...ts: Array<TensorInfo | undefined>): boolean {
  return ts.every((t) => t !== undefined && t.dtype === 'float32');
}

/** A kernel config whose function tries `native` and otherwise (it returns null) runs cpu's. */
export function withCpuFallback(
  kernelName: string,
  native: (args: NativeKernelArgs) => TensorInfo | TensorInfo[] | null,
): KernelConfig {
  let fallback: KernelFunc | undefined;
  const kernelFunc = ((args: NativeKernelArgs) => {
    const out = native(args);
    if (out !== null) return out;
    fallback ??= cpuKernel(kernelName);
    return fallback(args as unknown as Parameters<KernelFunc>[0]);
  }) as unknown as KernelFunc;
  return { kernelName, backendName: BACKEND_NAME, kernelFunc };
}

/**
 * Broadcast strides of `shape` against `outShape` (0 on broadcast dims), with adjacent dims
 * merged where both operands stay contiguous, so the native loop runs over long inner rows.
 */
export function broadcastStrides(aShape: number[], bShape: number[]): {
  outShape: number[];
  shape: Int32Array;
  aStrides: Int32Array;
  bStrides: Int32Array;
} {
  const outShape = broadcast_util.assertAndGetBroadcastShape(aShape, bShape);
  const rank = outShape.length;
  const stridesOf = (s: number[]) => {
    const strides = util.computeStrides(s);
    const out: number[] = [];
    for (let d = 0; d < rank; d++) {
      const k = d - (rank - s.length);
      out.push(k < 0 || s[k] === 1 ? 0 : k === s.length - 1 ? 1 : strides[k]!);
    }
    return out;
  };
  const sa = stridesOf(aShape);
  const sb = stridesOf(bShape);
  const dims: number[] = [];
  const ma: number[] = [];
  const mb: number[] = [];
  for (let d = 0; d < rank; d++) {
    if (outShape[d] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && ma[last] === sa[d]! * outShape[d]! && mb[last] === sb[d]! * outShape[d]!) {
      dims[last] *= outShape[d]!;
      ma[last] = sa[d]!;
      mb[last] = sb[d]!;
    } else {
      dims.push(outShape[d]!);
      ma.push(sa[d]!);
      mb.push(sb[d]!);
    }
  }
  return { outShape, shape: Int32Array.from(dims), aStrides: Int32Array.from(ma), bStrides: Int32Array.from(mb) };
}
