import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DivergedError, type Reporter, type RunEvent, type RunResult, type RunVariant, UserError } from '@lth/core';

/** What the parent sends a worker: one variant's run. */
export interface WorkerRequest {
  label: string;
  config: Record<string, unknown>;
  hash: string;
  project: string;
  outDir: string;
  baseDir?: string;
  denseCache?: string;
  leaseMs?: number;
  backend: string;
}

/** What a worker sends back: progress, then its result or its error. */
export type WorkerReply =
  | { type: 'event'; event: RunEvent }
  | { type: 'done'; result: RunResult }
  | { type: 'error'; name: string; message: string; field?: string; iteration?: number; what?: string; level?: number; stack?: string };

// The compiled worker (tests run the TypeScript sources, which need no build, but a worker is a
// plain Node process: it runs dist/).
const here = dirname(fileURLToPath(import.meta.url));
const workerFile = resolve(here, '..', 'dist', 'sweep-worker.js');

/** The error a worker reported, as the parent would have thrown it (exit codes follow). */
function rebuild(reply: Extract<WorkerReply, { type: 'error' }>): Error {
  if (reply.name === 'UserError') return new UserError(reply.message, reply.field);
  if (reply.name === 'DivergedError') return new DivergedError(reply.iteration ?? 0, reply.what ?? '', reply.level);
  // Other errors keep their name (RunLockedError, LeaseLostError: a queue worker tells them apart).
  return Object.assign(new Error(reply.message), { name: reply.name, stack: reply.stack });
}

/**
 * Runs each variant in a worker process of its own (`lth sweep --jobs N`, `lth worker`). Its
 * progress goes to `progress(label)`: a reporter per variant, so that lines of concurrent runs say
 * whose they are. Aborting `signal` kills the processes (their runs resume where they stopped).
 */
export function workerRunVariant(backend: string, progress: (label: string) => Reporter, signal?: AbortSignal): RunVariant {
  if (!existsSync(workerFile)) throw new Error(`${workerFile} is missing: build first (npx tsc -b tsconfig.build.json)`);
  return (variant, options) =>
    new Promise<RunResult>((done, fail) => {
      const child = fork(workerFile, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env, signal, killSignal: 'SIGKILL' });
      const reporter = progress(variant.label);
      let settled = false;
      child.on('error', (error) => {
        if (!settled && error.name === 'AbortError') {
          settled = true;
          fail(new Error(`the run of variant "${variant.label}" was stopped`));
        }
      });
      child.on('message', (reply: WorkerReply) => {
        if (reply.type === 'event') {
          reporter.onEvent(reply.event);
        } else if (reply.type === 'done') {
          settled = true;
          done(reply.result);
        } else {
          settled = true;
          fail(rebuild(reply));
        }
      });
      child.on('exit', (code, killedBy) => {
        if (!settled) fail(new Error(`the worker of variant "${variant.label}" exited (${killedBy ?? `code ${code}`}) before finishing`));
      });
      const request: WorkerRequest = {
        label: variant.label,
        config: variant.raw,
        hash: variant.resolved.hash,
        project: process.cwd(),
        outDir: options.outDir,
        baseDir: options.baseDir,
        denseCache: options.denseCache,
        leaseMs: options.leaseMs,
        backend,
      };
      child.send(request);
    });
}
