/**
 * Sparse training of pruned dense layers (issue 14).
 *
 * Core's masked training hands every prunable weight's mask to the fused optimizer kernels
 * (`LthAdamUpdate`, `LthSgdUpdate`). When a rank-2 weight's mask keeps at most `maxDensity` of
 * its entries, the update runs over compact arrays of the kept entries only, and its outputs
 * (weight, moments) are *compact tensors*: the backend holds their kept values (row order; the
 * weight also in column order) and computes the dense array only if someone reads it. Then,
 * until the next update replaces the weight:
 *
 * - `x·W` and `dy·Wᵀ` (the forward product and the input gradient that tfjs' matMul gradient
 *   computes) run as sparse × dense products over the kept entries;
 * - `xᵀ·dy` for an `x` that was multiplied by a compact weight (the weight gradient) is computed
 *   only at the kept positions (a sampled dense-dense product);
 * - the next update reads the kept values of the weight, the gradient and the moments directly.
 *
 * Every tensor still holds what the dense kernels would give, whoever reads it: a compact
 * update output is +0 at the pruned positions (exactly what the masked update writes there), and
 * a compact weight gradient's dense value is the full product xᵀ·dy (a scorer accumulating
 * gradients sees the pruned positions too), computed on first access. Nothing here needs core or
 * a config to change; the first step of a level runs dense (its weight comes from the rewinder).
 */
import { engine, util, type TensorInfo } from '@tensorflow/tfjs-core';

import type { NativeAddon } from './addon.js';
import type { BufferPool } from './buffer_pool.js';

type DataId = object;

/**
 * Above this fraction of kept weights the dense kernels win. Measured on LeNet-300-100 at batch
 * 60, every layer at one kept fraction (tools/bench `--sparse-curve`, docs/performance.md): the
 * sparse step breaks even at about 30 % kept and is 1.2x faster at 20 %; 0.25 keeps a margin,
 * so a layer never trains slower than on the dense path.
 */
export const DEFAULT_MAX_DENSITY = 0.25;

export interface SparseKernelOptions {
  /** Use the sparse kernels at all (off by default; `LTH_SPARSE_KERNELS=1` turns them on). */
  enabled: boolean;
  /** Largest fraction of kept weights for which a layer trains sparse (`LTH_SPARSE_MAX_DENSITY`). */
  maxDensity: number;
}

/**
 * Options from the environment: `LTH_SPARSE_KERNELS` (1/on/true: on) and `LTH_SPARSE_MAX_DENSITY`.
 * Off by default: the sparse products sum in another order than the GEMMs, and over a long run
 * (12,000 iterations a level) that drifts masks and early-stop iterations from the dense-masked
 * path (docs/performance.md), while a run must give the same tickets whatever the machine.
 */
export function sparseOptionsFromEnv(env: Record<string, string | undefined> = process.env): SparseKernelOptions {
  const on = /^(1|on|true|yes)$/i.test((env.LTH_SPARSE_KERNELS ?? '').trim());
  const raw = env.LTH_SPARSE_MAX_DENSITY;
  const parsed = raw === undefined || raw.trim() === '' ? DEFAULT_MAX_DENSITY : Number(raw);
  if (!(parsed >= 0 && parsed <= 1)) {
    throw new Error(`@lth/backend-native: LTH_SPARSE_MAX_DENSITY must be a number in [0, 1], got '${raw}'`);
  }
  return { enabled: on, maxDensity: parsed };
}

/** Where a rank-2 mask keeps its weights, in row order (CSR) and column order (CSC). */
export interface SparsePattern {
  rows: number;
  cols: number;
  nnz: number;
  density: number;
  /** CSR: the kept entries of row k are p in [rowPtr[k], rowPtr[k+1]), at column colIdx[p]. */
  rowPtr: Int32Array;
  colIdx: Int32Array;
  /** Flat (row-major) index of kept entry p. */
  flat: Int32Array;
  /** CSC: the kept entries of column j are q in [colPtr[j], colPtr[j+1]), at row rowIdx[q]. */
  colPtr: Int32Array;
  rowIdx: Int32Array;
  /** CSC position of CSR entry p. */
  cscOf: Int32Array;
}

