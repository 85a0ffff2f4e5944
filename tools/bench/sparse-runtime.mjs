#!/usr/bin/env node
// Inference benchmark of @lth/sparse-runtime (issue 12): LeNet-300-100 tickets at 21 %, 7 % and
// 3.6 % of weights remaining (the paper's 20 %/10 % per-level rates: levels 7, 12, 15) against
// the same architecture dense, in one run, interleaved (one call of each variant per round), so
// that load from other processes hits every variant alike. Reports median and best ms per
// forward pass at batch 1 and 60, and file sizes.
//
//   node tools/bench/sparse-runtime.mjs [--json] [--quick] [--backends cpu,wasm] [--curve]
//
// --curve adds the crossover: one kept fraction for every layer (50 % down to 1 %), the sparse
// runtime against each dense baseline's median at batch 1 and 60, interleaved the same way.
//
// Variants: the sparse runtime on each ticket's file (its JS kernel, and its WebAssembly SIMD
// kernel: `sparse-runtime wasm`); the same runtime on the dense net's file
// (stored with the dense layout: plain JS); tfjs dense (matMul, add, relu) on each backend.
// Needs the build (npm run build): it imports @lth/sparse-runtime's dist.
import { register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { benchArgs } from './args.mjs';

register('./tfjs-esm-hook.mjs', import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const { args, flag, option, json, quick, log } = benchArgs();

const { encodeSparseModel, SparseModel } = await import(pathToFileURL(join(here, '../../packages/sparse-runtime/dist/index.js')).href);
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
tf.env().set('PROD', true);

const WIDTHS = [784, 300, 100, 10];
const NAMES = ['dense1', 'dense2', 'output'];
// Levels of the paper's schedule: hidden layers keep 0.8^L, the output layer 0.9^L.
const LEVELS = [
  { label: 'dense', level: 0 },
  { label: '21 %', level: 7 },
  { label: '7 %', level: 12 },
  { label: '3.6 %', level: 15 },
];

function values(size, seed, scale) {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** A mask keeping exactly round(keep × size) entries, spread by a seeded shuffle. */
function mask(size, keep, seed) {
  const order = Uint32Array.from({ length: size }, (_, i) => i);
  let s = (seed * 40503 + 1) >>> 0;
  for (let i = size - 1; i > 0; i--) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const m = new Uint8Array(size);
  for (let i = 0; i < Math.round(keep * size); i++) m[order[i]] = 1;
  return m;
}

const kernels = NAMES.map((_, l) => values(WIDTHS[l] * WIDTHS[l + 1], l + 1, Math.sqrt(2 / (WIDTHS[l] + WIDTHS[l + 1]))));
const biases = NAMES.map((_, l) => values(WIDTHS[l + 1], l + 11, 0.05));
const totalPrunable = kernels.reduce((n, k) => n + k.length, 0);

function ticket(level) {
  let kept = 0;
  const layers = NAMES.map((name, l) => {
    const keep = l === NAMES.length - 1 ? 0.9 ** level : 0.8 ** level;
    const m = mask(kernels[l].length, keep, 100 * level + l);
    const kernel = kernels[l].map((v, i) => (m[i] ? v : 0));
    kept += m.reduce((a, b) => a + b, 0);
    return { name, inputs: WIDTHS[l], units: WIDTHS[l + 1], activation: l === NAMES.length - 1 ? 'linear' : 'relu', kernel, mask: m, bias: biases[l] };
  });
  return { layers, fraction: kept / totalPrunable };
}

const denseFloat32Bytes = (totalPrunable + biases.reduce((n, b) => n + b.length, 0)) * 4;
const inputs = { 1: values(784, 77, 1).map(Math.abs), 60: values(60 * 784, 78, 1).map(Math.abs) };

// Variants: name → (batch) → one forward pass.
const variants = [];
const sizes = [];
for (const { label, level } of LEVELS) {
  const { layers, fraction } = ticket(level);
  const sparseBytes = encodeSparseModel({ inputShape: [784], layers });
  const sparse = SparseModel.read(sparseBytes, { kernel: 'js' });
  const sparseWasm = SparseModel.read(sparseBytes, { kernel: 'wasm' });
  const halfBytes = encodeSparseModel({ inputShape: [784], layers }, { values: 'float16' }).byteLength;
  sizes.push({ level: label, fractionRemaining: fraction, sparseBytes: sparseBytes.byteLength, float16Bytes: halfBytes, denseFloat32Bytes, ratio: denseFloat32Bytes / sparseBytes.byteLength, ratioFloat16: denseFloat32Bytes / halfBytes });
  // Level 0 is stored with the dense layout (CSR would be larger): the runtime's plain-JS dense kernel.
  variants.push({ name: level === 0 ? 'runtime dense (JS, dense layout)' : `sparse-runtime ${label}`, run: (b) => sparse.predict(inputs[b], b) });
  if (level > 0) variants.push({ name: `sparse-runtime wasm ${label}`, run: (b) => sparseWasm.predict(inputs[b], b) });
}

const backends = option('backends', 'cpu,wasm').split(',');
const notes = [];
for (const name of backends) {
  try {
    if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend(name))) throw new Error('setBackend returned false');
    const w = kernels.map((k, l) => tf.tensor2d(k, [WIDTHS[l], WIDTHS[l + 1]]));
    const b = biases.map((v) => tf.tensor1d(v));
    const x = { 1: tf.tensor2d(inputs[1], [1, 784]), 60: tf.tensor2d(inputs[60], [60, 784]) };
    variants.push({
      name: `tfjs ${name} dense`,
      backend: name,
      run: (batch) =>
        tf.tidy(() => {
          let h = x[batch];
          for (let l = 0; l < 3; l++) {
            const z = tf.add(tf.matMul(h, w[l]), b[l]);
            h = l < 2 ? tf.relu(z) : z;
          }
          return h.dataSync();
        }),
    });
  } catch (e) {
    notes.push(`${name}: unavailable (${String(e.message).split('\n')[0]})`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const results = { sizes, timings: [], notes, load: null };
const { loadavg, cpus } = await import('node:os');
results.load = { loadavg1: loadavg()[0], cpus: cpus().length };
for (const batch of [1, 60]) {
  const rounds = quick ? 15 : batch === 1 ? 200 : 40;
  const times = new Map(variants.map((v) => [v.name, []]));
  for (const v of variants) {
    if (v.backend) await tf.setBackend(v.backend);
    for (let i = 0; i < 3; i++) v.run(batch); // warm-up
  }
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      if (v.backend && tf.getBackend() !== v.backend) await tf.setBackend(v.backend);
      const t0 = performance.now();
      v.run(batch);
      times.get(v.name).push(performance.now() - t0);
    }
  }
  for (const v of variants) {
    const t = times.get(v.name);
    results.timings.push({ batch, variant: v.name, medianMs: +median(t).toFixed(4), bestMs: +Math.min(...t).toFixed(4), rounds });
  }
}

// The crossover curve: the same kept fraction in every layer, against the dense baselines.
if (flag('curve')) {
  const fractions = [0.5, 0.35, 0.25, 0.15, 0.1, 0.05, 0.02, 0.01];
  const curve = fractions.map((keep) => {
    const layers = NAMES.map((name, l) => {
      const m = mask(kernels[l].length, keep, 7000 + l);
      return { name, inputs: WIDTHS[l], units: WIDTHS[l + 1], activation: l === NAMES.length - 1 ? 'linear' : 'relu', kernel: kernels[l].map((v, i) => (m[i] ? v : 0)), mask: m, bias: biases[l] };
    });
    const bytes = encodeSparseModel({ inputShape: [784], layers }, { layout: 'csr' });
    return { keep, model: SparseModel.read(bytes, { kernel: 'js' }), wasm: SparseModel.read(bytes, { kernel: 'wasm' }) };
  });
  const baselines = variants.filter((v) => !v.name.startsWith('sparse-runtime'));
  results.curve = [];
  for (const batch of [1, 60]) {
    const rounds = quick ? 10 : batch === 1 ? 100 : 20;
    const times = new Map([...curve.flatMap((c) => [[c.keep, []], [`wasm ${c.keep}`, []]]), ...baselines.map((v) => [v.name, []])]);
    for (let r = 0; r < rounds; r++) {
      for (const c of curve) {
        let t0 = performance.now();
        c.model.predict(inputs[batch], batch);
        times.get(c.keep).push(performance.now() - t0);
        t0 = performance.now();
        c.wasm.predict(inputs[batch], batch);
        times.get(`wasm ${c.keep}`).push(performance.now() - t0);
      }
      for (const v of baselines) {
        if (v.backend && tf.getBackend() !== v.backend) await tf.setBackend(v.backend);
        const t0 = performance.now();
        v.run(batch);
        times.get(v.name).push(performance.now() - t0);
      }
    }
    for (const c of curve) {
      const ms = median(times.get(c.keep));
      const wasmMs = median(times.get(`wasm ${c.keep}`));
      results.curve.push({
        batch,
        keep: c.keep,
        medianMs: +ms.toFixed(4),
        wasmMedianMs: +wasmMs.toFixed(4),
        speedups: Object.fromEntries(baselines.map((v) => [v.name, +(median(times.get(v.name)) / ms).toFixed(2)])),
        wasmSpeedups: Object.fromEntries(baselines.map((v) => [v.name, +(median(times.get(v.name)) / wasmMs).toFixed(2)])),
      });
    }
  }
}

// Speed-ups of the sparse runtime over each dense baseline, from medians.
results.speedups = [];
for (const batch of [1, 60]) {
  const at = (name) => results.timings.find((t) => t.batch === batch && t.variant === name)?.medianMs;
  for (const { label } of LEVELS.slice(1)) {
    for (const kernel of ['sparse-runtime', 'sparse-runtime wasm']) {
      for (const base of variants.filter((v) => !v.name.startsWith('sparse-runtime')).map((v) => v.name)) {
        if (at(base) && at(`${kernel} ${label}`)) results.speedups.push({ batch, level: label, kernel, over: base, speedup: +(at(base) / at(`${kernel} ${label}`)).toFixed(2) });
      }
    }
  }
}

if (json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  log(`load average ${results.load.loadavg1.toFixed(1)} on ${results.load.cpus} cores`);
  log('\nfile sizes (LeNet-300-100, U16 indices; float32 values, float16 values)');
  for (const s of sizes) log(`  ${s.level.padEnd(6)} ${(100 * s.fractionRemaining).toFixed(2).padStart(6)} % kept: ${String(s.sparseBytes).padStart(8)} bytes (${s.ratio.toFixed(1)}x smaller than dense float32, ${s.denseFloat32Bytes} bytes); float16 ${String(s.float16Bytes).padStart(8)} bytes (${s.ratioFloat16.toFixed(1)}x)`);
  for (const batch of [1, 60]) {
    log(`\nbatch ${batch}: ms per forward pass (median, best)`);
    for (const t of results.timings.filter((x) => x.batch === batch)) log(`  ${t.variant.padEnd(34)} ${t.medianMs.toFixed(3).padStart(9)} ${t.bestMs.toFixed(3).padStart(9)}`);
  }
  log('\nspeed-up of the sparse runtime (median over median)');
  for (const s of results.speedups) log(`  batch ${String(s.batch).padStart(2)} ${s.level.padEnd(6)} ${s.kernel.padEnd(19)} over ${s.over.padEnd(34)} ${s.speedup}x`);
  if (results.curve) {
    log('\ncrossover: every layer at one kept fraction (CSR), speed-up over each dense baseline (median over median)');
    for (const c of results.curve) {
      log(`  batch ${String(c.batch).padStart(2)} keep ${(100 * c.keep).toFixed(0).padStart(3)} %: js ${c.medianMs.toFixed(3).padStart(8)} ms  ${Object.entries(c.speedups).map(([k, v]) => `${k} ${v}x`).join(', ')}`);
      log(`  ${' '.repeat(18)}wasm ${c.wasmMedianMs.toFixed(3).padStart(8)} ms  ${Object.entries(c.wasmSpeedups).map(([k, v]) => `${k} ${v}x`).join(', ')}`);
    }
  }
  for (const n of notes) log(`note: ${n}`);
}
