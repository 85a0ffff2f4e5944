import type { AddCommand } from '../context.js';
import { wholeNumber } from '../options.js';
import { parseLevels, runBranchOn } from './branch.js';

/**
 * `lth landscape <runDir>`: the `landscape` branch (@lth/analysis-landscape) on an existing run,
 * with its common options as flags: a thin alias of `lth branch <runDir> landscape --set ...`.
 */
export const addLandscapeCommand: AddCommand = (program, ctx) => {
  program
    .command('landscape')
    .description('loss landscapes of the dense network and its tickets on an existing run (alias of `lth branch <runDir> landscape`; resumes)')
    .argument('<runDir>', 'a run directory (with config.json)')
    .option('--levels <list>', 'levels, e.g. 0,7,15 (default: every level)')
    .option('--grid <n>', 'points per side of the 2D slice (odd, at least 3; 0 skips it)')
    .option('--steps <n>', 'points of the 1D slice (odd)')
    .option('--examples <n>', 'examples per point from the training and the test set')
    .option('--plane <plane>', 'random (seeded filter-normalised directions) or solutions (through θ0 ⊙ m and the previous level)')
    .addOption(ctx.backendOption())
    .action(async (dir: string, o: { levels?: string; grid?: string; steps?: string; examples?: string; plane?: string; backend: string }) => {
      const entry: { use: string } & Record<string, unknown> = { use: 'landscape' };
      if (o.levels) entry.levels = parseLevels(o.levels);
      if (o.grid !== undefined) entry.grid = wholeNumber('--grid', o.grid);
      if (o.steps !== undefined) entry.steps = wholeNumber('--steps', o.steps);
      if (o.examples !== undefined) entry.examples = wholeNumber('--examples', o.examples);
      if (o.plane !== undefined) entry.plane = o.plane;
      await runBranchOn(ctx, dir, entry, o.backend);
    });
};
