#!/usr/bin/env node
// One instability point of LeNet-300-100 on MNIST (issue: the two copies of a pair in parallel
// processes, goal ≤ 0.6× the time of training them one after the other), measured with the built
// CLI: a one-level run is trained once (or --run names a complete one), copied twice, and
// `lth branch <copy> instability --levels 1` runs on each copy with --jobs 1 and --jobs 2. The
// branch trains the two copies from θ0 ⊙ m (`--iterations` each) and evaluates the path at 31 α
// on 10,000 training + 10,000 test examples; both runs must give the same curve (checked).
//
//   node tools/bench/instability.mjs [--iterations 1500] [--run <dir>] [--backend native] [--rounds 1] [--json]
//
// Build first (npm install at the root builds every package). Needs a quiet machine: a second
// job on the cores makes --jobs 2 wait for them.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(root, 'packages/cli/bin/lth.js');
const { option, json, log } = benchArgs();
const iterations = Number(option('iterations', '1500'));
const backend = option('backend', 'native');
const rounds = Number(option('rounds', '1'));
const dir = mkdtempSync(join(tmpdir(), 'lth-bench-instability-'));
const env = { ...process.env, CI: '1' };

const lth = (args) => {
  const r = spawnSync(process.execPath, [bin, ...args, '--backend', backend], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lth ${args.join(' ')} failed:\n${r.stderr}`);
  return r;
};
const seconds = (f) => {
  const start = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

let runDir = option('run', '');
if (!runDir) {
  writeFileSync(join(dir, 'lenet.json'), JSON.stringify({
    name: 'instability-bench',
    dataset: { use: 'mnist', validation: 5000 },
    model: { use: 'lenet-300-100' },
    training: { optimizer: { use: 'adam', lr: 0.0012 }, batchSize: 60, iterations, evalEvery: iterations },
    pruning: { schedule: { use: 'iterative', levels: 1, rate: 0.5 }, masker: { use: 'layerwise', overrides: { output: 0.25 } }, rewind: { use: 'iteration', at: 0 } },
  }));
  log(`training a one-level LeNet-300-100 run (${iterations} iterations per level)...`);
  lth(['run', 'lenet.json', '--out', 'runs']);
  runDir = join(dir, 'runs', JSON.parse(lth(['validate', 'lenet.json']).stdout).runDir);
}

const times = { 1: [], 2: [] };
const curves = {};
for (let round = 0; round < rounds; round++) {
  for (const jobs of [1, 2]) {
    const copy = join(dir, `copy-${round}-${jobs}`);
    cpSync(runDir, copy, { recursive: true });
    log(`round ${round + 1}: instability at level 1 with --jobs ${jobs}...`);
    times[jobs].push(seconds(() => lth(['branch', copy, 'instability', '--levels', '1', '--jobs', String(jobs)])));
    const branch = JSON.parse(readFileSync(join(copy, 'branches.json'), 'utf8'))[0];
    const curveFile = join(copy, 'replicate-0', 'level-1', branch.id, 'curve-k0.json');
    curves[jobs] = readFileSync(curveFile, 'utf8');
    // The path's share of the time: from the second copy's result to the curve's last write.
    const copies = [0, 1].map((i) => statSync(join(copy, 'replicate-0', 'level-1', branch.id, `copy-k0-${i}-s${i}.json`)).mtimeMs);
    times[`path${jobs}`] = (statSync(curveFile).mtimeMs - Math.max(...copies)) / 1000;
  }
  if (curves[1] !== curves[2]) throw new Error('--jobs 1 and --jobs 2 gave different curves');
}
const best = (xs) => Math.min(...xs);
const result = {
  iterations,
  backend,
  loadAverage: loadavg()[0],
  seconds1: times[1],
  seconds2: times[2],
  ratio: best(times[2]) / best(times[1]),
  goal: 0.6,
  pathSeconds: { jobs1: times.path1, jobs2: times.path2 },
};
log(
  `one instability point (2 copies × ${iterations} iterations + 31-point path) on ${backend}: --jobs 1 ${times[1].map((t) => t.toFixed(1)).join(', ')} s, ` +
    `--jobs 2 ${times[2].map((t) => t.toFixed(1)).join(', ')} s, ratio ${result.ratio.toFixed(2)} (goal ≤ 0.6); the path alone ${times.path1.toFixed(1)} s; load average ${result.loadAverage.toFixed(1)}`,
);
if (json) console.log(JSON.stringify(result, null, 2));
rmSync(dir, { recursive: true, force: true });
