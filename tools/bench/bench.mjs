#!/usr/bin/env node
// Training-speed benchmark of lth's tfjs backends (cpu, wasm, native) and PyTorch as reference.
//
//   npm run bench [-- --json] [-- --backends cpu,wasm,native] [-- --quick] [-- --no-torch] [-- --no-conv] [-- --no-data]
//                 [-- --no-sparse] [-- --sparse-only] [-- --sparse-curve]
//
// Reports ms/step of a LeNet-300-100 Adam step at batch 60 (dense and masked), GEMM GFLOP/s
// (1024^3 and LeNet's 60x784x300), a Conv-2 step on native, lth/PyTorch ratios where
// python3 has torch, and the per-iteration data preparation (core's BatchStream.batchAt on
// MNIST and on CIFAR-10-shaped data with crop-and-flip augmentation) as ms/batch and as a
// fraction of the step it feeds (--no-data skips it).
// On native it also times the LeNet step at pruned levels (21 %, 7 %, 3.6 % of weights left, the
// paper's 20 %/10 % per-level rates) with the sparse kernels (issue 14) against today's
// dense-masked path, interleaved in one run; --sparse-curve adds the crossover curve (one kept
// fraction for every layer, sparse forced on) and --sparse-only skips everything else.
// It builds the train step from tf ops directly (matMul, add, relu, softmax cross-entropy,
// variableGrads, and the fused LthAdamUpdate kernel where the backend has it), as core does.
import { spawnSync } from 'node:child_process';
import { register } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { benchArgs } from './args.mjs';

register('./tfjs-esm-hook.mjs', import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const { args, flag, option, json, quick, log } = benchArgs();
const wanted = option('backends', 'cpu,wasm,native').split(',');

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
await import('@tensorflow/tfjs-backend-cpu');
tf.env().set('PROD', true); // as core does: no "install tfjs-node" banner, no debug checks

// ---------------------------------------------------------------------------------------------
// Deterministic data and the LeNet-300-100 step.
function values(size, seed, scale = 1) {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

const LENET = [784, 300, 100, 10];
const BATCH = 60;
const ADAM = { lr: 0.0012, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

/**
 * A LeNet-300-100 trainer on the current backend; `keep` is the fraction of weights kept, one
 * number for every layer or one per layer.
 */
function lenetTrainer(keep) {
  const params = [];
  const masks = [];
  const m = [];
  const v = [];
  let kept = 0;
  let total = 0;
  tf.tidy(() => {
    for (let l = 0; l < LENET.length - 1; l++) {
      const [fanIn, fanOut] = [LENET[l], LENET[l + 1]];
      const k = Array.isArray(keep) ? keep[l] : keep;
      const mask = k < 1 ? Float32Array.from(values(fanIn * fanOut, 90 + l), (x) => (x < 2 * k - 1 ? 1 : 0)) : null;
      kept += mask ? mask.reduce((a, b) => a + b, 0) : fanIn * fanOut;
      total += fanIn * fanOut;
      const w = values(fanIn * fanOut, l + 1, Math.sqrt(6 / (fanIn + fanOut)));
      if (mask) w.forEach((x, i) => { w[i] = x * mask[i]; });
      params.push(tf.variable(tf.tensor2d(w, [fanIn, fanOut])), tf.variable(tf.zeros([fanOut])));
      masks.push(mask ? tf.keep(tf.tensor2d(mask, [fanIn, fanOut])) : null, null);
    }
    for (const p of params) {
      m.push(tf.variable(tf.zerosLike(p), false));
      v.push(tf.variable(tf.zerosLike(p), false));
    }
  });
  const x = tf.tensor2d(values(BATCH * 784, 7, 0.5).map((t) => t + 0.5), [BATCH, 784]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 10), 'int32'), 10));
  const fused = tf.getKernel('LthAdamUpdate', tf.getBackend()) !== undefined;
  const ones = params.map((p) => tf.keep(tf.onesLike(p)));
  let step = 0;
  const run = () => {
    step++;
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        let h = x;
        for (let l = 0; l < params.length; l += 2) {
          h = tf.add(tf.matMul(h, params[l]), params[l + 1]);
          if (l + 2 < params.length) h = tf.relu(h);
        }
        return tf.losses.softmaxCrossEntropy(y, h);
      }, params);
      params.forEach((p, i) => {
        const g = grads[p.name];
        const mask = masks[i];
        if (fused) {
          // Like core: the fused kernel always gets a mask (all ones for a dense layer).
          const inputs = { weight: p, grad: g, m: m[i], v: v[i], mask: mask ?? ones[i] };
          const [w2, m2, v2] = tf.engine().runKernel('LthAdamUpdate', inputs, { ...ADAM, step });
          p.assign(w2); m[i].assign(m2); v[i].assign(v2);
          return;
        }
        // Core's composed Adam (used where the backend has no fused kernel).
        const gm = mask ? tf.mul(g, mask) : g;
        let m2 = tf.add(tf.mul(m[i], ADAM.beta1), tf.mul(gm, 1 - ADAM.beta1));
        let v2 = tf.add(tf.mul(v[i], ADAM.beta2), tf.mul(tf.square(gm), 1 - ADAM.beta2));
        if (mask) { m2 = tf.mul(m2, mask); v2 = tf.mul(v2, mask); }
        const mHat = tf.div(m2, 1 - ADAM.beta1 ** step);
        const vHat = tf.div(v2, 1 - ADAM.beta2 ** step);
        let w2 = tf.sub(p, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM.epsilon)), ADAM.lr));
        if (mask) w2 = tf.mul(w2, mask);
        p.assign(w2); m[i].assign(m2); v[i].assign(v2);
      });
      return value.dataSync()[0]; // the loss is read every step, as a training loop would
    });
  };
  const dispose = () => tf.dispose([...params, ...m, ...v, ...masks.filter(Boolean), ...ones, x, y]);
  return { run, dispose, fused, remaining: kept / total };
}