/**
 * The pattern of a 0/1 mask of shape [rows, cols]; null when it holds another value (the dense
 * kernels multiply by the mask, the sparse ones assume it is 0 or 1).
 */
export function patternFromMask(mask: ArrayLike<number>, rows: number, cols: number): SparsePattern | null {
  util.assert(mask.length === rows * cols, () => 'patternFromMask: mask size differs from its shape');
  let nnz = 0;
  for (let i = 0; i < mask.length; i++) {
    const x = mask[i]!;
    if (x === 1) nnz++;
    else if (x !== 0) return null;
  }
  const rowPtr = new Int32Array(rows + 1);
  const colIdx = new Int32Array(nnz);
  const flat = new Int32Array(nnz);
  const colPtr = new Int32Array(cols + 1);
  let p = 0;
  for (let k = 0; k < rows; k++) {
    for (let j = 0, i = k * cols; j < cols; j++, i++) {
      if (mask[i] === 1) {
        colIdx[p] = j;
        flat[p] = i;
        colPtr[j + 1]!++;
        p++;
      }
    }
    rowPtr[k + 1] = p;
  }
  for (let j = 0; j < cols; j++) colPtr[j + 1]! += colPtr[j]!;
  const next = colPtr.slice(0, cols);
  const rowIdx = new Int32Array(nnz);
  const cscOf = new Int32Array(nnz);
  for (let k = 0; k < rows; k++) {
    for (let q = rowPtr[k]!; q < rowPtr[k + 1]!; q++) {
      const at = next[colIdx[q]!]!++;
      rowIdx[at] = k;
      cscOf[q] = at;
    }
  }
  return { rows, cols, nnz, density: rows * cols === 0 ? 0 : nnz / (rows * cols), rowPtr, colIdx, flat, colPtr, rowIdx, cscOf };
}

/** An activation transposed to [features, stride] (stride = batch rounded up to 8, zero-padded). */
interface Transposed {
  buf: Float32Array;
  batch: number;
  features: number;
  stride: number;
  refs: number;
}

/**
 * A tensor whose values at a pattern's kept entries are held compactly; its dense values are
 * computed when first read (`dense`), from `kept` (+0 elsewhere) or, for a weight gradient,
 * from the transposed factors of the full product.
 */
interface CompactTensor {
  pattern: SparsePattern;
  /** The tensor's values at the kept entries, in row (CSR) order. */
  kept: Float32Array;
  /** A weight's kept values in column (CSC) order, for the forward product. */
  csc?: Float32Array;
  /** +0 at every pruned position (an update output); false for a weight gradient. */
  zeroOutside: boolean;
  /** A weight gradient's factors: dense = xTᵀ·dyT (released once the dense values exist). */
  factors?: { xT: Transposed; dyT: Transposed };
  dense: boolean;
}

/** One line of `usage()`: a prunable weight's shape, kept fraction and the path its updates took. */
export interface SparseUsage {
  /** The weight's name, when the optimizer passed it (core's do, as the `name` attribute). */
  name?: string;
  shape: number[];
  kept: number;
  density: number;
  path: 'sparse' | 'dense';
  updates: number;
}

/** The backend services the sparse kernels use (the NativeBackend; a narrow type avoids a cycle). */
export interface SparseHost {
  readonly addon: NativeAddon;
  readonly pool: BufferPool;
  /** The stored entry of a tensor's data (tfjs' cpu DataStorage entry). */
  entry(dataId: DataId): { values?: unknown };
  float32(t: TensorInfo): Float32Array;
  allocFloat32(length: number): Float32Array;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

const stride8 = (n: number) => Math.max(8, Math.ceil(n / 8) * 8);

/** The sparse-kernel state of one native backend: patterns, compact tensors, transposed activations. */
export class SparseKernels {
  private patterns = new WeakMap<DataId, SparsePattern | null>();
  private readonly compact = new WeakMap<DataId, CompactTensor>();
  private readonly transposed = new WeakMap<DataId, Transposed>();
  /** Patterns each activation was multiplied with under a gradient tape (for its weight gradient). */
  private readonly links = new WeakMap<DataId, SparsePattern[]>();
  private readonly usageByKey = new Map<string, SparseUsage>();
  private readonly keptCache = new WeakMap<DataId, number>();
  /**
   * Sparse products run (forward, input gradient, weight gradient), and dense values computed
   * because someone read them: of a weight gradient (`gradientReads`, e.g. a scorer) or of an
   * update output (`outputReads`, e.g. a snapshot).
   */
  readonly counts = { forward: 0, inputGrad: 0, weightGrad: 0, gradientReads: 0, outputReads: 0 };

