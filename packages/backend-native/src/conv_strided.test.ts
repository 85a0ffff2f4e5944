/**
 * Strided convolutions and their two gradients, native vs cpu, over shapes where the output is
 * not input/stride: 'valid' with (in - k) odd, 'same' with odd and even inputs, non-square
 * inputs and strides, fewer input channels than oneDNN's channel block (8 on AVX2, 16 on
 * AVX-512). oneDNN 2.x's strided 1x1 filter gradient wrote past its scratch buffer in that last
 * case (heap corruption, seen only when glibc later freed a neighbour), so every case runs
 * several times, and a child process hammers the addon directly under glibc's malloc checks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from './addon.js';
import { onBackend, maxRelDiff, rand, setupNative, skipReason } from './test-utils/parity.js';

const loaded = loadAddon();
const hasDnnl = 'addon' in loaded && loaded.addon.features().dnnl;
const REPEAT = 3;

type Case = [name: string, x: number[], w: number[], strides: [number, number], pad: 'valid' | 'same'];

const CASES: Case[] = [
  ['1x1 stride 2 valid, 8x8, 4 channels', [1, 8, 8, 4], [1, 1, 4, 8], [2, 2], 'valid'],
  ['1x1 stride 2 valid, 7x9, batch 3, 3 channels', [3, 7, 9, 3], [1, 1, 3, 8], [2, 2], 'valid'],
  ['1x1 stride 2 valid, 1 channel', [3, 8, 8, 1], [1, 1, 1, 4], [2, 2], 'valid'],
  ['1x1 stride 2 valid, 12 channels (channel tail)', [3, 8, 10, 12], [1, 1, 12, 8], [2, 2], 'valid'],
  ['1x1 stride 2 valid, 16 -> 32 (resnet shortcut)', [3, 8, 8, 16], [1, 1, 16, 32], [2, 2], 'valid'],
  ['1x1 stride 2 same, odd input', [3, 7, 7, 4], [1, 1, 4, 8], [2, 2], 'same'],
  ['1x1 stride [2, 1] valid, non-square', [1, 8, 6, 4], [1, 1, 4, 8], [2, 1], 'valid'],
  ['3x3 stride 2 same, odd input', [1, 9, 9, 3], [3, 3, 3, 8], [2, 2], 'same'],
  ['3x3 stride 2 same, even input', [3, 8, 8, 3], [3, 3, 3, 8], [2, 2], 'same'],
  ['3x3 stride 2 valid, odd input (in - k even)', [3, 9, 9, 4], [3, 3, 4, 8], [2, 2], 'valid'],
  ['3x3 stride 2 valid, even input (in - k odd)', [1, 8, 8, 4], [3, 3, 4, 8], [2, 2], 'valid'],
  ['3x3 stride 2 same, non-square 7x10', [3, 7, 10, 5], [3, 3, 5, 6], [2, 2], 'same'],
  ['3x3 stride 2 valid, non-square 10x7', [1, 10, 7, 16], [3, 3, 16, 8], [2, 2], 'valid'],
  ['2x3 stride [1, 2] valid, non-square kernel', [3, 9, 8, 3], [2, 3, 3, 4], [1, 2], 'valid'],
  ['3x3 stride 3 valid (in - k not a multiple)', [1, 11, 11, 2], [3, 3, 2, 4], [3, 3], 'valid'],
];

describe.skipIf(skipReason !== undefined)('native strided Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter match cpu', () => {
  beforeAll(setupNative);
  afterAll(() => void tf.setBackend('cpu'));

  for (const [name, xs, ws, strides, pad] of CASES) {
    it(name, () => {
      const conv = (x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad);
      const ys = backend_util.computeConv2DInfo(xs as [number, number, number, number],
        ws as [number, number, number, number], strides, 1, pad).outShape;
      const inputs = [rand(xs, 31), rand(ws, 32), rand(ys, 33)];
      // Each gradient on its own, with a fixed upstream gradient dy, so each kernel is compared.
      const ops: Array<[string, (x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor) => tf.Tensor]> = [
        ['Conv2D', (x, w) => conv(x, w)],
        ['Conv2DBackpropInput', (x, w, dy) => tf.grad((a: tf.Tensor) => conv(a, w))(x, dy)],
        ['Conv2DBackpropFilter', (x, w, dy) => tf.grad((b: tf.Tensor) => conv(x, b))(w, dy)],
      ];
      const tol = 2e-5 * Math.sqrt(ws[0]! * ws[1]! * ws[2]! * ws[3]! * xs[0]!);
      for (const [op, f] of ops) {
        const cpu = onBackend('cpu', inputs, f as (...t: tf.Tensor[]) => tf.Tensor);
        for (let r = 0; r < REPEAT; r++) {
          const native = onBackend('native', inputs, f as (...t: tf.Tensor[]) => tf.Tensor);
          expect(maxRelDiff(native, cpu), `${op}, run ${r + 1}`).toBeLessThan(tol);
        }
      }
    });
  }
});

const addonPath = fileURLToPath(new URL('../build/Release/lth_native.node', import.meta.url));
const mallocDebug = '/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0';

/**
 * Calls conv2d(op 2) directly on strided 1x1 shapes many times, checks each filter gradient
 * against a naive loop, and exits; glibc's checks (MALLOC_CHECK_ / malloc.check tunable, with
 * libc_malloc_debug where glibc >= 2.34 needs it) abort on a corrupted heap.
 */
