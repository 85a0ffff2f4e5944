/**
 * The web demo (examples/web) in a real browser (Debian's chromium through playwright-core): a
 * tiny LeNet run on MNIST is built into the demo (the ticket in the sparse format, the dense
 * network as a TF.js LayersModel, test digits), served on a free loopback port, and opened. Both
 * models classify the test digits as they do in Node (the same files), a digit drawn on the
 * canvas gets a prediction from each, nothing is fetched from outside, and no console errors.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '@lth/core';
import { SparseModel } from '@lth/sparse-runtime';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/bin/lth.js');
const dir = mkdtempSync(join(tmpdir(), 'lth-web-demo-'));
const build = join(dir, 'build');
const env = { ...process.env, CI: '1' };
let server: ChildProcess;
let url: string;
let browser: Browser;

beforeAll(async () => {
  writeFileSync(
    join(dir, 'run.json'),
    JSON.stringify({
      name: 'web',
      dataset: { use: 'mnist', validation: 500, trainSubset: 3000, testSubset: 500 },
      model: { use: 'lenet-300-100' },
      training: { optimizer: { use: 'adam', lr: 0.0012 }, batchSize: 60, iterations: 100, evalEvery: 50 },
      pruning: { schedule: { use: 'iterative', levels: 1, rate: 0.8 } },
    }),
  );
  const run = spawnSync(process.execPath, [bin, 'run', 'run.json', '--out', 'runs'], { cwd: dir, env, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  const runDir = join(dir, 'runs', readdirSync(join(dir, 'runs'))[0]!);
  const built = spawnSync(process.execPath, [join(repo, 'examples/web/build.mjs'), runDir, '--level', '1', '--digits', '40', '--out', build], { cwd: dir, env, encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
  server = spawn(process.execPath, [join(repo, 'examples/web/serve.mjs'), '--dir', build, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((done) => server.stdout!.once('data', (d) => done(String(d).trim())));
  browser = await chromium.launch({ executablePath: process.env.LTH_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

it('classifies the test digits as Node does, and a digit drawn on the canvas, offline', { timeout: 120_000 }, async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  const outside: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    if (!route.request().url().startsWith(url)) {
      outside.push(route.request().url());
      return route.abort();
    }
    return route.continue();
  });
  await page.goto(`${url}?backend=cpu`);
  await page.waitForFunction(() => (window as unknown as { demo?: unknown }).demo !== undefined, undefined, { timeout: 60_000 });
  type Results = Record<'ticket' | 'dense', { predictions: number[]; accuracy: number; stored: number; bytes: number; msPerDigit: number }>;
  const results = (await page.evaluate(() => (window as unknown as { demo: { results: unknown } }).demo.results)) as Results;

  // The same files in Node: the sparse runtime, and TF.js layers on the cpu backend.
  const digits = JSON.parse(readFileSync(join(build, 'digits.json'), 'utf8')) as { count: number; x: number[]; labels: number[]; inputShape: number[] };
  const x = Float32Array.from(digits.x);
  const ticket = SparseModel.read(new Uint8Array(readFileSync(join(build, 'ticket/model.lthsparse'))));
  expect(results.ticket.predictions).toEqual(Array.from(ticket.classify(x, digits.count)));
  await tf.setBackend('cpu');
  const json = JSON.parse(readFileSync(join(build, 'dense/model.json'), 'utf8'));
  const weights = readFileSync(join(build, 'dense', json.weightsManifest[0].paths[0]));
  const dense = await loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) }));
  const denseNode = tf.tidy(() => Array.from((dense.predict(tf.tensor(x, [digits.count, ...digits.inputShape])) as tf.Tensor).argMax(-1).dataSync()));
  expect(results.dense.predictions).toEqual(denseNode);
  // The ticket stores a fifth of the prunable weights (rate 0.8) and its file is smaller.
  expect(results.ticket.stored).toBeLessThan(0.25 * results.dense.stored);
  expect(results.ticket.bytes).toBeLessThan(results.dense.bytes / 4);
  for (const m of [results.ticket, results.dense]) expect(m.accuracy).toBeGreaterThan(0.5);
  expect(await page.locator('#results tbody tr').count()).toBe(2);
  expect(await page.locator('#digits canvas').count()).toBe(40);

  // Draw a vertical stroke: each model shows a digit.
  const pad = (await page.locator('#pad').boundingBox())!;
  await page.mouse.move(pad.x + 140, pad.y + 40);
  await page.mouse.down();
  for (let y = 40; y <= 240; y += 20) await page.mouse.move(pad.x + 140, pad.y + y);
  await page.mouse.up();
  await page.waitForFunction(() => ['ticket', 'dense'].every((m) => /^\d$/.test(document.getElementById(`predict-${m}`)!.textContent!)), undefined, { timeout: 30_000 });

  expect(outside).toEqual([]);
  expect(errors).toEqual([]);

  // The default: the dense network on TF.js's WebAssembly backend, served from the build too.
  const wasm = await browser.newPage();
  wasm.on('pageerror', (e) => errors.push(e.message));
  wasm.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await wasm.goto(url);
  await wasm.waitForFunction(() => (window as unknown as { demo?: unknown }).demo !== undefined, undefined, { timeout: 60_000 });
  const onWasm = (await wasm.evaluate(() => (window as unknown as { demo: { results: unknown } }).demo.results)) as Results;
  expect(await wasm.locator('#row-dense').innerText()).toContain('wasm');
  expect(onWasm.dense.predictions).toEqual(denseNode);
  expect(onWasm.ticket.predictions).toEqual(results.ticket.predictions);
  expect(errors).toEqual([]);
});