/**
 * A Conv-2 trainer (Frankle & Carbin: conv3x3-64, conv3x3-64, maxpool 2x2, dense 256, 256, 10)
 * on 32x32x3 inputs at batch 60, Adam with the fused kernel where the backend has it.
 */
function conv2Trainer() {
  const shapes = [[3, 3, 3, 64], [64], [3, 3, 64, 64], [64], [16 * 16 * 64, 256], [256], [256, 256], [256], [256, 10], [10]];
  const params = [];
  const m = [];
  const v = [];
  tf.tidy(() => {
    shapes.forEach((shape, i) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
      params.push(tf.variable(shape.length === 1 ? tf.zeros(shape) : tf.tensor(values(size, 30 + i, Math.sqrt(3 / fanIn)), shape)));
    });
    for (const p of params) {
      m.push(tf.variable(tf.zerosLike(p), false));
      v.push(tf.variable(tf.zerosLike(p), false));
    }
  });
  const x = tf.tensor4d(values(BATCH * 32 * 32 * 3, 8, 0.5).map((t) => t + 0.5), [BATCH, 32, 32, 3]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 10), 'int32'), 10));
  const fused = tf.getKernel('LthAdamUpdate', tf.getBackend()) !== undefined;
  let step = 0;
  const run = () => {
    step++;
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        let h = tf.relu(tf.add(tf.conv2d(x, params[0], 1, 'same'), params[1]));
        h = tf.relu(tf.add(tf.conv2d(h, params[2], 1, 'same'), params[3]));
        h = tf.reshape(tf.maxPool(h, 2, 2, 'valid'), [BATCH, 16 * 16 * 64]);
        h = tf.relu(tf.add(tf.matMul(h, params[4]), params[5]));
        h = tf.relu(tf.add(tf.matMul(h, params[6]), params[7]));
        return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h, params[8]), params[9]));
      }, params);
      params.forEach((p, i) => {
        const g = grads[p.name];
        if (fused) {
          const [w2, m2, v2] = tf.engine().runKernel('LthAdamUpdate', { weight: p, grad: g, m: m[i], v: v[i] }, { ...ADAM, lr: 2e-4, step });
          p.assign(w2); m[i].assign(m2); v[i].assign(v2);
          return;
        }
        const m2 = tf.add(tf.mul(m[i], ADAM.beta1), tf.mul(g, 1 - ADAM.beta1));
        const v2 = tf.add(tf.mul(v[i], ADAM.beta2), tf.mul(tf.square(g), 1 - ADAM.beta2));
        const upd = tf.div(tf.div(m2, 1 - ADAM.beta1 ** step), tf.add(tf.sqrt(tf.div(v2, 1 - ADAM.beta2 ** step)), ADAM.epsilon));
        p.assign(tf.sub(p, tf.mul(upd, 2e-4))); m[i].assign(m2); v[i].assign(v2);
      });
      return value.dataSync()[0];
    });
  };
  const dispose = () => tf.dispose([...params, ...m, ...v, x, y]);
  return { run, dispose, fused };
}

