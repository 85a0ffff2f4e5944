import { broadcast_util, util, type TensorInfo } from '@tensorflow/tfjs-core';

import type { NativeBackend } from '../backend.js';

/**
 * a @ b over cblas_sgemm for float32 inputs of rank >= 2, with tfjs' batch semantics (batch i
 * reads a[i % batchA], b[i % batchB]); returns null for what cpu should handle.
 */
export function nativeMatMul(
  backend: NativeBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean,
): { out: Float32Array; outShape: number[] } | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return null;
  const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const k = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const kB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  util.assert(k === kB, () =>
    `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ` +
    `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  // A pruned layer's forward product or input gradient (src/sparse.ts).
  const sparse = backend.sparse.matMul(a, b, transposeA, transposeB);
  if (sparse) return sparse;
  const outerDims = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const outShape = [...outerDims, m, n];
  const out = backend.allocFloat32(batch * m * n);
  if (batch > 0 && m > 0 && n > 0) {
    backend.addon.batchMatMul(backend.float32(a), backend.float32(b), out, batch, batchA, batchB, m, n, k,
      transposeA, transposeB);
  }
  return { out, outShape };
}