  constructor(
    private readonly host: SparseHost,
    private opts: SparseKernelOptions = sparseOptionsFromEnv(),
  ) {}

  get options(): Readonly<SparseKernelOptions> {
    return this.opts;
  }

  /** Changes the options; compact weights keep their sparse products until their next update. */
  configure(options: Partial<SparseKernelOptions>): void {
    const next = { ...this.opts, ...options };
    util.assert(next.maxDensity >= 0 && next.maxDensity <= 1, () => `maxDensity must be in [0, 1], got ${next.maxDensity}`);
    // Patterns are cached with the threshold applied (a mask above it is not even indexed).
    if (next.maxDensity !== this.opts.maxDensity) this.patterns = new WeakMap();
    this.opts = next;
  }

  /** Which path each masked weight's updates took since the last `resetUsage()`. */
  usage(): SparseUsage[] {
    return [...this.usageByKey.values()].map((u) => ({ ...u, shape: [...u.shape] }));
  }

  resetUsage(): void {
    this.usageByKey.clear();
    for (const k of Object.keys(this.counts) as Array<keyof typeof this.counts>) this.counts[k] = 0;
  }

  /**
   * The pattern an update of `weight` under `mask` should use, or null for the dense path: off,
   * not rank 2, above `maxDensity`, or a mask that is not 0/1. Cached per mask (masks are
   * created once per level and never change).
   */
  patternFor(weight: TensorInfo, mask: TensorInfo | undefined, name?: string): SparsePattern | null {
    if (!mask) return null;
    const shape = weight.shape;
    let pattern = this.patterns.get(mask.dataId);
    if (pattern === undefined) {
      pattern = null;
      if (shape.length === 2 && util.arraysEqual(mask.shape, shape) && mask.dtype === 'float32') {
        const values = this.host.entry(mask.dataId).values as Float32Array;
        if (this.keptOf(mask) <= this.opts.maxDensity * values.length) pattern = patternFromMask(values, shape[0]!, shape[1]!);
      }
      this.patterns.set(mask.dataId, pattern);
    }
    const ok = pattern !== null && this.opts.enabled && util.arraysEqual(shape, [pattern.rows, pattern.cols]);
    this.noteUsage(shape, mask, ok ? pattern : null, name);
    return ok ? pattern : null;
  }

  private noteUsage(shape: number[], mask: TensorInfo, pattern: SparsePattern | null, name: string | undefined): void {
    const path = pattern ? 'sparse' : 'dense';
    const size = util.sizeFromShape(shape);
    const kept = pattern ? pattern.nnz : this.keptOf(mask);
    const key = `${name ?? ''}:${shape.join('x')}:${kept}:${path}`;
    const u = this.usageByKey.get(key);
    if (u) u.updates++;
    else {
      const entry: SparseUsage = { shape: [...shape], kept, density: size ? kept / size : 0, path, updates: 1 };
      this.usageByKey.set(key, name === undefined ? entry : { name, ...entry });
    }
  }

  /** Nonzero entries of a mask, counted once per mask. */
  private keptOf(mask: TensorInfo): number {
    let kept = this.keptCache.get(mask.dataId);
    if (kept === undefined) {
      const values = this.host.entry(mask.dataId).values as ArrayLike<number>;
      kept = 0;
      for (let i = 0; i < values.length; i++) if (values[i] !== 0) kept++;
      this.keptCache.set(mask.dataId, kept);
    }
    return kept;
  }

