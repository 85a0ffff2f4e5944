#!/usr/bin/env node
// Cost of the analysis branches of @lth/analysis-landscape on one backend: a loss-landscape point
// (θT + αδ + βη evaluated on N examples, as the `landscape` branch does for every grid point) and
// an exact Hessian-vector product of the training loss (as `sharpness` does for every power
// iteration and trace sample), for LeNet-300-100 and Conv-2 on MNIST/CIFAR-shaped random data
// (the cost does not depend on the values). Prints seconds per point and per product, and what a
// whole grid and a whole power iteration would take.
//
//   node tools/bench/landscape.mjs [--backend auto|cpu|wasm|native] [--examples 2000] [--points 5]
//                                  [--products 3] [--grid 31] [--eval-examples 10000] [--chunk 1000]
//                                  [--no-conv] [--full-grid] [--json]
//
// --full-grid: also run LeNet-300-100's whole grid (grid² points on --eval-examples train + test
// random examples) instead of only extrapolating from --points.
//
// --chunk: examples per forward pass (EvalSet's chunk; the branches use its default, 1000).
// Besides wall time it reports the process's CPU time per point (user + system, all threads): on a
// machine shared with other jobs the wall time is inflated by waiting for a core, the CPU time much
// less, so CPU time / cores is a lower bound of what an idle machine would take.
//
// Build first (npm install at the root builds every package). Keep it short on a shared machine:
// the defaults time a few points and products and extrapolate linearly (a grid point's cost is
// linear in the examples; a grid is grid² points, the 1D line `steps` more).
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { args, option, json, log } = benchArgs();

const { loadPlugins, selectBackend, EvalSet, PlaneEvaluator, tf } = await import('@lth/core');
const { lenetSpec, convSpec } = await import('@lth/models');
const { landscapeDirection, modelHvp } = await import('@lth/analysis-landscape');

const { registry } = await loadPlugins({ project: root, firstParty: { from: root, names: ['@lth/backend-native'] } });
const backend = (await selectBackend(registry, option('backend', 'auto'))).name;
const examples = Number(option('examples', '2000'));
const pointsToTime = Number(option('points', '5'));
const productsToTime = Number(option('products', '3'));
const grid = Number(option('grid', '31'));
const evalExamples = Number(option('eval-examples', '10000'));
const chunk = Number(option('chunk', '1000'));

/** A dataset of `count` random examples of `inputShape` (all splits the same). */
function randomDataset(inputShape, count) {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: count * size }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const y = Int32Array.from({ length: count }, (_, i) => i % 10);
  const split = { x, y, count };
  return { name: 'random', inputShape, numClasses: 10, train: split, validation: split, test: split };
}

function time(f) {
  const start = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Wall and CPU seconds (user + system, every thread of the process) of `f`. */
function timeBoth(f) {
  const cpu = process.cpuUsage();
  const wall = time(f);
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1e6 };
}

/** The whole grid, as the branch computes it: grid² points on evalExamples train + test examples. */
function fullGrid(model, final, dirs, dataset) {
  const big = randomDataset(dataset.inputShape, evalExamples);
  const sets = [new EvalSet(big, big.train, evalExamples, chunk), new EvalSet(big, big.test, evalExamples, chunk)];
  const axis = Array.from({ length: grid }, (_, i) => -1 + (2 * i) / (grid - 1));
  const timed = timeBoth(() => {
    const planes = sets.map((s) => new PlaneEvaluator(model, final, dirs, s));
    for (const b of axis) for (const a of axis) for (const p of planes) p.at([a, b]);
    for (const p of planes) p.dispose();
  });
  for (const s of sets) s.dispose();
  return timed;
}

