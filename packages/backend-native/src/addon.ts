import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { coreTypeProblem } from './cpu_check.js';

/** The N-API addon (native/*.cc). Every kernel writes into a caller-allocated output array. */
export interface NativeAddon {
  batchMatMul(
    a: Float32Array, b: Float32Array, out: Float32Array,
    batch: number, batchA: number, batchB: number, m: number, n: number, k: number,
    transposeA: boolean, transposeB: boolean,
  ): void;
  binary(op: number, a: Float32Array, aStrides: Int32Array, b: Float32Array, bStrides: Int32Array,
    out: Float32Array, outShape: Int32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha?: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, reduced: number, inner: number): void;
  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, mask: Float32Array | null,
    outW: Float32Array, outM: Float32Array, outV: Float32Array,
    lr: number, beta1: number, beta2: number, epsilon: number, step: number, weightDecay: number): void;
  sgd(w: Float32Array, g: Float32Array, velocity: Float32Array, mask: Float32Array | null,
    outW: Float32Array, outVelocity: Float32Array, lr: number, momentum: number, weightDecay: number): void;
  /** op 0: x, w -> y; 1: dy, w -> dx; 2: x, dy -> dw. False where oneDNN rejects the case. Absent without oneDNN. */
  conv2d?(op: 0 | 1 | 2, a: Float32Array, b: Float32Array, out: Float32Array, params: Int32Array): boolean;
  maxPool(x: Float32Array, y: Float32Array, params: Int32Array): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, params: Int32Array): void;
  /** dst [cols, stride] = src [rows, cols] transposed, rows rows..stride-1 zero (stride >= rows). */
  transposePad(src: Float32Array, dst: Float32Array, rows: number, cols: number, stride: number): void;
  /**
   * Sparse x dense over compressed rows: out[b, o] = sum over p in [ptr[o], ptr[o+1]) of
   * vals[p] * inT[idx[p], b], for out [batch, outRows] and inT [inRows, stride] (stride % 8 == 0).
   */
  gatherAxpy(ptr: Int32Array, idx: Int32Array, vals: Float32Array, inT: Float32Array, out: Float32Array,
    outRows: number, inRows: number, batch: number, stride: number): void;
  /** out[p] = aT[k, :] . bT[colIdx[p], :] for each kept entry p of row k (a sampled product). */
  sampledProduct(rowPtr: Int32Array, colIdx: Int32Array, aT: Float32Array, bT: Float32Array, out: Float32Array,
    rows: number, cols: number, stride: number): void;
  /** out[p] = dense[flat[p]]. */
  gather(flat: Int32Array, dense: Float32Array, out: Float32Array): void;
  /** dense[flat[p]] = compact[p]; the other entries are left as they are. */
  scatter(flat: Int32Array, compact: Float32Array, dense: Float32Array): void;
  /**
   * `adam` with mask 1 over compact arrays (one value per kept entry, row order), plus the new
   * weights in column order: outCsc[cscOf[p]] = outW[p].
   */
  adamCompact(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
    outW: Float32Array, outM: Float32Array, outV: Float32Array, cscOf: Int32Array, outCsc: Float32Array,
    lr: number, beta1: number, beta2: number, epsilon: number, step: number, weightDecay: number): void;
  /** `sgd` with mask 1 over compact arrays (see adamCompact). */
  sgdCompact(w: Float32Array, g: Float32Array, velocity: Float32Array, outW: Float32Array, outVelocity: Float32Array,
    cscOf: Int32Array, outCsc: Float32Array, lr: number, momentum: number, weightDecay: number): void;
  /** The thread policy: at most `max` threads; GEMMs under `parallelFlops` multiply-adds use one. */
  setThreads(max?: number, parallelFlops?: number): number;
  blasInfo(): string;
  features(): { dnnl: boolean };
  tuneMalloc(): void;
}

const addonPath = fileURLToPath(new URL('../build/Release/lth_native.node', import.meta.url));
const buildErrorPath = fileURLToPath(new URL('../build/lth-native-error.txt', import.meta.url));

export const HOW_TO_BUILD =
  'apt-get install libopenblas-dev libdnnl-dev, then npm rebuild @lth/backend-native';

let loaded: { addon: NativeAddon } | { error: string } | undefined;

/** Loads the addon once; never throws. `error` says why it is missing and how to get it. */
export function loadAddon(): { addon: NativeAddon } | { error: string } {
  if (loaded) return loaded;
  const problem = coreTypeProblem();
  if (problem) return { error: problem };
  if (!existsSync(addonPath)) {
    const why = existsSync(buildErrorPath)
      ? readFileSync(buildErrorPath, 'utf8').split('\n')[0]
      : 'the native addon was not built';
    loaded = { error: `${why}: ${HOW_TO_BUILD}` };
    return loaded;
  }
  try {
    // oneDNN's OpenMP threads otherwise spin between convolutions, taking the core that the
    // OpenBLAS and JS work in between needs (Conv-2 steps ~1.4x faster passive). libgomp reads
    // this when the addon loads it; a value the user set wins.
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
    const require = createRequire(import.meta.url);
    loaded = { addon: require(addonPath) as NativeAddon };
  } catch (e) {
    const message = (e as Error).message;
    const why = /openblas/i.test(message) ? 'libopenblas not found'
      : /dnnl/i.test(message) ? 'libdnnl not found'
      : `the native addon does not load (${message.split('\n')[0]})`;
    loaded = { error: `${why}: ${HOW_TO_BUILD}` };
  }
  return loaded;
}

/** The addon, or an Error naming why it is missing. */
export function requireAddon(): NativeAddon {
  const r = loadAddon();
  if ('error' in r) throw new Error(`@lth/backend-native: ${r.error}`);
  return r.addon;
}