  /**
   * The values of `t` at `pattern`'s kept entries: its compact values when it has them for this
   * pattern (`owned` false), else gathered from its dense values into a scratch buffer the caller
   * passes to `done()` afterwards.
   */
  keptValues(t: TensorInfo, pattern: SparsePattern): { values: Float32Array; owned: boolean } {
    const c = this.compact.get(t.dataId);
    if (c && c.pattern === pattern) return { values: c.kept, owned: false };
    const values = this.host.pool.acquire(pattern.nnz);
    this.host.addon.gather(pattern.flat, this.host.float32(t), values);
    return { values, owned: true };
  }

  done(v: { values: Float32Array; owned: boolean }): void {
    if (v.owned) this.host.pool.recycle(v.values);
  }

  /** A scratch array for one compact output (kept entries of `pattern`). */
  allocKept(pattern: SparsePattern): Float32Array {
    return this.host.pool.acquire(pattern.nnz);
  }

  /**
   * A compact update output of `shape`: `kept` at the pattern's kept entries, +0 elsewhere;
   * `csc` (the same values in column order) makes it a weight the sparse products can use.
   */
  compactOutput(shape: number[], pattern: SparsePattern, kept: Float32Array, csc?: Float32Array): TensorInfo {
    return this.deferred(shape, { pattern, kept, csc, zeroOutside: true, dense: false });
  }

  /** A tensor whose data is `c`, dense values computed on first read. */
  private deferred(shape: number[], c: CompactTensor): TensorInfo {
    const info = this.host.makeTensorInfo(shape, 'float32', new Float32Array(0));
    this.compact.set(info.dataId, c);
    const entry = this.host.entry(info.dataId);
    // Reading `values` (any cpu kernel, readSync, dataSync) computes the dense array once.
    Object.defineProperty(entry, 'values', {
      configurable: true,
      enumerable: true,
      get: () => {
        const dense = this.materialise(c);
        Object.defineProperty(entry, 'values', { value: dense, writable: true, configurable: true, enumerable: true });
        return dense;
      },
      set: (v: unknown) => {
        c.dense = true; // replaced wholesale: nothing left to compute
        Object.defineProperty(entry, 'values', { value: v, writable: true, configurable: true, enumerable: true });
      },
    });
    return info;
  }

  private materialise(c: CompactTensor): Float32Array {
    const { rows, cols } = c.pattern;
    const dense = this.host.pool.acquire(rows * cols);
    if (c.factors) {
      // dW = xᵀ·dy from the transposed copies: [rows, stride] · [cols, stride]ᵀ (the padding is zero).
      const { xT, dyT } = c.factors;
      this.host.addon.batchMatMul(xT.buf, dyT.buf, dense, 1, 1, 1, rows, cols, xT.stride, false, true);
      this.releaseFactors(c);
      this.counts.gradientReads++;
    } else {
      dense.fill(0);
      this.host.addon.scatter(c.pattern.flat, c.kept, dense);
      this.counts.outputReads++;
    }
    this.host.pool.adopt(dense);
    c.dense = true;
    return dense;
  }

  private releaseFactors(c: CompactTensor): void {
    if (!c.factors) return;
    this.unref(c.factors.xT);
    this.unref(c.factors.dyT);
    c.factors = undefined;
  }

  /**
   * `a·b` (transposes as given) when `b` is a compact weight and `a` a plain matrix: the forward
   * product (no transposes) or the input gradient (`b` transposed). Null: not applicable.
   */
  matMul(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): { out: Float32Array; outShape: number[] } | null {
    if (!this.opts.enabled || transposeA || a.shape.length !== 2 || b.shape.length !== 2 || a.dtype !== 'float32') return null;
    const w = this.compact.get(b.dataId);
    if (!w || !w.csc || !w.zeroOutside) return null;
    const p = w.pattern;
    // A reshape shares the data: only the weight's own layout matches its compact values.
    if (b.shape[0] !== p.rows || b.shape[1] !== p.cols) return null;
    const [batch, inner] = a.shape as [number, number];
    if (inner !== (transposeB ? p.cols : p.rows)) return null;
    const recording = engine().state.gradientDepth > 0;
    // Keep the transposed activation for the weight gradient that follows: the forward input
    // under a tape, and dy always (the input gradient runs just before the weight gradient).
    const keep = transposeB || recording;
    const aT = this.transpose(a, keep);
    const outRows = transposeB ? p.rows : p.cols;
    const out = this.host.allocFloat32(batch * outRows);
    if (transposeB) {
      this.host.addon.gatherAxpy(p.rowPtr, p.colIdx, w.kept, aT.buf, out, outRows, inner, batch, aT.stride);
      this.counts.inputGrad++;
    } else {
      this.host.addon.gatherAxpy(p.colPtr, p.rowIdx, w.csc, aT.buf, out, outRows, inner, batch, aT.stride);
      this.counts.forward++;
      // Under a tape, a's weight gradient (aᵀ·dy) will follow: remember which pattern it is for.
      if (recording) {
        const list = this.links.get(a.dataId) ?? [];
        if (!list.includes(p)) list.push(p);
        this.links.set(a.dataId, list);
      }
    }
    if (!keep) this.unref(aT);
    return { out, outShape: [batch, outRows] };
  }

