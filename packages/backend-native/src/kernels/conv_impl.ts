import { backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';

import type { NativeBackend } from '../backend.js';

export const ConvOp = { forward: 0, backpropInput: 1, backpropFilter: 2 } as const;

/** native/conv.cc's parameter block for an NHWC convolution. */
export function convParams(c: backend_util.Conv2DInfo): Int32Array {
  const p = c.padInfo;
  return Int32Array.from([
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels,
    c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    p.top, p.left, p.bottom, p.right,
  ]);
}

/**
 * Runs one oneDNN convolution op into a pooled buffer; null when the addon has no oneDNN, the
 * data is not NHWC float32, or oneDNN rejects the case (the caller then runs cpu's kernel).
 */
export function nativeConv(
  backend: NativeBackend, op: number, a: TensorInfo, b: TensorInfo, outShape: number[],
  info: backend_util.Conv2DInfo, dataFormat: string,
): TensorInfo | null {
  const conv = backend.addon.conv2d;
  if (!conv || dataFormat !== 'NHWC' || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const out = backend.allocFloat32(util.sizeFromShape(outShape));
  if (!conv.call(backend.addon, op as 0 | 1 | 2, backend.float32(a), backend.float32(b), out, convParams(info))) return null;
  return backend.makeTensorInfo(outShape, 'float32', out);
}