// ---------------------------------------------------------------------------------------------
// Data preparation: what a training iteration spends before the step, through core's own
// BatchStream (built dist of @lth/core and @lth/datasets: run `npx tsc -b tsconfig.build.json`).
const CIFAR_SHAPED_COUNT = 3000;
let dataSources;

/** MNIST (the mnist plugin, 55,000 training images after a 5,000 validation split) and CIFAR-10-shaped data. */
async function loadDataSources() {
  if (dataSources !== undefined) return dataSources;
  const core = await import(join(here, '../../packages/core/dist/index.js'));
  const ds = await import(join(here, '../../packages/datasets/dist/index.js'));
  const t0 = performance.now();
  const mnist = await ds.mnist.load({ normalize: 'unit', splitSeed: 0, validation: 5000 }, { seed: 0, resolvePath: (p) => p });
  const mnistLoadMs = performance.now() - t0;
  // CIFAR-10's layout and normalisation (no download needed): random standardised NHWC pixels.
  const split = { x: values(CIFAR_SHAPED_COUNT * 32 * 32 * 3, 50), y: Int32Array.from({ length: CIFAR_SHAPED_COUNT }, (_, i) => i % 10), count: CIFAR_SHAPED_COUNT };
  const fill = ds.blackLevel('standard');
  const cifar = { name: 'cifar10-shaped', inputShape: [32, 32, 3], numClasses: 10, train: split, validation: split, test: split };
  const cifarAugmented = { ...cifar, augment: (x, count, random) => ds.augmentCifar(x, count, random, fill) };
  dataSources = { core, mnist, mnistLoadMs, cifar, cifarAugmented };
  return dataSources;
}

/** ms per `batchAt` (tensors created, then disposed, as trainLoop does) on the current backend. */
function batchMs(core, dataset, opts) {
  const stream = new core.BatchStream(dataset, dataset.train, BATCH, 1);
  let i = 0;
  return time(() => {
    const b = stream.batchAt(i++);
    tf.dispose([b.x, b.y]);
  }, opts);
}

