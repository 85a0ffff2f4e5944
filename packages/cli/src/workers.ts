import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BranchTrainer, type BranchTrainJob, DivergedError, type ExpandedVariant, type Reporter, type RunEvent, type RunOptions, type RunResult, type RunVariant, UserError } from '@lth/core';

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
  /** Instead of the run: one training of a branch of it (core's trainBranchJob). */
  branchJob?: BranchTrainJob;
  /** Only load the plugins, the backend and the data set, so that the next request starts at once. */
  warm?: boolean;
}

/** What a worker sends back: progress, then its result or its error. */
export type WorkerReply =
  | { type: 'event'; event: RunEvent }
  | { type: 'done'; result?: RunResult }
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

type Child = ReturnType<typeof fork>;

/**
 * This process's Node options for a worker, without export conditions (`--conditions x`, `-C x`):
 * a worker runs the compiled dist/, and a condition such as the tests' `@lth/source` would send its
 * imports to the TypeScript sources, which plain Node cannot load.
 */
export function workerExecArgv(execArgv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (a === '--conditions' || a === '-C') i++;
    else if (!a.startsWith('--conditions=') && !a.startsWith('-C=')) out.push(a);
  }
  return out;
}

/**
 * Worker processes for runs (`lth sweep --jobs N`, `lth worker`), kept between runs: a process
 * takes one run at a time, then waits for the next (keeping the loaded plugins, backend and data
 * sets), so a sweep pays for starting a process and loading its data once per process, not once
 * per run. An idle process does not keep the parent alive and exits with it. A process whose run
 * failed is not reused. Aborting `signal` kills them all (their runs resume where they stopped).
 */
