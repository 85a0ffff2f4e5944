#!/usr/bin/env node
// Per-kernel profile of one LeNet-300-100 Adam step at batch 60 on a backend, to see which
// kernels dominate before writing a native one:   node tools/bench/profile.mjs [native|cpu|wasm] [lenet|conv2]
// (conv2: the Conv-2 step of bench.mjs, conv3x3-64 x2, maxpool, dense 256-256-10, batch 60)
import { register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

register('./tfjs-esm-hook.mjs', import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const backend = process.argv[2] ?? 'native';
const model = process.argv[3] ?? 'lenet';
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
await import('@tensorflow/tfjs-backend-cpu');
tf.env().set('PROD', true);
if (backend === 'native') {
  const { registerNativeBackend } = await import(join(here, '../../packages/backend-native/dist/register.js'));
  registerNativeBackend();
} else if (backend === 'wasm') {
  await import('@tensorflow/tfjs-backend-wasm');
}
await tf.setBackend(backend);

const conv2 = model === 'conv2';
const shapes = conv2
  ? [[3, 3, 3, 64], [64], [3, 3, 64, 64], [64], [16 * 16 * 64, 256], [256], [256, 256], [256], [256, 10], [10]]
  : [[784, 300], [300], [300, 100], [100], [100, 10], [10]];
const params = shapes.map((s) => tf.variable(s.length === 1 ? tf.zeros(s) : tf.randomNormal(s, 0, 0.05)));
const m = params.map((p) => tf.variable(tf.zerosLike(p), false));
const v = params.map((p) => tf.variable(tf.zerosLike(p), false));
const ones = params.map((p) => tf.onesLike(p));
const x = conv2 ? tf.randomUniform([60, 32, 32, 3]) : tf.randomUniform([60, 784]);
const y = tf.oneHot(tf.tensor1d(Array.from({ length: 60 }, (_, i) => i % 10), 'int32'), 10);
const fused = tf.getKernel('LthAdamUpdate', backend) !== undefined;
const opt = tf.train.adam(0.0012);
const forward = () => {
  let h = x;
  if (conv2) {
    h = tf.relu(tf.add(tf.conv2d(h, params[0], 1, 'same'), params[1]));
    h = tf.relu(tf.add(tf.conv2d(h, params[2], 1, 'same'), params[3]));
    h = tf.reshape(tf.maxPool(h, 2, 2, 'valid'), [60, 16 * 16 * 64]);
    for (let l = 4; l < 10; l += 2) {
      h = tf.add(tf.matMul(h, params[l]), params[l + 1]);
      if (l < 8) h = tf.relu(h);
    }
  } else {
    for (let l = 0; l < 6; l += 2) {
      h = tf.add(tf.matMul(h, params[l]), params[l + 1]);
      if (l < 4) h = tf.relu(h);
    }
  }
  return tf.losses.softmaxCrossEntropy(y, h);
};
let step = 0;
const run = () => {
  step++;
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(forward, params);
    if (fused) {
      params.forEach((p, i) => {
        const [w2, m2, v2] = tf.engine().runKernel('LthAdamUpdate', { weight: p, grad: grads[p.name], m: m[i], v: v[i], mask: ones[i] },
          { lr: 0.0012, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step, weightDecay: 0 });
        p.assign(w2); m[i].assign(m2); v[i].assign(v2);
      });
    } else {
      opt.applyGradients(grads);
    }
    value.dataSync();
  });
};
for (let i = 0; i < (conv2 ? 3 : 20); i++) run();
const profile = await tf.profile(run);
const byKernel = {};
for (const k of profile.kernels) {
  const ms = await k.kernelTimeMs;
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  byKernel[key] = (byKernel[key] ?? 0) + (typeof ms === 'number' ? ms : 0);
}
const total = Object.values(byKernel).reduce((a, b) => a + b, 0);
console.log(`${backend}: ${profile.kernels.length} kernels, ${total.toFixed(3)} ms in kernels`);
for (const [k, ms] of Object.entries(byKernel).sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${ms.toFixed(3).padStart(9)}  ${k}`);
const N = conv2 ? 10 : 100;
const t0 = performance.now();
for (let i = 0; i < N; i++) run();
console.log(`step: ${((performance.now() - t0) / N).toFixed(3)} ms`);
