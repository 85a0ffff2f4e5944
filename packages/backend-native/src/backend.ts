import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { DataType, TensorInfo, backend_util } from '@tensorflow/tfjs-core';

import type { NativeAddon } from './addon.js';
import { BufferPool } from './buffer_pool.js';
import { SparseKernels, sparseOptionsFromEnv, type SparseKernelOptions } from './sparse.js';

type DataId = object;

/**
 * The `native` backend: tfjs' cpu backend (data storage and every kernel) plus native kernels
 * for the training hot path. Outputs of native kernels come from a buffer pool.
 */
export class NativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool();
  /** Sparse kernels for pruned dense layers (src/sparse.ts); options from the environment by default. */
  readonly sparse: SparseKernels;

  constructor(readonly addon: NativeAddon, sparseOptions: SparseKernelOptions = sparseOptionsFromEnv()) {
    super();
    this.sparse = new SparseKernels(this, sparseOptions);
    // The cpu backend's first write suggests installing tfjs-node; this backend is the answer.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /**
   * The path each named masked weight's updates took since `resetKernelPaths()`: `sparse`,
   * `dense`, or `sparse+dense` (core's KernelPathReporter: recorded in the level summary).
   */
  kernelPaths(): Record<string, string> {
    const paths = new Map<string, Set<string>>();
    for (const u of this.sparse.usage()) if (u.name) paths.set(u.name, (paths.get(u.name) ?? new Set()).add(u.path));
    return Object.fromEntries([...paths].sort(([a], [b]) => a.localeCompare(b)).map(([name, set]) => [name, [...set].sort().reverse().join('+')]));
  }

  resetKernelPaths(): void {
    this.sparse.resetUsage();
  }

  /** A float32 output buffer for a native kernel; pass it to `makeTensorInfo` right after. */
  allocFloat32(length: number): Float32Array {
    return this.pool.acquire(length);
  }

  /**
   * The values of a float32 tensor as a Float32Array: as stored, without a copy, except where a
   * cpu Cast from int32/bool kept the integer array under the float32 dtype.
   */
  float32(t: TensorInfo): Float32Array {
    const values = this.data.get(t.dataId).values;
    return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  }

  /** The stored entry of a tensor's data; reading `values` of a compact tensor computes its dense array. */
  entry(dataId: DataId): { values?: unknown } {
    return this.data.get(dataId);
  }

  override write(values: backend_util.BackendValues, shape: number[], dtype: DataType): DataId {
    this.pool.adopt(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: backend_util.BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.pool.pin(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): backend_util.BackendValues {
    const values = super.readSync(dataId);
    this.pool.pin(values);
    return values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const entry = this.data.has(dataId) ? this.data.get(dataId) : undefined;
    const released = super.disposeData(dataId, force);
    // A compact tensor never read densely has no buffer (and reading `values` would compute one).
    if (entry && !this.data.has(dataId) && !this.sparse.forget(dataId)) this.pool.release(entry.values);
    return released;
  }

  override dispose(): void {
    this.pool.clear();
    super.dispose();
  }
}
