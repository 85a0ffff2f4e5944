import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from './contracts.js';
import { crossEntropyHvp } from './hessian.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('crossEntropyHvp', () => {
  it('equals the analytic Hessian of softmax regression, Σ x xᵀ ⊗ (diag p − p pᵀ) / N, over two batches', () => {
    const [d, c] = [3, 2];
    const xs = [[1, -0.5, 2], [0.3, 0.8, -1], [-1.2, 0.4, 0.1], [0.5, 0.5, 0.5]];
    const labels = [0, 1, 1, 0];
    const w = [0.2, -0.3, 0.5, 0.1, -0.4, 0.25];
    const model: ModelSpec = {
      weightNames: ['w'],
      prunable: ['w'],
      layerOf: { w: 'linear' },
      outputLayer: 'linear',
      shapes: { w: [d, c] },
      init: () => ({ w: tf.zeros([d, c]) }),
      forward: (weights, x) => tf.matMul(x as tf.Tensor2D, weights.w as tf.Tensor2D),
    };
    const batch = (rows: number[]) => ({ x: tf.tensor(rows.map((r) => xs[r]).flat(), [rows.length, d]), y: tf.cast(tf.oneHot(tf.tensor1d(rows.map((r) => labels[r]), 'int32'), c), 'float32') });
    const chunks = [batch([0, 1, 2]), batch([3])];
    const weights = { w: tf.tensor(w, [d, c]) };
    const v = [1, -2, 0.5, 3, -1, 0.25];
    const hv = new Array<number>(d * c).fill(0);
    for (const x of xs) {
      const z = [0, 1].map((k) => x.reduce((s, xi, i) => s + xi * w[i * c + k], 0));
      const e = z.map((zk) => Math.exp(zk));
      const p = e.map((ek) => ek / (e[0] + e[1]));
      for (let i = 0; i < d; i++) for (let k = 0; k < c; k++) for (let j = 0; j < d; j++) for (let l = 0; l < c; l++) {
        hv[i * c + k] += (x[i] * x[j] * ((k === l ? p[k] : 0) - p[k] * p[l]) * v[j * c + l]) / xs.length;
      }
    }
    const out = tf.tidy(() => crossEntropyHvp(model, weights, ['w'], { chunks, count: xs.length })({ w: tf.tensor(v, [d, c]) }));
    const got = Array.from(out.w.dataSync());
    got.forEach((g, i) => expect(g).toBeCloseTo(hv[i], 5));
    tf.dispose([out.w, weights.w, ...chunks.flatMap((b) => [b.x, b.y])]);
  });
});