export class WorkerPool {
  private readonly idle: Child[] = [];
  /** Processes loading what their first request will need (`warm`), handed out before new ones are started. */
  private readonly warming: { child: Child; ready: Promise<boolean> }[] = [];
  private readonly signal?: AbortSignal;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    private readonly backend: string,
    options: { signal?: AbortSignal; concurrency?: number } = {},
  ) {
    if (!existsSync(workerFile)) throw new Error(`${workerFile} is missing: build first (npx tsc -b tsconfig.build.json)`);
    this.signal = options.signal;
    // N processes at once share the cores: each native kernel gets cores / N threads (unless
    // LTH_NATIVE_THREADS says otherwise), so they do not oversubscribe the machine.
    const threads = String(Math.max(1, Math.floor(availableParallelism() / (options.concurrency ?? 1))));
    this.env = { ...process.env, LTH_NATIVE_THREADS: process.env.LTH_NATIVE_THREADS ?? threads };
  }

  private async take(): Promise<Child> {
    const idle = this.idle.pop();
    if (idle) return this.hold(idle);
    const warming = this.warming.shift();
    // Held before waiting: an unreferenced process would let this one exit meanwhile.
    if (warming) {
      this.hold(warming.child);
      if (await warming.ready) return warming.child;
    }
    return this.fork();
  }

  /** Keeps this process alive while `child` works (idle and warming processes do not). */
  private hold(child: Child): Child {
    child.ref();
    (child.channel as { ref?(): void } | undefined)?.ref?.();
    return child;
  }

  private fork(): Child {
    const fresh = fork(workerFile, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: this.env, execArgv: workerExecArgv(process.execArgv), signal: this.signal, killSignal: 'SIGKILL' });
    fresh.on('error', () => {}); // an abort (or a failed spawn) shows as its 'exit' below
    fresh.once('exit', () => {
      const i = this.idle.indexOf(fresh);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return fresh;
  }

  private release(child: Child): void {
    child.unref();
    (child.channel as { unref?(): void } | undefined)?.unref?.();
    this.idle.push(child);
  }

  /** Trains `variant`'s run in a worker process; its progress goes to `reporter`. */
  run(variant: ExpandedVariant, options: RunOptions, reporter: Reporter): Promise<RunResult> {
    const request: WorkerRequest = {
      label: variant.label,
      config: variant.raw,
      hash: variant.resolved.hash,
      project: process.cwd(),
      outDir: options.outDir,
      baseDir: options.baseDir,
      denseCache: options.denseCache,
      leaseMs: options.leaseMs,
      backend: this.backend,
    };
    return this.send(request, `variant "${variant.label}"`, reporter) as Promise<RunResult>;
  }

  /** One training of a branch of the run `config` (core's trainBranchJob) in a worker process. */
  trainBranch(config: Record<string, unknown>, hash: string, job: BranchTrainJob, options: Pick<RunOptions, 'outDir' | 'baseDir'>, reporter: Reporter): Promise<void> {
    const label = `${job.key} (level ${job.level})`;
    const request: WorkerRequest = { label, config, hash, project: process.cwd(), outDir: options.outDir, baseDir: options.baseDir, backend: this.backend, branchJob: job };
    return this.send(request, `branch training ${label}`, reporter).then(() => undefined);
  }

  /**
   * Starts `count` processes now and has them load the plugins, the backend and the data set of
   * run `config`, while this process does other work: the requests that follow start at once.
   * A process that fails to warm up is dropped (the request that would have used it starts a new one).
   */
  warm(count: number, config: Record<string, unknown>, hash: string, options: Pick<RunOptions, 'outDir' | 'baseDir'>): void {
    for (let i = 0; i < count; i++) {
      const child = this.fork();
      // Like an idle process, a warming one does not keep this one alive (take() refs it).
      child.unref();
      (child.channel as { unref?(): void } | undefined)?.unref?.();
      const request: WorkerRequest = { label: 'warm-up', config, hash, project: process.cwd(), outDir: options.outDir, baseDir: options.baseDir, backend: this.backend, warm: true };
      this.warming.push({ child, ready: this.send(request, 'warm-up', { onEvent: () => {} }, child).then(() => true, () => false) });
    }
  }

  /** Sends one request to a process and resolves with its result (a process whose request failed is killed). */
  private async send(request: WorkerRequest, what: string, reporter: Reporter, to?: Child): Promise<RunResult | undefined> {
    const child = to ?? (await this.take());
    return new Promise<RunResult | undefined>((done, fail) => {
      const finish = (ok: boolean, result?: RunResult, error?: Error) => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (ok) {
          // A warm-up's process goes to whoever awaits it, not back to the idle ones.
          if (!to) this.release(child);
          done(result);
        } else {
          child.kill('SIGKILL');
          fail(error);
        }
      };
      const onMessage = (reply: WorkerReply) => {
        if (reply.type === 'event') reporter.onEvent(reply.event);
        else if (reply.type === 'done') finish(true, reply.result);
        else finish(false, undefined, rebuild(reply));
      };
      const onExit = (code: number | null, killedBy: NodeJS.Signals | null) => {
        // Stopped on purpose: the reason the signal was aborted with (lth's InterruptedError: exit 130/143).
        if (this.signal?.aborted) return finish(false, undefined, this.signal.reason instanceof Error ? this.signal.reason : new Error(`the ${what} was stopped`));
        finish(false, undefined, new Error(`the worker of ${what} exited (${killedBy ?? `code ${code}`}) before finishing`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(request);
    });
  }

  /** Ends the idle processes. */
  close(): void {
    for (const child of this.idle.splice(0)) child.kill();
  }
}

/**
 * A `RunVariant` for `runSweep`'s jobs > 1: each variant in a worker process of a pool (see
 * WorkerPool), its progress to `progress(label)`, a reporter per variant so that lines of
 * concurrent runs say whose they are. Aborting `signal` (Ctrl-C) kills the processes at once:
 * their runs resume at the level they were training.
 */
export function workerRunVariant(backend: string, progress: (label: string) => Reporter, jobs: number, signal?: AbortSignal): RunVariant {
  const pool = new WorkerPool(backend, { concurrency: jobs, signal });
  return (variant, options) => pool.run(variant, options, progress(variant.label));
}

/**
 * A `BranchTrainer` for `lth run` / `lth branch --jobs N`: the trainings a branch asks for at once
 * (instability's two copies) each in a worker process of a pool, N at a time, reporting to `reporter`.
 */
export function workerBranchTrainer(backend: string, jobs: number, run: { config: Record<string, unknown>; hash: string } & Pick<RunOptions, 'outDir' | 'baseDir'>, reporter: Reporter, signal?: AbortSignal): BranchTrainer {
  const pool = new WorkerPool(backend, { concurrency: jobs, signal });
  // The processes load the data while this one opens the run and reaches the branch.
  pool.warm(jobs, run.config, run.hash, run);
  return { concurrency: jobs, train: (job) => pool.trainBranch(run.config, run.hash, job, run, reporter) };
}
