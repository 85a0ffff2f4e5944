/**
 * A worker process of `lth sweep --jobs N`: receives one variant's run config over IPC, trains it
 * in this process (training blocks its event loop, so each run needs a process of its own), and
 * sends back its progress events and its result. Started by `workerRunVariant` (workers.ts).
 */
import { type RunEvent, resolveConfig, runExperiment } from '@lth/core';
import { discover } from './context.js';
import type { WorkerReply, WorkerRequest } from './workers.js';

const send = (reply: WorkerReply) => new Promise<void>((done) => process.send!(reply, () => done()));

// Training blocks the event loop, so the IPC channel's 'disconnect' would come late: a parent
// killed with SIGKILL is noticed at the next progress event instead, and this run stops with it
// (its lease then expires, or its lock is seen as a dead process's, and the run resumes elsewhere).
const parent = process.ppid;
const orphaned = () => process.ppid !== parent;

process.once('message', async (request: WorkerRequest) => {
  try {
    const { registry } = await discover(process.stderr, request.project);
    const resolved = resolveConfig(request.config, registry);
    if (resolved.hash !== request.hash) throw new Error(`the worker resolved variant "${request.label}" to another run (${resolved.hash.slice(0, 12)}, not ${request.hash.slice(0, 12)}): are the same plugins installed?`);
    const { selectBackend } = await import('@lth/core');
    await selectBackend(registry, request.backend);
    const events: Promise<void>[] = [];
    const result = await runExperiment(resolved, {
      outDir: request.outDir,
      baseDir: request.baseDir,
      denseCache: request.denseCache,
      leaseMs: request.leaseMs,
      reporter: {
        onEvent: (event: RunEvent) => {
          if (orphaned()) process.exit(1);
          events.push(send({ type: 'event', event }));
        },
      },
    });
    await Promise.all(events);
    await send({ type: 'done', result });
    process.exit(0);
  } catch (error) {
    const e = error as Error & { exitCode?: number; iteration?: number; what?: string; level?: number; field?: string };
    await send({ type: 'error', name: e.name, message: e.message, field: e.field, iteration: e.iteration, what: e.what, level: e.level, stack: e.stack });
    process.exit(1);
  }
});
