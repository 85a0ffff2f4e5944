import { dirname, resolve } from 'node:path';
import { datasetCache, expandSweep, loadDataset, preflight, preflightVariants, resolveConfig, runDirName } from '@lth/core';
import type { AddCommand } from '../context.js';

/** A sweep file is a run config with `vary`, `variants` or `controls`. */
const isSweep = (raw: unknown) => typeof raw === 'object' && raw !== null && ['vary', 'variants', 'controls'].some((k) => k in raw);

/** `lth validate <config>`: checks a run or sweep config and prints what it resolves to. */
export const addValidateCommand: AddCommand = (program, ctx) => {
  program
    .command('validate')
    .description('check a run or sweep config (schemas, and everything knowable before training: data, layers, durations); print the resolved config(s)')
    .argument('<config>', 'JSON config file')
    .option('--no-data', 'check schemas and plugin names only, without loading the data (skips the checks that need it)')
    .action(async (file: string, o: { data: boolean }) => {
      const { registry } = await ctx.discover();
      const raw = ctx.readConfig(file);
      if (isSweep(raw)) {
        const { variants, controls } = expandSweep(raw, registry);
        if (o.data) await preflightVariants(variants, datasetCache(dirname(resolve(file))));
        const runs = variants.map((v) => ({ label: v.label, runDir: runDirName(v.resolved), hash: v.resolved.hash, config: v.resolved.config }));
        ctx.out(JSON.stringify({ sweep: true, variants: runs, controls }, null, 2));
        return;
      }
      const resolved = resolveConfig(raw, registry);
      if (o.data) preflight(resolved, await loadDataset(resolved, dirname(resolve(file))));
      ctx.out(JSON.stringify({ runDir: runDirName(resolved), hash: resolved.hash, config: resolved.config }, null, 2));
    });
};
