import { BatchMatMul, type BatchMatMulAttrs } from '@tensorflow/tfjs-core';

import { nativeMatMul } from './matmul_impl.js';
import { withCpuFallback } from './shared.js';

export const batchMatMulConfig = withCpuFallback(BatchMatMul, ({ inputs, backend, attrs }) => {
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  // A pruned layer's weight gradient: only the kept entries, the rest on demand (src/sparse.ts).
  const deferred = backend.sparse.weightGrad(inputs.a!, inputs.b!, transposeA, transposeB);
  if (deferred) return deferred;
  const r = nativeMatMul(backend, inputs.a!, inputs.b!, transposeA, transposeB);
  return r && backend.makeTensorInfo(r.outShape, 'float32', r.out);
});
