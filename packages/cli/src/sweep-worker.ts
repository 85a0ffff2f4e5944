/**
 * A worker process of `lth sweep --jobs N`, `lth worker`, and `lth run` / `lth branch --jobs N`:
 * receives a variant's run config over IPC (or one training of a branch of a run: `branchJob`),
 * trains it in this process (training blocks its event loop, so concurrent runs need
 * processes of their own), sends back its progress events and its result, then waits for the
 * next run. Started by `WorkerPool` (workers.ts).
 */
import { type Dataset, datasetCache, type PluginRegistry, type ResolvedConfig, type RunEvent, type RunResult, resolveConfig, runExperiment, selectBackend, trainBranchJob } from '@lth/core';
import { discover } from './context.js';
import type { WorkerReply, WorkerRequest } from './workers.js';

const send = (reply: WorkerReply) => new Promise<void>((done) => process.send!(reply, () => done()));

// Training blocks the event loop, so the IPC channel's 'disconnect' would come late: a parent
// killed with SIGKILL is noticed at the next progress event instead, and this run stops with it
// (its lease then expires, or its lock is seen as a dead process's, and the run resumes elsewhere).
const parent = process.ppid;
const orphaned = () => process.ppid !== parent;

// Kept between runs (WorkerPool): the plugins of each project, the backend, the data sets.
const loaded = new Map<string, Promise<PluginRegistry>>();
const datasets = new Map<string, (resolved: ResolvedConfig) => Promise<Dataset>>();
let backend: string | undefined;

async function train(request: WorkerRequest): Promise<RunResult | undefined> {
  if (!loaded.has(request.project)) loaded.set(request.project, discover(process.stderr, request.project).then((l) => l.registry));
  const registry = await loaded.get(request.project)!;
  const resolved = resolveConfig(request.config, registry);
  if (resolved.hash !== request.hash) throw new Error(`the worker resolved variant "${request.label}" to another run (${resolved.hash.slice(0, 12)}, not ${request.hash.slice(0, 12)}): are the same plugins installed?`);
  if (backend !== request.backend) {
    await selectBackend(registry, request.backend);
    backend = request.backend;
  }
  const baseDir = request.baseDir ?? process.cwd();
  if (!datasets.has(baseDir)) datasets.set(baseDir, datasetCache(baseDir));
  const events: Promise<void>[] = [];
  const reporter = {
    onEvent: (event: RunEvent) => {
      if (orphaned()) process.exit(1);
      events.push(send({ type: 'event', event }));
    },
  };
  const dataset = await datasets.get(baseDir)!(resolved);
  if (request.warm) return undefined;
  if (request.branchJob) {
    await trainBranchJob(resolved, { outDir: request.outDir, baseDir: request.baseDir, dataset, reporter }, request.branchJob);
    await Promise.all(events);
    return undefined;
  }
  const result = await runExperiment(resolved, { outDir: request.outDir, baseDir: request.baseDir, dataset, denseCache: request.denseCache, leaseMs: request.leaseMs, reporter });
  await Promise.all(events);
  return result;
}

// One run at a time (the pool sends the next only after this one's reply).
process.on('message', async (request: WorkerRequest) => {
  try {
    await send({ type: 'done', result: await train(request) });
  } catch (error) {
    const e = error as Error & { exitCode?: number; iteration?: number; what?: string; level?: number; field?: string };
    await send({ type: 'error', name: e.name, message: e.message, field: e.field, iteration: e.iteration, what: e.what, level: e.level, stack: e.stack });
    process.exit(1);
  }
});
// The parent is gone (it exited, or closed the pool): so is this process.
process.on('disconnect', () => process.exit(0));
