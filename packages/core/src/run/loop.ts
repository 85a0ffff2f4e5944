import type { LevelSummary } from '../contracts.js';
import type { ResolvedConfig } from '../config.js';
import { runBranches } from './branches.js';
import { closeRun, openRun, type RunOptions } from './context.js';
import { denseShare } from './dense-share.js';
import { closeReplicate, disposeMap, openReplicate, resumeLevel } from './replicate.js';
import { trainLevel } from './stages.js';

export interface RunResult {
  runDir: string;
  summary: LevelSummary[];
  /** True when every level (and branch) of every replicate is complete. */
  complete: boolean;
}

/**
 * Runs a lottery-ticket experiment: for each replicate, train the dense net (level 0), then
 * repeatedly prune, rewind and retrain; after each level, run the configured branches on it.
 * Every stage skips when its output is complete on disk, so a killed run resumes at the first
 * incomplete level and produces the same results as an uninterrupted one.
 */
export async function runExperiment(resolved: ResolvedConfig, options: RunOptions): Promise<RunResult> {
  const ctx = await openRun(resolved, options);
  // Not complete while it computes (a killed run must not look finished); marked again at the end.
  ctx.store.clearComplete();
  const share = denseShare(ctx);
  let budget = options.stopAfterLevels ?? Number.POSITIVE_INFINITY;
  let complete = true;
  try {
    for (let r = 0; r < resolved.config.replicates && complete; r++) {
      const rep = openReplicate(ctx, r);
      try {
        for (let level = 0; level <= ctx.plan.levels && complete; level++) {
          if (level === 0) share?.copyLevel0(rep);
          const done = rep.store.level(level).isComplete();
          if (!done && (budget <= 0 || options.trainLevels === false)) complete = false;
          else {
            const next = done ? resumeLevel(ctx, rep, level) : await trainLevel(ctx, rep, level);
            if (done) ctx.report({ type: 'level-skip', replicate: r, level, reason: 'complete on disk' });
            else budget--;
            disposeMap(rep.final);
            if (rep.accumulated !== next.accumulated) disposeMap(rep.accumulated);
            Object.assign(rep, next);
            if (level === 0) share?.publish(rep);
            budget = await runBranches(ctx, rep, level, budget);
            complete = budget >= 0;
          }
        }
      } finally {
        closeReplicate(rep);
      }
    }
  } finally {
    closeRun(ctx);
  }
  const summary = ctx.store.writeSummaries();
  if (complete) {
    ctx.store.markComplete(ctx.plan.levels);
    ctx.report({ type: 'run-end', runDir: ctx.store.dir, summary });
  }
  return { runDir: ctx.store.dir, summary, complete };
}
