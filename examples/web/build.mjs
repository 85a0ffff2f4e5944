#!/usr/bin/env node
// Builds the web demo (examples/web) from a finished LeNet run on MNIST: exports the ticket in
// the lth sparse format (read by @lth/sparse-runtime) and the dense network (level 0) as a
// TensorFlow.js LayersModel, writes test digits as lth feeds them, and copies what the page
// loads (tf.min.js and its wasm backend, the sparse runtime) beside them: the page then needs no
// network at all.
//
//   node examples/web/build.mjs <runDir> [--level L | --best] [--digits 200] [--out examples/web/build]
//   node examples/web/serve.mjs [--port 8080]     # then open http://127.0.0.1:8080
//
// Build the repository first (npm install at the root builds every package).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const runDir = argv[0] && !argv[0].startsWith('--') ? resolve(argv[0]) : undefined;
const fail = (message) => {
  console.error(`build: ${message}`);
  process.exit(2);
};
if (!runDir || !existsSync(join(runDir, 'config.json'))) fail(`give a run directory (with config.json): node examples/web/build.mjs runs/<run> [--level L]`);
const out = resolve(option('out', join(here, 'build')));
const digits = Number(option('digits', '200'));
if (!Number.isInteger(digits) || digits < 1) fail(`--digits ${option('digits')}: give a whole number ≥ 1`);

const { loadDataset, resolveConfig, RunStore } = await import('@lth/core');
const { discover } = await import('@lth/cli');
const { hash, canonical: _canonical, control: _control, branches: _branches, ...config } = new RunStore(runDir).readConfig();
if (config.dataset?.use !== 'mnist') fail(`${runDir} is a run on ${config.dataset?.use}: the demo classifies MNIST digits`);

const lth = (...args) => {
  const r = spawnSync(process.execPath, [join(root, 'packages/cli/bin/lth.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return r.stdout;
};
rmSync(out, { recursive: true, force: true });
const which = option('level') !== undefined ? ['--level', option('level')] : ['--best'];
console.error(lth('export', runDir, ...which, '--format', 'sparse', '--values', 'float16', '--out', join(out, 'ticket')).trim());
console.error(lth('export', runDir, '--level', '0', '--format', 'tfjs', '--out', join(out, 'dense')).trim());

// The first test digits exactly as lth feeds them, and the affine map from a pixel (0–255) to
// an input value (unit: p/255; standard: (p/255 − mean)/std), for digits drawn on the canvas.
const { registry } = await discover(process.stderr, root);
const resolved = resolveConfig(config, registry);
if (resolved.hash !== hash) fail(`${runDir}: its config resolves to another run here (are the same plugins installed?)`);
const data = await loadDataset(resolved, root);
const size = data.inputShape.reduce((a, b) => a * b, 1);
const n = Math.min(digits, data.test.count);
const x = Array.from(data.test.x.subarray(0, n * size));
let [lo, hi] = [Infinity, -Infinity];
for (const v of data.test.x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
writeFileSync(join(out, 'digits.json'), JSON.stringify({ count: n, size, inputShape: data.inputShape, labels: Array.from(data.test.y.subarray(0, n)), x, pixel: { scale: (hi - lo) / 255, offset: lo } }));

// What the page loads, from the installed packages (no CDN).
const require = createRequire(import.meta.url);
mkdirSync(join(out, 'vendor', 'sparse-runtime'), { recursive: true });
copyFileSync(require.resolve('@tensorflow/tfjs/dist/tf.min.js'), join(out, 'vendor', 'tf.min.js'));
// TF.js's WebAssembly backend: its script and binaries (the page picks SIMD where the browser has it).
const wasm = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js'));
for (const f of readdirSync(wasm).filter((f) => f === 'tf-backend-wasm.min.js' || f.endsWith('.wasm'))) copyFileSync(join(wasm, f), join(out, 'vendor', f));
const runtime = join(dirname(require.resolve('@lth/sparse-runtime/package.json')), 'dist');
for (const f of readdirSync(runtime).filter((f) => f.endsWith('.js'))) copyFileSync(join(runtime, f), join(out, 'vendor', 'sparse-runtime', f));
for (const f of ['index.html', 'demo.js']) copyFileSync(join(here, f), join(out, f));
console.error(`build: ${out} (${n} test digits); serve it: node examples/web/serve.mjs --dir ${out}`);
