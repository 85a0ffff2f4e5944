import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type PluginRegistry, readJson, resolveConfig, type RunEvent, type SweepManifest, UserError, writeJsonAtomic } from '@lth/core';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { WorkerPool } from '../workers.js';
import { QUEUE, type ReportJobData, type RunJobData, runJobId, versionDifferences, versionsOf } from './jobs.js';
import { checkReachable, redisOptions, shownUrl } from './redis.js';

export interface WorkerOptions {
  url: string;
  /** Runs trained at once, each in a child process of its own. */
  concurrency: number;
  /**
   * Seconds a job's lock and its run's lease last without renewal: a worker that dies is found
   * out this long after (its job is retried elsewhere, resuming at its first incomplete level).
   */
  leaseSeconds: number;
  backend: string;
  registry: PluginRegistry;
  log(line: string): void;
}

export interface RunningWorker {
  name: string;
  /** Stops taking jobs; `force` also kills the runs in progress (their jobs are retried elsewhere). */
  close(force: boolean): Promise<void>;
}

/** Moves a job back to wait `ms`, so that this or another worker takes it up later. */
async function later(job: Job, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, token);
  throw new DelayedError();
}

/**
 * `lth worker`: takes run jobs of any sweep from the queue and trains each in a child process
 * (training blocks its event loop; this one stays free to renew the job's lock, so stalled-job
 * detection stays truthful). The last job of a sweep writes its report.
 */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  await checkReachable(o.url);
  const connection = redisOptions(o.url);
  const name = `${hostname()}:${process.pid}`;
  const leaseMs = o.leaseSeconds * 1000;
  const queue = new Queue(QUEUE, { connection });
  const abort = new AbortController();
  const pool = new WorkerPool(o.backend, { signal: abort.signal, concurrency: o.concurrency });

  const refuse = async (job: Job, token: string | undefined, reason: string): Promise<never> => {
    o.log(`refused ${job.id} (${job.data.label}): ${reason}`);
    await job.log(`refused by ${name}: ${reason}`);
    return later(job, token, Math.max(1000, leaseMs / 4));
  };

  const train = async (job: Job<RunJobData>, token?: string) => {
    const data = job.data;
    if (!existsSync(join(data.sweepDir, 'sweep.json'))) {
      return refuse(job, token, `the sweep directory ${data.sweepDir} is not on this machine: workers need the run store on a filesystem they all share, at the same path`);
    }
    let resolved;
    try {
      resolved = resolveConfig(data.config, o.registry);
    } catch (error) {
      return refuse(job, token, `its config does not resolve with this worker's plugins: ${(error as Error).message}`);
    }
    const differences = versionDifferences(data.versions, versionsOf(resolved));
    if (differences.length) return refuse(job, token, `other lth or plugin versions than the sweep's: ${differences.join('; ')}; install the sweep's versions on this worker`);
    if (resolved.hash !== data.hash) return refuse(job, token, `its config resolves to another run here (${resolved.hash.slice(0, 12)}, not ${data.hash.slice(0, 12)})`);
    if (data.after) {
      // The run that trains the shared dense level: wait for it to finish (or fail: then train our own).
      const state = await queue.getJobState(data.after);
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return later(job, token, 1000);
    }

    o.log(`training ${job.id} (${data.label})`);
    let reported = 0;
    const onEvent = (e: RunEvent) => {
      if (e.type === 'progress' && Date.now() - reported > 1000) {
        reported = Date.now();
        void job.updateProgress({ replicate: e.replicate, level: e.level, iteration: e.iteration, total: e.total }).catch(() => {});
      } else if (e.type === 'level-end') {
        o.log(`${job.id}: replicate ${e.replicate} level ${e.level} done`);
      }
    };
    try {
      const result = await pool.run(
        { label: data.label, set: {}, raw: data.config, resolved },
        { outDir: join(data.sweepDir, 'runs'), baseDir: data.baseDir, denseCache: join(data.sweepDir, 'dense'), leaseMs },
        { onEvent },
      );
      o.log(`finished ${job.id} (${data.label})`);
      return { runDir: result.runDir, complete: result.complete };
    } catch (error) {
      const e = error as Error;
      // Held by another process (an earlier worker's run still finishing, or its lease not yet expired).
      if (e.name === 'RunLockedError') return later(job, token, Math.max(1000, leaseMs / 2));
      o.log(`failed ${job.id} (${data.label}): ${e.message}`);
      // Reasons that do not go away: not retried.
      if (e instanceof UserError || e.name === 'DivergedError') throw new UnrecoverableError(e.message);
      throw e;
    }
  };

  const finish = async (job: Job<ReportJobData>) => {
    const file = join(job.data.sweepDir, 'sweep.json');
    const manifest = readJson<SweepManifest>(file);
    // Keyed by each child's Redis key, which ends with its job id.
    const failures = new Map(Object.entries(await job.getIgnoredChildrenFailures()).map(([key, reason]) => [key.split(':').pop()!, reason]));
    for (const run of manifest.runs) {
      const reason = failures.get(runJobId(manifest, run));
      if (reason) run.failed = reason;
      else delete run.failed;
    }
    writeJsonAtomic(file, manifest);
    const { writeReport } = await import('@lth/report');
    const written = await writeReport(job.data.sweepDir, { png: job.data.png });
    o.log(`report of ${job.data.sweepDir}: ${written.html}`);
    return { report: written.html, failed: failures.size };
  };

  const worker = new Worker(QUEUE, async (job: Job, token?: string) => (job.data.kind === 'report' ? finish(job) : train(job, token)), {
    connection,
    concurrency: o.concurrency,
    name,
    lockDuration: leaseMs,
    stalledInterval: leaseMs,
    // A job whose worker was killed is retried by another (it resumes); past this many, it fails.
    maxStalledCount: 5,
  });
  worker.on('error', (error) => o.log(`queue: ${error.message}`));
  o.log(`worker ${name} on ${shownUrl(o.url)} (queue ${QUEUE}, concurrency ${o.concurrency}, lease ${o.leaseSeconds} s)`);
  return {
    name,
    async close(force) {
      if (force) abort.abort();
      await worker.close(force);
      pool.close();
      await queue.close();
    },
  };
}