  /**
   * `aᵀ·dy` for an activation `a` that was multiplied by exactly one compact weight's pattern of this
   * shape: a compact tensor holding the kept values now and the dense product on demand.
   */
  weightGrad(a: TensorInfo, dy: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo | null {
    if (!this.opts.enabled || !transposeA || transposeB || a.shape.length !== 2 || dy.shape.length !== 2 || dy.dtype !== 'float32') return null;
    const [batch, rows] = a.shape as [number, number];
    const [batchDy, cols] = dy.shape as [number, number];
    if (batch !== batchDy) return null;
    const candidates = (this.links.get(a.dataId) ?? []).filter((p) => p.rows === rows && p.cols === cols);
    // Two different patterns of the same shape: the product is not known to be either's gradient.
    if (candidates.length !== 1) return null;
    const pattern = candidates[0]!;
    const xT = this.transposed.get(a.dataId);
    if (!xT || xT.batch !== batch || xT.features !== rows) return null;
    const dyT = this.transpose(dy, true); // usually cached by the input gradient just before
    const kept = this.host.pool.acquire(pattern.nnz);
    this.host.addon.sampledProduct(pattern.rowPtr, pattern.colIdx, xT.buf, dyT.buf, kept, rows, cols, xT.stride);
    this.counts.weightGrad++;
    xT.refs++;
    dyT.refs++;
    return this.deferred([rows, cols], { pattern, kept, zeroOutside: false, factors: { xT, dyT }, dense: false });
  }

  /** `t` transposed to [features, stride]; cached per data when `keep` (released with the data). */
  private transpose(t: TensorInfo, keep: boolean): Transposed {
    const [batch, features] = t.shape as [number, number];
    const cached = this.transposed.get(t.dataId);
    // (A reshape of the same data to another 2-D shape is another matrix: not the cached one.)
    if (cached && cached.batch === batch && cached.features === features) {
      if (!keep) cached.refs++;
      return cached;
    }
    const stride = stride8(batch);
    const buf = this.host.pool.acquire(features * stride);
    this.host.addon.transposePad(this.host.float32(t), buf, batch, features, stride);
    const tr: Transposed = { buf, batch, features, stride, refs: 1 };
    if (keep) {
      if (cached) this.unref(cached); // the cache's reference to the other shape's copy
      this.transposed.set(t.dataId, tr);
    }
    return tr;
  }

  private unref(t: Transposed): void {
    if (--t.refs === 0) this.host.pool.recycle(t.buf);
  }

  /**
   * The data of `dataId` is gone: drop what was kept for it. Returns true when its entry holds
   * no buffer (a compact tensor never read densely), false when the caller should recycle
   * `entry.values` as usual.
   */
  forget(dataId: DataId): boolean {
    const t = this.transposed.get(dataId);
    if (t) {
      this.transposed.delete(dataId);
      this.unref(t);
    }
    this.links.delete(dataId);
    const c = this.compact.get(dataId);
    if (!c) return false;
    this.compact.delete(dataId);
    this.host.pool.recycle(c.kept);
    if (c.csc) this.host.pool.recycle(c.csc);
    this.releaseFactors(c);
    return !c.dense;
  }
}
