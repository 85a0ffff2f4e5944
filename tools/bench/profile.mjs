#!/usr/bin/env node
// Per-kernel profile of one LeNet-300-100 Adam step at batch 60 on a backend, to see which
// kernels dominate before writing a native one:   node tools/bench/profile.mjs [native|cpu|wasm]
import { register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

register('./tfjs-esm-hook.mjs', import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const backend = process.argv[2] ?? 'native';
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

const sizes = [784, 300, 100, 10];
const params = [];
for (let l = 0; l < 3; l++) {
  params.push(tf.variable(tf.randomNormal([sizes[l], sizes[l + 1]], 0, 0.05)), tf.variable(tf.zeros([sizes[l + 1]])));
}
const m = params.map((p) => tf.variable(tf.zerosLike(p), false));
const v = params.map((p) => tf.variable(tf.zerosLike(p), false));
const ones = params.map((p) => tf.onesLike(p));
const x = tf.randomUniform([60, 784]);
const y = tf.oneHot(tf.tensor1d(Array.from({ length: 60 }, (_, i) => i % 10), 'int32'), 10);
const fused = tf.getKernel('LthAdamUpdate', backend) !== undefined;
const opt = tf.train.adam(0.0012);
let step = 0;
const run = () => {
  step++;
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      let h = x;
      for (let l = 0; l < 6; l += 2) {
        h = tf.add(tf.matMul(h, params[l]), params[l + 1]);
        if (l < 4) h = tf.relu(h);
      }
      return tf.losses.softmaxCrossEntropy(y, h);
    }, params);
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
for (let i = 0; i < 20; i++) run();
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
const N = 100;
const t0 = performance.now();
for (let i = 0; i < N; i++) run();
console.log(`step: ${((performance.now() - t0) / N).toFixed(3)} ms`);