/** ms per call of `f`: `warmup` calls, then calls until `budgetMs` or `maxCalls`. */
function time(f, { warmup = 3, budgetMs = 3000, maxCalls = 1000, minCalls = 3 } = {}) {
  for (let i = 0; i < warmup; i++) f();
  const samples = [];
  const start = performance.now();
  while (samples.length < minCalls || (performance.now() - start < budgetMs && samples.length < maxCalls)) {
    const t0 = performance.now();
    f();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  // The median is what a run sees; the best shows the machine without other load.
  return { median: samples[Math.floor(samples.length / 2)], best: samples[0], calls: samples.length };
}

/**
 * ms per call of `a` and of `b`, alternating blocks of calls so both see the same machine load
 * (on a shared machine, timing one after the other compares two different loads).
 */
function timePair(a, b, { warmup = 5, budgetMs = 4000, block = 10 } = {}) {
  for (let i = 0; i < warmup; i++) { a(); b(); }
  const samples = [[], []];
  const start = performance.now();
  while (samples[0].length < 3 * block || performance.now() - start < budgetMs) {
    [a, b].forEach((f, k) => {
      for (let i = 0; i < block; i++) {
        const t0 = performance.now();
        f();
        samples[k].push(performance.now() - t0);
      }
    });
  }
  return samples.map((s) => {
    s.sort((x, y) => x - y);
    return { median: s[Math.floor(s.length / 2)], best: s[0], calls: s.length };
  });
}

// LeNet-300-100 at IMP levels 7, 12 and 15 with 20 % of the hidden layers' and 10 % of the output
// layer's remaining weights pruned per level: 21.07 %, 6.95 % and 3.58 % of the weights remain.
const SPARSE_LEVELS = [
  { label: '21%', level: 7 },
  { label: '7%', level: 12 },
  { label: '3.6%', level: 15 },
];
const levelKeep = (level) => [0.8 ** level, 0.8 ** level, 0.9 ** level];
const SPARSE_CURVE = [1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02];

/** The LeNet step dense-masked (sparse kernels off) vs sparse, interleaved, at each `keep`. */
function sparseVsDense(sparse, keeps, maxDensity, defaultMaxDensity, opts) {
  const rows = [];
  for (const keep of keeps) {
    sparse.configure({ enabled: false });
    const dense = lenetTrainer(keep);
    sparse.configure({ enabled: true, maxDensity });
    const sp = lenetTrainer(keep);
    // The toggle is read at each update: run each trainer with its own setting.
    const [d, s] = timePair(
      () => { sparse.configure({ enabled: false }); dense.run(); },
      () => { sparse.configure({ enabled: true, maxDensity }); sp.run(); },
      opts,
    );
    rows.push({
      remaining: round(100 * dense.remaining, 2),
      denseMaskedMsPerStep: round(d.median, 3), denseMaskedBestMsPerStep: round(d.best, 3),
      sparseMsPerStep: round(s.median, 3), sparseBestMsPerStep: round(s.best, 3),
      speedupBest: round(d.best / s.best, 2), speedupMedian: round(d.median / s.median, 2),
      sparseLayers: sparse.usage().filter((u) => u.shape.length === 2 && u.path === 'sparse').length,
    });
    sparse.resetUsage();
    dense.dispose();
    sp.dispose();
  }
  sparse.configure({ enabled: true, maxDensity: defaultMaxDensity });
  return rows;
}

function gemmGflops(m, k, n, opts) {
  const a = tf.tensor2d(values(m * k, 3), [m, k]);
  const b = tf.tensor2d(values(k * n, 4), [k, n]);
  // (Not tf.tidy(() => c.dataSync()): tidy walks a returned typed array element by element.)
  const { best } = time(() => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  }, opts);
  tf.dispose([a, b]);
  return { ms: best, gflops: (2 * m * n * k) / (best * 1e6) };
}

const round = (x, d = 2) => (x === undefined || x === null ? x : Number(x.toFixed(d)));

// ---------------------------------------------------------------------------------------------
const results = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version, OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null,
  },
  lenet300100: {},
  sparse: null,
  conv2: { notes: 'cpu: minutes per step; wasm: no Conv2DBackpropFilter kernel in tfjs 4.22' },
  data: {
    notes: `core BatchStream.batchAt(i) at batch ${BATCH}, tensors disposed; fractions: median batch over median step`,
  },
  gemm: {},
  torch: null,
  ratios: {},
  notes: [],
};

async function useBackend(name) {
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
  } else if (name === 'native') {
    const { registerNativeBackend } = await import(join(here, '../../packages/backend-native/dist/register.js'));
    registerNativeBackend();
  }
  return tf.setBackend(name);
}

