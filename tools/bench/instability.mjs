#!/usr/bin/env node
// Instability points of LeNet-300-100 on MNIST (issue: the two copies of a pair in parallel
// processes, goal ≤ 0.6× the time of training them one after the other), measured with the built
// CLI: a run of `--levels` pruned levels is trained once (or --run names a complete one), copied
// twice, and `lth branch <copy> instability` runs on each copy with --jobs 1 and --jobs 2. At each
// level the branch trains the two copies from θ0 ⊙ m (`--iterations` each) and evaluates the path
// at 31 α on 10,000 training + 10,000 test examples; both must give the same curves (checked).
// Reported: the whole command's wall time, and per level the pair's time (the branch's start to
// its second copy's result: the trainings alone, without the process start and the path).
//
//   node tools/bench/instability.mjs [--iterations 1500] [--levels 3] [--run <dir>] [--backend native] [--rounds 1] [--json]
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
const levelCount = Number(option('levels', '3'));
const dir = mkdtempSync(join(tmpdir(), 'lth-bench-instability-'));
const env = { ...process.env, CI: '1' };

const lth = (args, withBackend = true) => {
  const r = spawnSync(process.execPath, [bin, ...args, ...(withBackend ? ['--backend', backend] : [])], { cwd: dir, env, encoding: 'utf8' });
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
    pruning: { schedule: { use: 'iterative', levels: levelCount, rate: 0.5 }, masker: { use: 'layerwise', overrides: { output: 0.25 } }, rewind: { use: 'iteration', at: 0 } },
  }));
  log(`training a LeNet-300-100 run of ${levelCount} pruned levels (${iterations} iterations per level)...`);
  lth(['run', 'lenet.json', '--out', 'runs']);
  runDir = join(dir, 'runs', JSON.parse(lth(['validate', 'lenet.json'], false).stdout).runDir);
}

const levels = Array.from({ length: levelCount }, (_, i) => i + 1);
const times = { 1: [], 2: [] };
const pairs = { 1: [], 2: [] };
let pathSeconds;
for (let round = 0; round < rounds; round++) {
  const curves = {};
  for (const jobs of [1, 2]) {
    const copy = join(dir, `copy-${round}-${jobs}`);
    cpSync(runDir, copy, { recursive: true });
    log(`round ${round + 1}: instability at levels ${levels.join(', ')} with --jobs ${jobs}...`);
    times[jobs].push(seconds(() => lth(['branch', copy, 'instability', '--levels', levels.join(','), '--jobs', String(jobs)])));
    curves[jobs] = [];
    for (const branch of JSON.parse(readFileSync(join(copy, 'branches.json'), 'utf8'))) {
      const at = (file) => statSync(join(copy, `replicate-${branch.replicate}`, `level-${branch.level}`, branch.id, file)).mtimeMs / 1000;
      const copiesDone = Math.max(at('copy-k0-0-s0.json'), at('copy-k0-1-s1.json'));
      pairs[jobs].push(copiesDone - at('provenance.json'));
      if (jobs === 1) pathSeconds = at('curve-k0.json') - copiesDone;
      curves[jobs].push(readFileSync(join(copy, `replicate-${branch.replicate}`, `level-${branch.level}`, branch.id, 'curve-k0.json'), 'utf8'));
    }
  }
  if (curves[1].join() !== curves[2].join()) throw new Error('--jobs 1 and --jobs 2 gave different curves');
}
const best = (xs) => Math.min(...xs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {
  iterations,
  levels: levelCount,
  backend,
  loadAverage: loadavg()[0],
  seconds1: times[1],
  seconds2: times[2],
  ratio: best(times[2]) / best(times[1]),
  pairSeconds1: pairs[1],
  pairSeconds2: pairs[2],
  pairRatio: median(pairs[2]) / median(pairs[1]),
  goal: 0.6,
  pathSeconds,
};
const list = (xs) => xs.map((t) => t.toFixed(1)).join(', ');
log(
  `${levelCount} instability points (2 copies × ${iterations} iterations + a 31-point path each) on ${backend}: whole command --jobs 1 ${list(times[1])} s, ` +
    `--jobs 2 ${list(times[2])} s, ratio ${result.ratio.toFixed(2)}; the pair's trainings per point --jobs 1 ${list(pairs[1])} s, --jobs 2 ${list(pairs[2])} s, ` +
    `median ratio ${result.pairRatio.toFixed(2)} (goal ≤ 0.6); one path ${pathSeconds.toFixed(1)} s; load average ${result.loadAverage.toFixed(1)}`,
);
if (json) console.log(JSON.stringify(result, null, 2));
rmSync(dir, { recursive: true, force: true });
