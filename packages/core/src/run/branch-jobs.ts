/**
 * A branch's trainings in other processes. A branch that asks for several independent trainings
 * at once (`BranchContext.trainAll`: instability's two copies) gets them trained in parallel when
 * the run has a `branchTrainer` (the CLI's worker pool): the parent writes each request to the
 * branch directory (`<key>.request.*`), a worker process attaches to the run (`attachRun`: no
 * lock, the parent holds it), trains the request through the same `branchTrain` as in-process
 * training, and stores the result under its key; the parent then reads it as a resumed training.
 * So the numbers do not depend on where a request trained, and a killed job trains again.
 */
import type { BranchTrainRequest } from '../contracts.js';
import type { ResolvedConfig } from '../config.js';
import { BranchStore, readMasks, writeMasks } from '../store/run-store.js';
import { branchTrain } from './branches.js';
import { attachRun, closeRun, type RunOptions } from './context.js';
import { closeReplicate, disposeMap, openReplicate } from './replicate.js';

/** One training of a branch, to do in another process: where its request is. */
export interface BranchTrainJob {
  /** The run directory (attachRun's `runDir`). */
  runDir: string;
  /** The branch directory holding `<key>.request.*`; the result goes there. */
  branchDir: string;
  replicate: number;
  level: number;
  key: string;
}

/** Trains jobs somewhere else (RunOptions.branchTrainer); `train` resolves once the result is stored. */
export interface BranchTrainer {
  /** How many jobs it trains at once. */
  concurrency: number;
  train(job: BranchTrainJob): Promise<void>;
}

const files = (key: string) => ({ json: `${key}.request.json`, weights: `${key}.request.safetensors`, optimizer: `${key}.request-optimizer.safetensors`, masks: `${key}.request-masks.safetensors` });

/** Writes a request for a worker process: its tensors (safetensors) and its numbers (JSON). */
export function writeBranchRequest(store: BranchStore, request: BranchTrainRequest): void {
  const f = files(request.key);
  store.writeTensors(f.weights, request.weights);
  writeMasks(store.file(f.masks), request.masks);
  if (request.optimizerState) store.writeTensors(f.optimizer, request.optimizerState);
  const { weights: _w, masks: _m, optimizerState, ...numbers } = request;
  // Written last: a request is complete when its JSON is there.
  store.writeJson(f.json, { ...numbers, optimizerState: optimizerState !== undefined });
}

/** The request `writeBranchRequest` wrote (new tensors: dispose `weights` and `optimizerState`). */
export function readBranchRequest(store: BranchStore, key: string): BranchTrainRequest {
  const f = files(key);
  if (!store.has(f.json)) throw new Error(`${store.dir}: no training request "${key}" (${f.json} is missing)`);
  const { optimizerState, ...numbers } = store.readJson<Omit<BranchTrainRequest, 'weights' | 'masks' | 'optimizerState'> & { optimizerState: boolean }>(f.json);
  return { ...numbers, weights: store.readTensors(f.weights), masks: readMasks(store.file(f.masks)), optimizerState: optimizerState ? store.readTensors(f.optimizer) : undefined };
}

/** Deletes a request's files (after its result is stored). */
export function removeBranchRequest(store: BranchStore, key: string): void {
  for (const name of Object.values(files(key))) store.remove(name);
}

/**
 * In a worker process: trains one job of a run another process holds, and stores its result in
 * the branch directory (where the parent's `train` with the same key finds it).
 */
export async function trainBranchJob(resolved: ResolvedConfig, options: RunOptions, job: BranchTrainJob): Promise<void> {
  const ctx = await attachRun(resolved, { ...options, runDir: job.runDir });
  try {
    const rep = openReplicate(ctx, job.replicate);
    const store = new BranchStore(job.branchDir);
    const request = readBranchRequest(store, job.key);
    try {
      disposeMap((await branchTrain(ctx, rep, job.level, store, request)).final);
    } finally {
      disposeMap(request.weights);
      disposeMap(request.optimizerState);
      closeReplicate(rep);
    }
  } finally {
    closeRun(ctx);
  }
}

/** Runs `tasks` with at most `limit` at once; waits for all, then throws the first failure. */
export async function allLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  const queue = [...tasks];
  const errors: unknown[] = [];
  const lane = async () => {
    for (let task = queue.shift(); task; task = queue.shift()) await task().catch((e) => void errors.push(e));
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, lane));
  if (errors.length) throw errors[0];
}

