import type { BranchContext, BranchTrainRequest, BranchTrainResult, LevelStart, Masks, TensorMap } from '../contracts.js';
import type { ResolvedBranch } from '../config.js';
import { BatchStream } from '../data.js';
import { deriveSeed } from '../seed.js';
import type { BranchStore } from '../store/run-store.js';
import { PlaneEvaluator } from '../plane.js';
import { evaluate } from '../train.js';
import { allLimited, removeBranchRequest, writeBranchRequest } from './branch-jobs.js';
import type { RunContext } from './context.js';
import { disposeMap, type ReplicateState } from './replicate.js';
import { levelSummary, rewindStart, trainStage } from './stages.js';

/** The levels a branch runs on: those the config names, or its default (pruned levels, or all). */
export function branchLevels(branch: ResolvedBranch, levels: number): number[] {
  if (branch.levels) return branch.levels;
  const all = Array.from({ length: levels + 1 }, (_, l) => l);
  return branch.plugin.defaultLevels === 'all' ? all : all.slice(1);
}

const copy = (map: TensorMap): TensorMap => Object.fromEntries(Object.entries(map).map(([n, t]) => [n, t.clone()]));

/** The files of a branch training's result: its weights and its records. */
const trainedFiles = (key: string) => ({ weightsFile: `${key}.safetensors`, recordsFile: `${key}.json` });

/** Whether the training `key` of a branch is stored (both of its files). */
const isTrained = (files: BranchStore, key: string) => Object.values(trainedFiles(key)).every((f) => files.has(f));

/** Masked training for a branch, resumable by key: `<key>.safetensors` and `<key>.json` in its directory. */
export async function branchTrain(ctx: RunContext, rep: ReplicateState, level: number, files: BranchStore, request: BranchTrainRequest) {
  const { weightsFile, recordsFile } = trainedFiles(request.key);
  if (isTrained(files, request.key)) {
    return { final: files.readTensors(weightsFile, ctx.stateNames), records: files.readJson<{ records: [] }>(recordsFile).records };
  }
  const batches =
    request.dataSeed === undefined ? rep.batches : new BatchStream(ctx.dataset, ctx.dataset.train, ctx.resolved.config.training.batchSize, request.dataSeed);
  const start: LevelStart = {
    weights: copy(request.weights),
    iteration: request.startIteration ?? 0,
    optimizerState: request.optimizerState && copy(request.optimizerState),
    lr: request.lr,
  };
  const result = await trainStage(ctx, rep, { masks: request.masks, start, batches, level, endIteration: request.endIteration, evaluate: request.evaluate });
  files.writeTensors(weightsFile, result.final, { kind: 'branch-train', key: request.key });
  // The process that trained it: this one, or a worker of `trainAll` (branch-jobs.ts).
  files.writeJson(recordsFile, { records: result.records, pid: process.pid });
  return { final: result.final, records: result.records };
}

/**
 * Several independent trainings of a branch: the untrained ones in parallel through the run's
 * `branchTrainer` (other processes) when it has one and there are two or more, then each read as
 * `branchTrain` reads a stored result; without a trainer, one after the other in this process.
 */
async function trainAll(ctx: RunContext, rep: ReplicateState, level: number, files: BranchStore, requests: BranchTrainRequest[]): Promise<BranchTrainResult[]> {
  const trainer = ctx.options.branchTrainer;
  const pending = requests.filter((r) => !isTrained(files, r.key));
  if (trainer && pending.length > 1) {
    for (const r of pending) writeBranchRequest(files, r);
    const job = (key: string) => ({ runDir: ctx.store.dir, branchDir: files.dir, replicate: rep.replicate, level, key });
    await allLimited(pending.map((r) => () => trainer.train(job(r.key))), trainer.concurrency);
  }
  const results: BranchTrainResult[] = [];
  for (const r of requests) {
    results.push(await branchTrain(ctx, rep, level, files, r));
    removeBranchRequest(files, r.key);
  }
  return results;
}

/** What a branch sees of a completed level: its tensors and core's services. */
function branchContext(ctx: RunContext, rep: ReplicateState, level: number, name: string, files: BranchStore, previousFinal?: TensorMap): BranchContext {
  return {
    model: ctx.model,
    dataset: ctx.dataset,
    replicate: rep.replicate,
    level,
    seed: rep.seed,
    deriveSeed: (...labels) => deriveSeed(rep.seed, ...labels),
    init: rep.init,
    final: rep.final!,
    previousFinal,
    masks: rep.masks,
    summary: rep.store.level(level).readSummary(),
    snapshot: (k) => (k === 0 ? copy(rep.init) : rep.store.hasRewind(k) ? rep.store.readRewind(k, ctx.stateNames) : undefined),
    ...ctx.timing,
    rewindStart: (masks: Masks) => rewindStart(ctx, rep, level, masks, previousFinal ?? rep.final),
    train: (request) => branchTrain(ctx, rep, level, files, request),
    trainAll: (requests) => trainAll(ctx, rep, level, files, requests),
    async trainLevel(masks, start) {
      const stored = files.level();
      if (stored.isComplete()) {
        disposeMap(start.weights);
        disposeMap(start.optimizerState);
        return stored.readSummary();
      }
      const started = Date.now();
      const result = await trainStage(ctx, rep, { masks, start, batches: rep.batches, level, metrics: stored });
      const summary = levelSummary(ctx, rep.replicate, level, masks, result.records, started);
      stored.write(masks, result.final, summary);
      disposeMap(result.final);
      return summary;
    },
    evaluate: (weights, split) => evaluate(ctx.model, weights, ctx.evalSets[split]),
    plane: (center, directions, split) => new PlaneEvaluator(ctx.model, center, directions, ctx.evalSets[split]),
    files,
    report: (message) => ctx.report({ type: 'branch-message', replicate: rep.replicate, level, branch: name, message }),
  };
}

/**
 * Runs every branch that applies to `level` and is not complete, with at most `budget` of them
 * (tests of resume). Returns the budget left, or -1 when it ran out before the branches were done.
 */
export async function runBranches(ctx: RunContext, rep: ReplicateState, level: number, budget: number): Promise<number> {
  const due = ctx.branches.filter((b) => branchLevels(b, ctx.plan.levels).includes(level));
  const pending = due.filter((b) => !rep.store.level(level).branch(b.plugin.meta.name, b.hash).isComplete());
  if (!pending.length) return budget;
  const previousFinal = level > 0 ? rep.store.level(level - 1).readFinal(ctx.stateNames) : undefined;
  try {
    for (const b of pending) {
      if (budget <= 0) return -1;
      const name = b.plugin.meta.name;
      const files = rep.store.level(level).branch(name, b.hash);
      ctx.report({ type: 'branch-start', replicate: rep.replicate, level, branch: name });
      files.writeJson('provenance.json', ctx.provenance);
      const result = await b.plugin.run(branchContext(ctx, rep, level, name, files, previousFinal), b.options);
      files.writeResult(result);
      ctx.report({ type: 'branch-end', replicate: rep.replicate, level, branch: name, result });
      budget--;
    }
    return budget;
  } finally {
    disposeMap(previousFinal);
  }
}
