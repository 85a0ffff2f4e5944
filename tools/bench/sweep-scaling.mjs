#!/usr/bin/env node
// Sweeps beyond one process, measured with the built CLI (real processes, a real redis-server):
//  1. `lth sweep --jobs 2` vs `--jobs 1` wall time on a sweep of 4 LeNet-300-100 runs on MNIST
//     (distinct dense runs: 4 learning rates; 1 pruning level);
//  2. queue overhead per job with a local Redis and one idle `lth worker`: enqueue → start for
//     the first job, previous job finished → next job started for the others (BullMQ's own
//     timestamps: timestamp, processedOn, finishedOn);
//  3. N workers (default 8) on one Redis: wall time of a sweep of tiny runs, and Redis commands
//     per second per worker, busy and idle (INFO total_commands_processed), to size one Redis.
//
//   node tools/bench/sweep-scaling.mjs [--iterations 300] [--workers 8] [--tiny-runs 16] [--skip-jobs] [--json]
//
// Build first (npm install at the root builds every package); needs redis-server on the PATH.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(root, 'packages/cli/bin/lth.js');
const { flag, option, json, log } = benchArgs();
const iterations = Number(option('iterations', '300'));
const workerCount = Number(option('workers', '8'));
const tinyRuns = Number(option('tiny-runs', '16'));
const dir = mkdtempSync(join(tmpdir(), 'lth-bench-sweep-'));
const env = { ...process.env, CI: '1' };
const results = {};

const lth = (args) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8' });
const seconds = (f) => {
  const start = process.hrtime.bigint();
  const r = f();
  return [Number(process.hrtime.bigint() - start) / 1e9, r];
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. --jobs
if (!flag('skip-jobs')) {
  writeFileSync(join(dir, 'lenet.json'), JSON.stringify({
    name: 'lenet4',
    dataset: { use: 'mnist', validation: 5000 },
    model: { use: 'lenet-300-100' },
    training: { optimizer: { use: 'adam', lr: 0.0012 }, batchSize: 60, iterations, evalEvery: iterations },
    pruning: { schedule: { use: 'iterative', levels: 1, rate: 0.2 } },
    vary: { 'training.optimizer.lr': [0.0010, 0.0012, 0.0014, 0.0016] },
  }));
  const time = {};
  for (const jobs of [1, 2]) {
    log(`sweep of 4 LeNet-300-100 runs (${iterations} iterations × 2 levels) with --jobs ${jobs}...`);
    const [s, r] = seconds(() => lth(['sweep', 'lenet.json', '--out', `jobs-${jobs}`, '--jobs', String(jobs)]));
    if (r.status !== 0) throw new Error(r.stderr);
    time[jobs] = s;
  }
  results.jobs = { seconds1: time[1], seconds2: time[2], ratio: time[2] / time[1], goal: 0.6 };
  log(`--jobs 1: ${time[1].toFixed(1)} s, --jobs 2: ${time[2].toFixed(1)} s, ratio ${(time[2] / time[1]).toFixed(2)} (goal ≤ 0.6)`);
}

// A redis-server of our own.
const port = await new Promise((done) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => done(port));
  });
});
const url = `redis://127.0.0.1:${port}`;
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const cli = (...a) => spawnSync('redis-cli', ['-p', String(port), ...a], { encoding: 'utf8' }).stdout.trim();
while (cli('ping') !== 'PONG') await sleep(50);
const commands = () => Number(/total_commands_processed:(\d+)/.exec(cli('info', 'stats'))[1]);
const workers = [];
const startWorkers = async (n) => {
  for (let i = 0; i < n; i++) workers.push(spawn(process.execPath, [bin, 'worker', url, '--backend', 'cpu'], { cwd: dir, env, stdio: 'ignore' }));
  // Wait until every worker is connected.
  while (!cli('client', 'list').split('\n').filter((l) => l.includes(':w:')).length || new Set(cli('client', 'list').split('\n').map((l) => /:w:(\S+)/.exec(l)?.[1]).filter(Boolean)).size < workers.length) await sleep(100);
};
const stopWorkers = () => {
  for (const w of workers.splice(0)) w.kill('SIGKILL');
};
const tinySweep = (name, runs) => {
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({
    name,
    dataset: { use: 'synthetic', validation: 20, train: 140, test: 40, inputShape: [6], numClasses: 3 },
    model: { use: 'lenet-8-4' },
    training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 10, iterations: 30, evalEvery: 30 },
    pruning: { schedule: { use: 'iterative', levels: 1, rate: 0.5 } },
    vary: { 'training.optimizer.lr': Array.from({ length: runs }, (_, i) => 0.01 + i / 1000) },
  }));
};

try {
  // 2. queue overhead, one idle worker.
  await startWorkers(1);
  tinySweep('overhead', 8);
  log('queue overhead: 8 tiny runs, one worker...');
  const [oneWorker, r] = seconds(() => lth(['sweep', 'overhead.json', '--queue', url, '--backend', 'cpu', '--out', 'queued']));
  if (r.status !== 0) throw new Error(r.stderr);
  const { Queue } = await import('bullmq');
  const queue = new Queue('lth-runs', { connection: { host: '127.0.0.1', port } });
  const jobs = (await queue.getJobs(['completed'])).filter((j) => j.data.kind === 'run').sort((a, b) => a.processedOn - b.processedOn);
  const first = jobs[0].processedOn - jobs[0].timestamp;
  const between = jobs.slice(1).map((j, i) => j.processedOn - jobs[i].finishedOn);
  results.overhead = { oneWorkerSeconds: oneWorker, firstMs: first, betweenMedianMs: median(between), betweenMaxMs: Math.max(...between), goalMs: 100 };
  log(`one worker: ${oneWorker.toFixed(1)} s for 8 runs; enqueue → start (idle worker): ${first} ms; finished → next started: median ${median(between)} ms, max ${Math.max(...between)} ms (goal ≤ 100 ms)`);
  stopWorkers();

  // 3. N workers.
  await startWorkers(workerCount);
  let c0 = commands();
  await sleep(10_000);
  const idle = (commands() - c0) / 10 / workerCount;
  tinySweep('scale', tinyRuns);
  log(`${workerCount} workers, a sweep of ${tinyRuns} tiny runs...`);
  c0 = commands();
  const [wall, s] = seconds(() => lth(['sweep', 'scale.json', '--queue', url, '--backend', 'cpu', '--out', 'queued']));
  if (s.status !== 0) throw new Error(s.stderr);
  const busy = (commands() - c0) / wall / workerCount;
  const cpu = cli('info', 'cpu');
  results.workers = { workers: workerCount, runs: tinyRuns, seconds: wall, commandsPerSecondPerWorkerIdle: idle, commandsPerSecondPerWorkerBusy: busy, redisCpu: cpu.split('\n').filter((l) => l.startsWith('used_cpu_')).join(' ') };
  log(`${workerCount} workers: ${wall.toFixed(1)} s for ${tinyRuns} runs; Redis commands per worker per second: ${idle.toFixed(1)} idle, ${busy.toFixed(1)} busy`);
  await queue.close();
} finally {
  stopWorkers();
  redis.kill();
  rmSync(dir, { recursive: true, force: true });
}
if (json) console.log(JSON.stringify(results, null, 2));
