import { register } from 'node:module';
register('./tfjs-esm-hook.mjs', import.meta.url);
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
await import('@tensorflow/tfjs-backend-cpu');
const { registerNativeBackend } = await import('../../packages/backend-native/dist/register.js');
registerNativeBackend();
await tf.setBackend(process.argv[2] ?? 'native');
const sizes = [784, 300, 100, 10];
const params = [];
for (let l = 0; l < 3; l++) params.push(tf.variable(tf.randomNormal([sizes[l], sizes[l+1]], 0, 0.05)), tf.variable(tf.zeros([sizes[l+1]])));
const m = params.map(p => tf.variable(tf.zerosLike(p), false)), v = params.map(p => tf.variable(tf.zerosLike(p), false));
const x = tf.randomUniform([60, 784]); const y = tf.oneHot(tf.tensor1d(Array.from({length:60},(_, i)=>i%10),'int32'),10);
let step = 0;
const run = () => { step++; tf.tidy(() => {
  const { value, grads } = tf.variableGrads(() => { let h = x; for (let l = 0; l < 6; l += 2) { h = tf.add(tf.matMul(h, params[l]), params[l+1]); if (l < 4) h = tf.relu(h); } return tf.losses.softmaxCrossEntropy(y, h); }, params);
  params.forEach((p, i) => { const [w2, m2, v2] = tf.engine().runKernel('LthAdamUpdate', { weight: p, grad: grads[p.name], m: m[i], v: v[i] }, { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step, weightDecay: 0 }); p.assign(w2); m[i].assign(m2); v[i].assign(v2); });
  value.dataSync(); }); };
for (let i = 0; i < 20; i++) run();
const prof = await tf.profile(run);
const agg = {};
for (const k of prof.kernels) { const t = await k.kernelTimeMs; const key = k.name + ' ' + JSON.stringify(k.inputShapes); agg[key] = (agg[key] ?? 0) + (typeof t === 'number' ? t : 0); }
const tot = Object.values(agg).reduce((a,b)=>a+b,0);
console.log('kernels', prof.kernels.length, 'kernel total ms', tot.toFixed(3));
for (const [k, t] of Object.entries(agg).sort((a,b)=>b[1]-a[1]).slice(0, 25)) console.log(t.toFixed(3), k);
const N = 100; const t0 = performance.now(); for (let i = 0; i < N; i++) run(); console.log('ms/step', ((performance.now()-t0)/N).toFixed(3));
