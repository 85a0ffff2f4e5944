import { dirname, resolve } from 'node:path';
import { resolveConfig, runExperiment, UserError } from '@lth/core';
import type { AddCommand } from '../context.js';
import { BRANCH_JOBS_HELP, wholeNumberOption } from '../options.js';
import { summaryTable } from '../reporter.js';
import { workerBranchTrainer } from '../workers.js';

/** `lth run <config>`: one experiment; rerunning the same config resumes it. */
export const addRunCommand: AddCommand = (program, ctx) => {
  program
    .command('run')
    .description('run a lottery-ticket experiment (resumes an interrupted run with the same config)')
    .argument('<config>', 'JSON config file')
    .option('--out <dir>', 'parent directory of run directories', 'runs')
    .option('--redo-from <level>', 'discard this level and every later one (of every replicate) and recompute them', (v) => {
      const level = Number(v);
      if (!Number.isInteger(level) || level < 0) throw new UserError(`--redo-from ${v}: give a level number, e.g. --redo-from 3`, '--redo-from');
      return level;
    })
    .option('--jobs <n>', BRANCH_JOBS_HELP, wholeNumberOption('--jobs', 1), 1)
    .addOption(ctx.backendOption())
    .action(async (file: string, o: { out: string; backend: string; redoFrom?: number; jobs: number }) => {
      const raw = ctx.readConfig(file);
      const { registry } = await ctx.discover();
      const resolved = resolveConfig(raw, registry);
      await ctx.selectBackend(registry, o.backend);
      const paths = { outDir: resolve(o.out), baseDir: dirname(resolve(file)) };
      const reporter = ctx.reporter();
      const result = await runExperiment(resolved, {
        ...paths,
        reporter,
        redoFrom: o.redoFrom,
        signal: ctx.signal,
        branchTrainer: o.jobs > 1 ? workerBranchTrainer(o.backend, o.jobs, { config: raw as Record<string, unknown>, hash: resolved.hash, ...paths }, reporter, ctx.signal) : undefined,
      });
      ctx.out(summaryTable(result.summary));
    });
};