const budget = quick ? 1000 : 4000;
for (const name of wanted) {
  let ok = false;
  try {
    ok = await useBackend(name);
  } catch (e) {
    results.notes.push(`${name}: unavailable (${e.message.split('\n')[0]})`);
  }
  if (!ok) continue;
  log(`[bench] ${name}`);
  if (name === 'native') {
    const { loadAddon } = await import(join(here, '../../packages/backend-native/dist/addon.js'));
    const addon = loadAddon().addon;
    results.machine.openblas = addon.blasInfo();
    results.machine.nativeThreads = addon.setThreads();
  }
  const slow = name === 'cpu';
  const opts = { budgetMs: slow ? Math.min(budget, 2000) : budget, warmup: slow ? 1 : 5, maxCalls: slow ? 10 : 2000 };
  if (name === 'native' && !flag('no-sparse')) {
    // Sparse levels (issue 14): the step with LTH_SPARSE_KERNELS on vs off, side by side.
    const sparse = tf.backend().sparse;
    if (sparse) {
      const { DEFAULT_MAX_DENSITY } = await import(join(here, '../../packages/backend-native/dist/sparse.js'));
      const pairOpts = { budgetMs: quick ? 1500 : 5000 };
      log('[bench] native sparse levels');
      const levels = {};
      const rows = sparseVsDense(sparse, SPARSE_LEVELS.map((l) => levelKeep(l.level)), DEFAULT_MAX_DENSITY, DEFAULT_MAX_DENSITY, pairOpts);
      SPARSE_LEVELS.forEach((l, i) => { levels[l.label] = { level: l.level, ...rows[i] }; });
      results.sparse = { maxDensity: DEFAULT_MAX_DENSITY, levels };
      if (flag('sparse-curve')) {
        log('[bench] native sparse crossover curve');
        const curve = sparseVsDense(sparse, SPARSE_CURVE, 1, DEFAULT_MAX_DENSITY, { budgetMs: quick ? 1000 : 3000 });
        results.sparse.curve = curve.map((r, i) => ({ keep: SPARSE_CURVE[i], ...r }));
      }
    }
  }
  if (flag('sparse-only')) continue;
  const entry = {};
  for (const [label, keep] of [['dense', 1], ['masked', 0.2]]) {
    const t = lenetTrainer(keep);
    const r = time(t.run, opts);
    entry[`${label}MsPerStep`] = round(r.median, 3);
    entry[`${label}BestMsPerStep`] = round(r.best, 3);
    entry.fusedAdam = t.fused;
    t.dispose();
  }
  entry.maskedOverDense = round(entry.maskedMsPerStep / entry.denseMsPerStep, 3);
  results.lenet300100[name] = entry;

  // Conv-2: cpu takes minutes per step and wasm has no Conv2DBackpropFilter in tfjs 4.22.
  if (name === 'native' && !flag('no-conv')) {
    const t = conv2Trainer();
    const r = time(t.run, { warmup: 2, budgetMs: quick ? 2000 : 8000, maxCalls: 100 });
    results.conv2.native = { msPerStep: round(r.median, 1), bestMsPerStep: round(r.best, 1), fusedAdam: t.fused };
    t.dispose();
  }

  if (!flag('no-data')) {
    try {
      const { core, mnist, mnistLoadMs, cifar, cifarAugmented } = await loadDataSources();
      const dataOpts = { warmup: 5, budgetMs: quick ? 500 : 2000, maxCalls: 2000 };
      const d = {};
      const rm = batchMs(core, mnist, dataOpts);
      d.mnistMsPerBatch = round(rm.median, 3);
      d.mnistBestMsPerBatch = round(rm.best, 3);
      d.mnistOverLenetStep = round(rm.median / entry.denseMsPerStep, 3);
      const rc = batchMs(core, cifar, dataOpts);
      d.cifarShapedMsPerBatch = round(rc.median, 3);
      const ra = batchMs(core, cifarAugmented, dataOpts);
      d.cifarShapedAugmentedMsPerBatch = round(ra.median, 3);
      d.cifarShapedAugmentedBestMsPerBatch = round(ra.best, 3);
      if (results.conv2[name]) d.cifarAugmentedOverConv2Step = round(ra.median / results.conv2[name].msPerStep, 4);
      results.data[name] = d;
      results.data.mnistLoadMs ??= round(mnistLoadMs, 0);
    } catch (e) {
      results.notes.push(`data preparation not measured (${e.message.split('\n')[0]}); build with npx tsc -b tsconfig.build.json`);
    }
  }

  const g = {};
  g['60x784x300'] = round(gemmGflops(60, 784, 300, opts).gflops, 1);
  if (name === 'native') {
    const { loadAddon } = await import(join(here, '../../packages/backend-native/dist/addon.js'));
    const addon = loadAddon().addon;
    const max = addon.setThreads();
    addon.setThreads(1, 0);
    g['1024^3 1 thread'] = round(gemmGflops(1024, 1024, 1024, opts).gflops, 1);
    addon.setThreads(max, 0);
    g[`1024^3 ${max} threads`] = round(gemmGflops(1024, 1024, 1024, opts).gflops, 1);
    addon.setThreads(0, 64 * 1024 * 1024); // back to the default policy
  } else if (name === 'wasm') {
    g['1024^3'] = round(gemmGflops(1024, 1024, 1024, { ...opts, maxCalls: 5, warmup: 1 }).gflops, 1);
  } else {
    g['1024^3'] = round(gemmGflops(1024, 1024, 1024, { budgetMs: 0, warmup: 0, minCalls: 1 }).gflops, 2);
  }
  results.gemm[name] = g;
}