function bench(name, model, inputShape) {
  const dataset = randomDataset(inputShape, examples);
  const final = model.init(1);
  const masks = {};
  const dirs = [0, 1].map((i) => {
    const d = landscapeDirection(model, final, masks, 100 + i, false);
    return Object.fromEntries(Object.entries(d).map(([n, t]) => [n, tf.tensor(t.data, t.shape, 'float32')]));
  });
  const set = new EvalSet(dataset, dataset.train, examples, chunk);
  // What the branch does: core's PlaneEvaluator (for a model with a firstLayer, the first layer's
  // products are taken once, in the constructor; each point then costs the rest of the network).
  let plane;
  const setup = timeBoth(() => { plane = new PlaneEvaluator(model, final, dirs, set); });
  const point = (alpha, beta) => plane.at([alpha, beta]);
  point(0.1, 0.1); // warm-up (kernels, allocations)
  const timed = timeBoth(() => { for (let i = 0; i < pointsToTime; i++) point(i / pointsToTime, -i / pointsToTime); });
  const perPoint = timed.wall / pointsToTime;
  const cpuPerPoint = timed.cpu / pointsToTime;
  const perExample = perPoint / examples;
  const gridExamples = grid * grid * 2 * evalExamples;
  // The products, once per evaluation set (train and test), scale with the examples too.
  const setupSeconds = (2 * setup.wall * evalExamples) / examples;
  const setupCpuSeconds = (2 * setup.cpu * evalExamples) / examples;
  const full = args.includes('--full-grid') && name.startsWith('lenet') ? fullGrid(model, final, dirs, dataset) : undefined;
  const names = model.prunable;
  const { hvp, exact } = modelHvp(model, final, names, { chunks: set.chunks, count: set.count });
  const v = tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.randomNormal(model.shapes[n], 0, 1, 'float32', 7)])));
  tf.dispose(Object.values(hvp(v)));
  const perProduct = time(() => { for (let i = 0; i < productsToTime; i++) tf.dispose(Object.values(hvp(v))); }) / productsToTime;
  tf.dispose([...Object.values(v), ...Object.values(final), ...dirs.flatMap((d) => Object.values(d))]);
  plane.dispose();
  set.dispose();
  const result = {
    model: name,
    backend,
    examples,
    chunk,
    loadAverage: loadavg()[0],
    secondsPerPoint: perPoint,
    cpuSecondsPerPoint: cpuPerPoint,
    microsecondsPerExampleForward: 1e6 * perExample,
    shortcut: plane.shortcut || undefined,
    setupSeconds,
    gridSeconds: setupSeconds + perExample * gridExamples,
    gridCpuSeconds: setupCpuSeconds + (cpuPerPoint / examples) * gridExamples,
    fullGrid: full,
    hessianVectorProduct: exact ? 'exact' : 'finite-difference',
    secondsPerProduct: perProduct,
    powerIteration20Seconds: 20 * perProduct,
  };
  log(
    `${name} on ${backend}: ${perPoint.toFixed(3)} s per landscape point on ${examples} examples in chunks of ${chunk} (${result.microsecondsPerExampleForward.toFixed(1)} µs per example; ` +
      `${cpuPerPoint.toFixed(3)} s of CPU; load average ${result.loadAverage.toFixed(1)}); ` +
      `a ${grid} × ${grid} grid on ${evalExamples} train + ${evalExamples} test examples ≈ ${result.gridSeconds.toFixed(0)} s (${result.gridCpuSeconds.toFixed(0)} CPU s)` +
      `${plane.shortcut ? ', first layer taken once' : ''}${full ? `; measured whole grid: ${full.wall.toFixed(1)} s (${full.cpu.toFixed(1)} CPU s)` : ''}; ` +
      `${exact ? 'exact' : 'finite-difference'} Hessian-vector product on ${examples} examples ${perProduct.toFixed(2)} s (20 power iterations ≈ ${result.powerIteration20Seconds.toFixed(0)} s)`,
  );
  return result;
}

const results = [bench('lenet-300-100', lenetSpec({ hidden: [300, 100] }, { inputShape: [784], numClasses: 10 }), [784])];
if (!args.includes('--no-conv')) results.push(bench('conv-2', convSpec({ depth: 2 }, { inputShape: [32, 32, 3], numClasses: 10 }), [32, 32, 3]));
if (json) console.log(JSON.stringify(results, null, 2));
