/**
 * Distributed sweeps with a real Redis and real processes: `lth sweep --queue` and three
 * `lth worker`s give the same files as `lth sweep --jobs 1`, although workers are killed with
 * SIGKILL at two different points and Redis restarts mid-sweep. Failing runs are not retried,
 * a worker with other versions refuses jobs, and an unreachable Redis is a clear exit 2.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE } from '../src/queue/jobs.js';
import { freePort, RedisServer } from './redis-server.js';
import { snapshot } from './snapshot.js';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/bin/lth.js');
const dir = mkdtempSync(join(tmpdir(), 'lth-queue-'));
const env = { ...process.env, CI: '1' };
let redis: RedisServer;
const started: ChildProcess[] = [];

// Six runs with a control each; two of them diverge (a result too: failed, not retried).
const sweep = {
  name: 'queue',
  dataset: { use: 'synthetic', validation: 20, train: 140, test: 40, inputShape: [6], numClasses: 3 },
  model: { use: 'lenet-8-4' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 10, iterations: 60, evalEvery: 10 },
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 } },
  vary: { 'training.optimizer.lr': [0.01, 0.02, 1e30], 'pruning.masker.use': ['layerwise', 'global'] },
  controls: ['reinit'],
};
writeFileSync(join(dir, 'sweep.json'), JSON.stringify(sweep));

beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  for (const p of started) p.kill('SIGKILL');
  await redis?.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** A process of the built CLI whose stderr is collected in `log`. */
function lth(args: string[]): ChildProcess & { log: string; done: Promise<number | null> } {
  const p = spawn(process.execPath, [bin, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & { log: string; done: Promise<number | null> };
  p.log = '';
  p.stdout!.on('data', (d) => (p.log += d));
  p.stderr!.on('data', (d) => (p.log += d));
  p.done = new Promise((done) => p.once('exit', (code) => done(code)));
  started.push(p);
  return p;
}
const worker = () => lth(['worker', redis.url, '--backend', 'cpu', '--lease', '3']);

/** Waits until one of `procs` prints a line matching `pattern` after `since[i]` characters of its log. */
async function whenLogged(procs: ReturnType<typeof lth>[], pattern: RegExp, timeoutMs = 120_000) {
  const since = procs.map((p) => p.log.length);
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(50)) {
    const i = procs.findIndex((p, j) => p.exitCode === null && pattern.test(p.log.slice(since[j])));
    if (i >= 0) return procs[i]!;
  }
  throw new Error(`nothing printed ${pattern} within ${timeoutMs / 1000} s:\n${procs.map((p) => p.log).join('\n---\n')}`);
}

describe('lth sweep --queue with lth worker', () => {
  it('completes through two SIGKILLed workers and a Redis restart, with the files of --jobs 1', { timeout: 300_000 }, async () => {
    const local = spawnSync(process.execPath, [bin, 'sweep', 'sweep.json', '--backend', 'cpu', '--out', 'local'], { cwd: dir, env, encoding: 'utf8' });
    expect(local.status, local.stderr).toBe(0);

    const waiting = lth(['sweep', 'sweep.json', '--queue', redis.url, '--backend', 'cpu', '--out', 'queued']);
    const workers = [worker(), worker(), worker()];
    // First kill: a worker that has finished a level of its run (it resumes at the next level).
    const first = await whenLogged(workers, /replicate 0 level 1 done/);
    first.kill('SIGKILL');
    workers.push(worker());
    // Second kill: a worker that has just taken a run, before any level of it is done.
    const second = await whenLogged(workers, /training queue-/);
    second.kill('SIGKILL');
    workers.push(worker());
    // Redis goes away and comes back (append-only file): workers and the waiting sweep reconnect.
    await redis.stop();
    await sleep(500);
    await redis.restart();

    expect(await waiting.done, waiting.log).toBe(0);
    expect(waiting.log).toMatch(/report: .*report\.html/);
    const [name] = readdirSync(join(dir, 'local'));
    expect(readdirSync(join(dir, 'queued'))).toEqual([name]);
    expect(snapshot(join(dir, 'queued'))).toEqual(snapshot(join(dir, 'local')));
    // No lock or temporary file survives; the diverged runs failed once each (not retried).
    expect(Object.keys(snapshot(join(dir, 'queued'))).filter((f) => /\.lock|\.tmp/.test(f))).toEqual([]);
    const logs = workers.map((w) => w.log).join('\n');
    expect(logs).not.toMatch(/lost the lease/);
    expect(logs.match(/failed queue-\S+ \(optimizer\.lr=1e\+30/g)).toHaveLength(2);
    expect(existsSync(join(dir, 'queued', name!, 'report.html'))).toBe(true);

    const status = spawnSync(process.execPath, [bin, 'sweep', 'sweep.json', '--queue', redis.url, '--out', 'queued', '--status'], { cwd: dir, env, encoding: 'utf8' });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/runs: 4 done, 0 active, 0 queued, 2 failed of 6; report: completed/);
    expect(status.stdout).toMatch(/optimizer\.lr=1e\+30, masker\.use=global +failed on \S+ \(failed: training diverged/);
    for (const w of workers) w.kill('SIGKILL');
  });

  it('a worker with other lth or plugin versions than the sweep refuses its jobs, and --status says why', { timeout: 120_000 }, async () => {
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ ...sweep, name: 'other', vary: { 'training.optimizer.lr': [0.05] } }));
    const queued = spawnSync(process.execPath, [bin, 'sweep', 'other.json', '--queue', redis.url, '--out', 'queued', '--detach'], { cwd: dir, env, encoding: 'utf8' });
    expect(queued.status, queued.stderr).toBe(0);
    // As if queued by another installation: its core version differs from the worker's.
    const queue = new Queue(QUEUE, { connection: { host: '127.0.0.1', port: redis.port } });
    const [job] = (await queue.getJobs(['waiting'])).filter((j) => j.data.kind === 'run' && String(j.id).startsWith('other-'));
    await job!.updateData({ ...job!.data, versions: { ...job!.data.versions, '@lth/core': '0.0.1' } });
    await queue.close();
    const w = worker();
    await whenLogged([w], /refused other-/);
    expect(w.log).toMatch(/other lth or plugin versions than the sweep's: @lth\/core 0\.0\.1 in the sweep, \d+\.\d+\.\d+ here/);
    const status = spawnSync(process.execPath, [bin, 'sweep', 'other.json', '--queue', redis.url, '--out', 'queued', '--status'], { cwd: dir, env, encoding: 'utf8' });
    expect(status.stdout).toMatch(/lr=0\.05 +(delayed|waiting).*refused by .*@lth\/core 0\.0\.1 in the sweep/);
    w.kill('SIGKILL');
  });

  it('an unreachable Redis is exit 2 with the URL, for the sweep and for a worker', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    for (const args of [['sweep', 'sweep.json', '--queue', url], ['worker', url]]) {
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`cannot reach Redis at ${url}`);
      expect(r.stderr).toMatch(/ECONNREFUSED/);
    }
    const bad = spawnSync(process.execPath, [bin, 'sweep', 'sweep.json', '--queue', 'http://localhost'], { cwd: dir, env, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/must start with redis:\/\//);
  });
});