// ---------------------------------------------------------------------------------------------
// PyTorch reference, where some python3 has torch.
if (!flag('no-torch') && !flag('sparse-only')) {
  for (const py of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (probe.status !== 0) continue;
    log(`[bench] torch (${py})`);
    // PyTorch at its best on this machine (shared/REFERENCE.md): glibc's malloc thresholds raised
    // (default malloc costs it 5-10x on LeNet), and OpenBLAS' own thread count set explicitly,
    // since torch.set_num_threads does not limit Debian's OpenBLAS.
    const torchEnv = (threads) => ({
      ...process.env,
      MALLOC_MMAP_THRESHOLD_: String(32 << 20), // glibc's maximum; larger values are ignored
      MALLOC_TRIM_THRESHOLD_: String(1 << 30),
      MALLOC_TOP_PAD_: String(256 << 20),
      OPENBLAS_NUM_THREADS: String(threads),
    });
    const torchRun = (args, threads) => spawnSync(py, [join(here, 'torch_reference.py'), ...(quick ? ['--quick'] : []), ...args], { encoding: 'utf8', env: torchEnv(threads) });
    const r = torchRun(['--no-conv'], 1);
    if (r.status !== 0) {
      results.notes.push(`torch_reference.py failed: ${r.stderr.split('\n').slice(-3).join(' ')}`);
      break;
    }
    results.torch = JSON.parse(r.stdout);
    if (!flag('no-conv')) {
      const c = torchRun(['--conv-only'], 2);
      if (c.status === 0) {
        const conv = JSON.parse(c.stdout);
        results.torch.conv2 = conv.conv2;
        Object.assign(results.torch.gemm, conv.gemm);
      } else results.notes.push(`torch_reference.py --conv-only failed: ${c.stderr.split('\n').slice(-3).join(' ')}`);
    }
    break;
  }
  if (!results.torch) results.notes.push('PyTorch: no python3 with torch (apt-get install python3-torch), skipped');
}

// Ratios compare best-of-run step times: on a shared machine the medians of two runs taken a
// minute apart see different loads, the best steps do not.
const native = results.lenet300100.native;
const wasm = results.lenet300100.wasm;
results.ratios.basis = 'best step of each run';
if (native && wasm) results.ratios.wasmOverNativeLenet = round(wasm.denseBestMsPerStep / native.denseBestMsPerStep, 1);
if (native && results.torch?.lenet300100) {
  results.ratios.nativeOverTorchLenet = round(native.denseBestMsPerStep / results.torch.lenet300100.denseBestMsPerStep, 2);
  results.ratios.nativeOverTorchLenetMasked = round(native.maskedBestMsPerStep / results.torch.lenet300100.maskedBestMsPerStep, 2);
}
if (native) results.ratios.maskedOverDenseNative = round(native.maskedBestMsPerStep / native.denseBestMsPerStep, 3);
if (results.conv2?.native && results.torch?.conv2) {
  results.ratios.nativeOverTorchConv2 = round(results.conv2.native.bestMsPerStep / results.torch.conv2.bestMsPerStep, 2);
}
const torchLevels = results.torch?.lenet300100?.levels;
if (results.sparse && torchLevels) {
  for (const [label, row] of Object.entries(results.sparse.levels)) {
    if (torchLevels[label]) row.sparseOverTorchMasked = round(row.sparseBestMsPerStep / torchLevels[label].maskedBestMsPerStep, 2);
  }
}
const level = (label) => results.sparse?.levels?.[label];
results.targets = {
  'sparse >= 1.5x dense-masked at 21%': level('21%') ? level('21%').speedupBest >= 1.5 : 'not measured',
  'sparse >= 3x dense-masked at 3.6%': level('3.6%') ? level('3.6%').speedupBest >= 3 : 'not measured',
  'LeNet step <= 1.0x PyTorch': results.ratios.nativeOverTorchLenet === undefined ? 'not measured' : results.ratios.nativeOverTorchLenet <= 1.0,
  'native >= 15x faster than wasm': results.ratios.wasmOverNativeLenet === undefined ? 'not measured' : results.ratios.wasmOverNativeLenet >= 15,
  'masked <= 1.05x dense': native ? results.ratios.maskedOverDenseNative <= 1.05 : 'not measured',
  'Conv-2 step <= 1.0x PyTorch (2 threads)': results.ratios.nativeOverTorchConv2 === undefined ? 'not measured' : results.ratios.nativeOverTorchConv2 <= 1.0,
};

