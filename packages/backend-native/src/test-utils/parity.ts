import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

import { loadAddon } from '../addon.js';
import { registerNativeBackend } from '../register.js';

const loaded = loadAddon();
/** Why native tests are skipped, or undefined when the addon is built. */
export const skipReason = 'error' in loaded ? loaded.error : undefined;
if (skipReason) console.warn(`@lth/backend-native tests skipped: ${skipReason}`);

export function setupNative(): void {
  if (!skipReason) registerNativeBackend();
}

/** Deterministic pseudo-random values in [-1, 1) (no tfjs RNG involved). */
export function values(size: number, seed = 1): Float32Array {
  const out = new Float32Array(size);
  let s = seed * 2654435761 >>> 0;
  for (let i = 0; i < size; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export function rand(shape: number[], seed = 1): { shape: number[]; data: Float32Array } {
  return { shape, data: values(shape.reduce((a, b) => a * b, 1), seed) };
}

/**
 * Runs `f` on each backend with fresh tensors from the same data; returns each backend's
 * outputs as plain arrays.
 */
export function onBackend(
  backend: string,
  inputs: Array<{ shape: number[]; data: Float32Array }>,
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Float32Array[] {
  tf.setBackend(backend);
  let result: Float32Array[] = [];
  // Assigned, not returned: tf.tidy would walk returned typed arrays element by element.
  tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(i.data.slice(), i.shape));
    const out = f(...xs);
    result = (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
  return result;
}

/** Largest |a - b| / (1 + |b|) over all outputs. */
export function maxRelDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  if (a.length !== b.length) return Infinity;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.length !== y.length) worst = Infinity;
    for (let j = 0; j < x.length; j++) {
      const d = Math.abs(x[j]! - y[j]!) / (1 + Math.abs(y[j]!));
      if (Number.isNaN(x[j]!) !== Number.isNaN(y[j]!)) worst = Infinity;
      else if (d > worst) worst = d;
    }
  });
  return worst;
}

/** Native vs cpu on the same inputs. */
export function parity(
  inputs: Array<{ shape: number[]; data: Float32Array }>,
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): number {
  const cpu = onBackend('cpu', inputs, f);
  const native = onBackend('native', inputs, f);
  return maxRelDiff(native, cpu);
}
