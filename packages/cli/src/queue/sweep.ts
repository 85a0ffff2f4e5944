import { denseTrainers, type SweepPlan, variantOf, writeSweep } from '@lth/core';
import { FlowProducer, type Job, Queue } from 'bullmq';
import { QUEUE, type ReportJobData, type RunJobData, reportJobId, runJobId, versionsOf } from './jobs.js';
import { checkReachable, redisOptions } from './redis.js';

/** Where one run of a sweep stands in the queue. */
export interface RunStatus {
  label: string;
  id: string;
  state: string;
  /** The worker that took it last (`host:pid`). */
  worker?: string;
  progress?: { replicate: number; level: number; iteration: number; total: number };
  attempts: number;
  failed?: string;
  /** The latest refusal by a worker (other versions, no shared filesystem). */
  refused?: string;
}

export interface SweepStatus {
  runs: RunStatus[];
  /** The report job's state: `completed` once the report is written. */
  report: string;
  reportFile?: string;
  /** Workers connected to the queue now. */
  workers: string[];
}

/** A sweep's queue: enqueue its runs, read their states. */
export class SweepQueue {
  private readonly connection;
  private readonly queue: Queue;

  private constructor(
    url: string,
    private readonly plan: SweepPlan,
  ) {
    this.connection = redisOptions(url);
    this.queue = new Queue(QUEUE, { connection: this.connection });
  }

  /** Connects (failing fast, with the URL, when the server does not answer). */
  static async open(url: string, plan: SweepPlan): Promise<SweepQueue> {
    await checkReachable(url);
    return new SweepQueue(url, plan);
  }

  /**
   * Writes the sweep directory, then queues one job per run (runs that copy a shared dense run
   * wait for the run that trains it) under one report job that runs when they have all finished.
   * Queuing a sweep again is a no-op while its jobs exist; a finished one is queued anew (what
   * is complete on disk is skipped by the runs themselves).
   */
  async enqueue(baseDir: string, png: boolean): Promise<void> {
    const { manifest, sweepDir } = this.plan;
    writeSweep(this.plan);
    const existing = await this.queue.getJob(reportJobId(manifest));
    if (existing) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed') return;
      await existing.remove({ removeChildren: true });
    }
    const trainers = denseTrainers(this.plan);
    const order = [...manifest.runs.keys()].sort((a, b) => Number(trainers[a] !== a) - Number(trainers[b] !== b));
    const children = order.map((i) => {
      const run = manifest.runs[i]!;
      const variant = variantOf(this.plan, run);
      const data: RunJobData = {
        kind: 'run',
        sweepDir,
        label: run.label,
        config: variant.raw,
        hash: variant.resolved.hash,
        versions: versionsOf(variant.resolved),
        baseDir,
        after: trainers[i] !== i ? runJobId(manifest, manifest.runs[trainers[i]!]!) : undefined,
      };
      return {
        name: 'run',
        queueName: QUEUE,
        data,
        opts: { jobId: runJobId(manifest, run), attempts: 3, backoff: { type: 'exponential', delay: 1000 }, ignoreDependencyOnFailure: true },
      };
    });
    const report: ReportJobData = { kind: 'report', sweepDir, png };
    const flow = new FlowProducer({ connection: this.connection });
    try {
      await flow.add({ name: 'report', queueName: QUEUE, data: report, opts: { jobId: reportJobId(manifest), attempts: 3 }, children });
    } finally {
      await flow.close();
    }
  }

  async status(): Promise<SweepStatus> {
    const { manifest } = this.plan;
    const runs: RunStatus[] = [];
    for (const run of manifest.runs) {
      const job: Job | undefined = await this.queue.getJob(runJobId(manifest, run));
      const state = job ? await job.getState() : 'not queued';
      const { logs } = job ? await this.queue.getJobLogs(job.id!, -1, -1) : { logs: [] };
      const progress = job && typeof job.progress === 'object' ? (job.progress as RunStatus['progress']) : undefined;
      runs.push({
        label: run.label,
        id: runJobId(manifest, run),
        state,
        worker: job?.processedBy,
        progress: state === 'active' ? progress : undefined,
        attempts: job?.attemptsMade ?? 0,
        failed: state === 'failed' ? job?.failedReason : undefined,
        refused: logs.at(-1)?.startsWith('refused') ? logs.at(-1) : undefined,
      });
    }
    const reportJob = await this.queue.getJob(reportJobId(manifest));
    const report = reportJob ? await reportJob.getState() : 'not queued';
    // A worker's connections are named `<prefix>:<queue>:w:<host:pid>` (several per worker).
    const names = (await this.queue.getWorkers()).map((w) => String(w.rawname ?? '').split(':w:')[1]).filter(Boolean);
    const workers = [...new Set(names)].sort();
    return { runs, report, reportFile: report === 'completed' ? (reportJob?.returnvalue as { report?: string })?.report : undefined, workers };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** One line per run, and the workers: what `lth sweep --status` prints. */
export function statusLines(s: SweepStatus): string[] {
  const count = (state: string) => s.runs.filter((r) => r.state === state).length;
  const waiting = s.runs.length - count('completed') - count('active') - count('failed');
  const lines = [`runs: ${count('completed')} done, ${count('active')} active, ${waiting} queued, ${count('failed')} failed of ${s.runs.length}; report: ${s.report}`];
  const width = Math.max(...s.runs.map((r) => r.label.length));
  for (const r of s.runs) {
    const at = r.progress ? ` replicate ${r.progress.replicate} level ${r.progress.level} ${r.progress.iteration}/${r.progress.total} it` : '';
    const by = r.worker && r.state !== 'waiting' && r.state !== 'delayed' ? ` on ${r.worker}` : '';
    const notes = [r.attempts > 1 ? `attempt ${r.attempts}` : '', r.failed ? `failed: ${r.failed}` : '', r.refused ?? ''].filter(Boolean).join('; ');
    lines.push(`  ${r.label.padEnd(width)}  ${r.state}${by}${at}${notes ? ` (${notes})` : ''}`);
  }
  lines.push(`workers (${s.workers.length}): ${s.workers.join(', ') || 'none connected'}`);
  return lines;
}