if (json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  console.log(`lth bench ${results.date} on ${results.machine.cpu} (${results.machine.cores} cores), node ${results.machine.node}`);
  console.log('\nLeNet-300-100, Adam, batch 60 (ms/step: median, best in brackets)');
  for (const [name, e] of Object.entries(results.lenet300100)) {
    console.log(`  ${name.padEnd(8)} dense ${String(e.denseMsPerStep).padStart(9)} [${e.denseBestMsPerStep}]  masked ${String(e.maskedMsPerStep).padStart(9)} [${e.maskedBestMsPerStep}]  masked/dense ${e.maskedOverDense}${e.fusedAdam ? '  (fused Adam)' : ''}`);
  }
  if (results.torch?.lenet300100) {
    const t = results.torch.lenet300100;
    console.log(`  ${'torch'.padEnd(8)} dense ${String(t.denseMsPerStep).padStart(9)} [${t.denseBestMsPerStep}]  masked ${String(t.maskedMsPerStep).padStart(9)} [${t.maskedBestMsPerStep}]  (${results.torch.threads} thread, torch ${results.torch.version})`);
  }
  const dataRows = Object.entries(results.data).filter(([, d]) => typeof d === 'object');
  if (dataRows.length) {
    console.log(`\nData preparation, core BatchStream.batchAt at batch ${BATCH} (ms/batch: median, best in brackets; share of the step it feeds)`);
    for (const [name, d] of dataRows) {
      console.log(`  ${name.padEnd(8)} MNIST ${d.mnistMsPerBatch} [${d.mnistBestMsPerBatch}] = ${round(100 * d.mnistOverLenetStep, 1)}% of a LeNet step;` +
        `  CIFAR-10-shaped ${d.cifarShapedMsPerBatch}, with crop+flip ${d.cifarShapedAugmentedMsPerBatch} [${d.cifarShapedAugmentedBestMsPerBatch}]` +
        (d.cifarAugmentedOverConv2Step === undefined ? '' : ` = ${round(100 * d.cifarAugmentedOverConv2Step, 2)}% of a Conv-2 step`));
    }
  }
  if (results.sparse) {
    console.log(`\nLeNet-300-100 at pruned levels, native: sparse kernels vs dense-masked, interleaved (ms/step: median, best in brackets; maxDensity ${results.sparse.maxDensity})`);
    const line = (label, r) => `  ${label.padEnd(12)} dense-masked ${String(r.denseMaskedMsPerStep).padStart(7)} [${r.denseMaskedBestMsPerStep}]  sparse ${String(r.sparseMsPerStep).padStart(7)} [${r.sparseBestMsPerStep}]  ` +
      `speedup ${r.speedupBest}x best, ${r.speedupMedian}x median  (${r.sparseLayers} sparse layers${r.sparseOverTorchMasked ? `; sparse/torch masked ${r.sparseOverTorchMasked}` : ''})`;
    for (const [label, r] of Object.entries(results.sparse.levels)) console.log(line(`${label} (${r.remaining}%)`, r));
    if (results.sparse.curve) {
      console.log('  crossover (every layer at one kept fraction, sparse forced):');
      for (const r of results.sparse.curve) console.log(line(`keep ${r.keep}`, r));
    }
  }
  if (results.conv2?.native) console.log(`\nConv-2, Adam, batch 60: native ${results.conv2.native.msPerStep} [${results.conv2.native.bestMsPerStep}] ms/step${results.torch?.conv2 ? `, torch ${results.torch.conv2.msPerStep} [${results.torch.conv2.bestMsPerStep}] ms/step (${results.torch.conv2.threads} threads)` : ''}`);
  console.log('\nGEMM GFLOP/s (best of the calls)');
  for (const [name, g] of Object.entries(results.gemm)) console.log(`  ${name.padEnd(8)} ${Object.entries(g).map(([k, v]) => `${k}: ${v}`).join('  ')}`);
  if (results.torch?.gemm) console.log(`  ${'torch'.padEnd(8)} ${Object.entries(results.torch.gemm).map(([k, v]) => `${k}: ${v}`).join('  ')}`);
  console.log('\nratios', JSON.stringify(results.ratios));
  console.log('targets', JSON.stringify(results.targets));
  for (const n of results.notes) console.log(`note: ${n}`);
}