const STRESS = `
const addon = require(${JSON.stringify(addonPath)});
// [N, IH, IW, IC, OC, SH, SW]
const shapes = [[20, 8, 8, 4, 8, 2, 2], [3, 7, 9, 3, 8, 2, 2], [2, 8, 8, 1, 4, 2, 2], [4, 16, 16, 16, 32, 2, 2], [2, 9, 6, 5, 3, 2, 1]];
let worst = 0;
for (let rep = 0; rep < 40; rep++) for (const [n, ih, iw, ic, oc, sh, sw] of shapes) {
  const oh = Math.floor((ih - 1) / sh) + 1, ow = Math.floor((iw - 1) / sw) + 1;
  const x = Float32Array.from({ length: n * ih * iw * ic }, (_, i) => ((i * 7919) % 13) / 13 - 0.5);
  const dy = Float32Array.from({ length: n * oh * ow * oc }, (_, i) => ((i * 104729) % 17) / 17 - 0.5);
  const dw = new Float32Array(ic * oc);
  const p = Int32Array.from([n, ih, iw, ic, oh, ow, oc, 1, 1, sh, sw, 1, 1, 0, 0, 0, 0]);
  if (!addon.conv2d(2, x, dy, dw, p)) throw new Error('conv2d rejected ' + p);
  if (rep % 10) continue;
  for (let c = 0; c < ic; c++) for (let o = 0; o < oc; o++) {
    let s = 0;
    for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++)
      s += x[((b * ih + i * sh) * iw + j * sw) * ic + c] * dy[((b * oh + i) * ow + j) * oc + o];
    worst = Math.max(worst, Math.abs(dw[c * oc + o] - s) / (1 + Math.abs(s)));
  }
}
console.log('ok ' + worst);
`;

describe.skipIf(skipReason !== undefined || !hasDnnl)('strided 1x1 filter gradient leaves the heap intact', () => {
  it('in a child process under glibc malloc checks', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, MALLOC_CHECK_: '3', GLIBC_TUNABLES: 'glibc.malloc.check=3' };
    if (existsSync(mallocDebug)) env.LD_PRELOAD = [mallocDebug, process.env.LD_PRELOAD].filter(Boolean).join(':');
    const r = spawnSync(process.execPath, ['-e', STRESS], { env, encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    const worst = Number(/^ok (\S+)/.exec(r.stdout)?.[1]);
    expect(worst).toBeLessThan(1e-5);
  });
});
