import { basename, dirname, resolve } from 'node:path';
import { type Config, resolveConfig, RunStore, runExperiment, UserError } from '@lth/core';
import type { AddCommand, CliContext } from '../context.js';
import { BRANCH_JOBS_HELP, wholeNumberOption } from '../options.js';
import { workerBranchTrainer } from '../workers.js';

/** `key=value` → [key, value], the value parsed as JSON where it is JSON (numbers, arrays, true). */
function parseSet(pair: string): [string, unknown] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new UserError(`--set ${pair}: write key=value, e.g. --set steps=21`, '--set');
  const value = pair.slice(eq + 1);
  try {
    return [pair.slice(0, eq), JSON.parse(value)];
  } catch {
    return [pair.slice(0, eq), value];
  }
}

/** `3,7` → [3, 7]. */
export function parseLevels(list: string): number[] {
  const levels = list.split(',').map((s) => Number(s.trim()));
  if (levels.some((l) => !Number.isInteger(l) || l < 0)) throw new UserError(`--levels ${list}: write level numbers separated by commas, e.g. --levels 3,7`, '--levels');
  return levels;
}

/**
 * Runs one branch (a config entry: `use`, options, optional `levels`) on the complete levels of
 * the run in `dir`, and prints its result rows. Shared by `lth branch` and its aliases.
 */
export async function runBranchOn(ctx: CliContext, dir: string, entry: { use: string } & Record<string, unknown>, backend: string, jobs = 1): Promise<void> {
  const runDir = resolve(dir);
  const store = new RunStore(runDir);
  if (!store.hasConfig()) throw new UserError(`${dir} is not a run directory (it has no config.json)`, '<runDir>');
  const { hash, canonical: _canonical, control: _control, branches: _branches, ...config } = store.readConfig<Config & { hash?: string; canonical?: unknown; control?: unknown }>();
  const { registry } = await ctx.discover();
  const raw = { ...config, branches: [entry] };
  const resolved = resolveConfig(raw, registry);
  if (hash && resolved.hash !== hash) {
    throw new UserError(`${dir}/config.json resolves to another run with the installed plugins (hash ${resolved.hash.slice(0, 12)}, not ${hash.slice(0, 12)})`, '<runDir>');
  }
  await ctx.selectBackend(registry, backend);
  const reporter = ctx.reporter();
  const result = await runExperiment(resolved, {
    outDir: dirname(runDir),
    runDir,
    baseDir: runDir,
    branches: resolved.branches,
    trainLevels: false,
    reporter,
    signal: ctx.signal,
    branchTrainer: jobs > 1 ? workerBranchTrainer(backend, jobs, { config: raw, hash: resolved.hash, outDir: dirname(runDir), baseDir: runDir }, reporter, ctx.signal) : undefined,
  });
  const rows = new RunStore(runDir).branchRows().filter((r) => r.branch === resolved.branches[0].plugin.meta.name);
  for (const r of rows) ctx.out(`replicate ${r.replicate} level ${r.level} ${r.id}: ${JSON.stringify(r.result)}`);
  if (!result.complete) ctx.io.stderr.write(`lth: ${basename(runDir)} has incomplete levels; the branch ran on the complete ones (run the config to finish it)\n`);
  ctx.out(`results: ${runDir}/branches.csv`);
}

/** `lth branch <runDir> <name>`: runs one branch on the complete levels of an existing run. */
export const addBranchCommand: AddCommand = (program, ctx) => {
  program
    .command('branch')
    .description('run a branch (a control, an analysis, an export) on the completed levels of an existing run (resumes)')
    .argument('<runDir>', 'a run directory (with config.json)')
    .argument('<name>', 'the branch plugin (`lth plugins` lists them)')
    .option('--levels <list>', 'levels to run it on, e.g. 3,7 (default: the branch\'s own choice, usually every pruned level)')
    .option('--set <key=value...>', 'a branch option (repeatable): --set steps=21')
    .option('--jobs <n>', BRANCH_JOBS_HELP, wholeNumberOption('--jobs', 1), 1)
    .addOption(ctx.backendOption())
    .action(async (dir: string, name: string, o: { levels?: string; set?: string[]; backend: string; jobs: number }) => {
      const entry = { use: name, ...Object.fromEntries((o.set ?? []).map(parseSet)), ...(o.levels ? { levels: parseLevels(o.levels) } : {}) };
      await runBranchOn(ctx, dir, entry, o.backend, o.jobs);
    });
};
