import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import { datasetCache, expandSweep, planSweep, preflightVariants, type PluginRegistry, runSweep, UserError } from '@lth/core';
import type { AddCommand, CliContext } from '../context.js';
import { wholeNumberOption } from '../options.js';
import { SweepQueue, statusLines } from '../queue/sweep.js';
import { checkReachable, shownUrl } from '../queue/redis.js';
import { ConsoleReporter, summaryTable } from '../reporter.js';
import { workerRunVariant } from '../workers.js';

interface SweepOptions {
  out: string;
  backend: string;
  png?: boolean;
  jobs: number;
  queue?: string;
  detach?: boolean;
  status?: boolean;
}

/** `lth sweep <sweep>`: every variant of a base config, with controls and replicates; resumes. */
export const addSweepCommand: AddCommand = (program, ctx) => {
  program
    .command('sweep')
    .description('run an ablation study: every variant of a base config, with controls and replicates (resumes)')
    .argument('<sweep>', 'JSON sweep file: a run config plus "vary", "variants" and "controls"')
    .option('--out <dir>', 'parent directory of sweep directories', 'runs')
    .option('--png', 'also render the report charts as PNG')
    .option('--jobs <n>', 'train up to n variants at once, each in a worker process (same results as 1)', wholeNumberOption('--jobs', 1), 1)
    .option('--queue <redis-url>', 'queue the runs on Redis (redis://host:port[/db]) for `lth worker` processes on any machine sharing --out, and wait')
    .option('--detach', 'with --queue: queue the runs and return at once')
    .option('--status', 'with --queue: show where each run of the sweep stands (queued/active/done/failed, per worker)')
    .addOption(ctx.backendOption())
    .action(async (file: string, o: SweepOptions) => {
      const raw = ctx.readConfig(file);
      if ((o.detach || o.status) && !o.queue) throw new UserError(`${o.detach ? '--detach' : '--status'} needs --queue redis://host:port`, '--queue');
      // A wrong URL fails before plugins load and data is read.
      if (o.queue) await checkReachable(o.queue);
      const { registry } = await ctx.discover();
      if (o.queue) return queued(ctx, raw, registry, file, o);
      const { variants, controls } = expandSweep(raw, registry);
      ctx.io.stderr.write(`lth: sweep of ${variants.length} variant(s) × ${controls.length + 1} (variant + controls)\n`);
      await ctx.selectBackend(registry, o.backend);
      // Lines of concurrent runs start with their variant's label; one process keeps its progress bar.
      const progress = (label: string) => new ConsoleReporter(ctx.io.stderr, false, `[${label}] `);
      const result = await runSweep(raw, registry, {
        outDir: resolve(o.out),
        baseDir: dirname(resolve(file)),
        reporter: ctx.reporter(),
        jobs: o.jobs,
        runVariant: o.jobs > 1 ? workerRunVariant(o.backend, progress, o.jobs, ctx.signal) : undefined,
        signal: ctx.signal,
      });
      ctx.out(`sweep: ${result.sweepDir}`);
      for (const [i, run] of result.manifest.runs.entries()) {
        const rows = result.results.find((r) => r.runDir.endsWith(run.dir))?.summary ?? [];
        ctx.out(`\n[${i + 1}/${result.manifest.runs.length}] ${run.label}${run.control ? ` / ${run.control}` : ''}`);
        ctx.out(summaryTable(rows));
      }
      if (result.complete) {
        const { writeReport } = await import('@lth/report');
        const written = await writeReport(result.sweepDir, { png: o.png });
        for (const w of written.warnings) ctx.io.stderr.write(`lth: ${w}\n`);
        ctx.out(`\nreport: ${written.html}`);
      }
    });
};

/** `--queue`: the runs go to Redis for `lth worker`s; this process queues them, then waits (or not). */
async function queued(ctx: CliContext, raw: unknown, registry: PluginRegistry, file: string, o: SweepOptions): Promise<void> {
  const url = o.queue!;
  const plan = planSweep(raw, registry, resolve(o.out));
  const queue = await SweepQueue.open(url, plan);
  try {
    if (o.status) {
      ctx.out(`sweep: ${plan.sweepDir}`);
      for (const line of statusLines(await queue.status())) ctx.out(line);
      return;
    }
    const baseDir = dirname(resolve(file));
    await preflightVariants(plan.variants, datasetCache(baseDir));
    await queue.enqueue(baseDir, Boolean(o.png));
    ctx.io.stderr.write(`lth: queued ${plan.manifest.runs.length} run(s) of ${plan.sweepDir} on ${shownUrl(url)}; workers: lth worker ${shownUrl(url)}\n`);
    ctx.out(`sweep: ${plan.sweepDir}`);
    if (o.detach) {
      ctx.out(`status: lth sweep ${file} --queue ${shownUrl(url)} --status`);
      return;
    }
    let last = '';
    for (;;) {
      const status = await queue.status();
      const line = statusLines(status)[0]!;
      if (line !== last) ctx.io.stderr.write(`lth: ${line}\n`);
      last = line;
      if (status.report === 'failed') throw new Error(`the report job of ${plan.sweepDir} failed: see the workers' output`);
      if (status.report === 'completed') {
        for (const r of status.runs.filter((r) => r.state === 'failed')) ctx.io.stderr.write(`lth: warning: run "${r.label}" failed: ${r.failed}\n`);
        ctx.out(`report: ${status.reportFile}`);
        return;
      }
      await sleep(1000);
    }
  } finally {
    await queue.close();
  }
}
