import { dirname, resolve } from 'node:path';
import { expandSweep, runSweep, UserError } from '@lth/core';
import type { AddCommand } from '../context.js';
import { ConsoleReporter, summaryTable } from '../reporter.js';
import { workerRunVariant } from '../workers.js';

/** `lth sweep <sweep>`: every variant of a base config, with controls and replicates; resumes. */
export const addSweepCommand: AddCommand = (program, ctx) => {
  program
    .command('sweep')
    .description('run an ablation study: every variant of a base config, with controls and replicates (resumes)')
    .argument('<sweep>', 'JSON sweep file: a run config plus "vary", "variants" and "controls"')
    .option('--out <dir>', 'parent directory of sweep directories', 'runs')
    .option('--png', 'also render the report charts as PNG')
    .option('--jobs <n>', 'train up to n variants at once, each in a worker process (same results as 1)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UserError(`--jobs ${v}: give a whole number of parallel runs, e.g. --jobs 2`, '--jobs');
      return n;
    }, 1)
    .addOption(ctx.backendOption())
    .action(async (file: string, o: { out: string; backend: string; png?: boolean; jobs: number }) => {
      const raw = ctx.readConfig(file);
      const { registry } = await ctx.discover();
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
        runVariant: o.jobs > 1 ? workerRunVariant(o.backend, progress) : undefined,
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
