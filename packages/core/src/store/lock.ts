import { closeSync, existsSync, linkSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { writeJsonAtomic } from './io.js';

/** Who holds a run directory: written in `<run>/.lock` while a process computes in it. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /**
   * ISO time a lease ends unless its holder renews it (locks taken by distributed workers, whose
   * hosts cannot see each other's processes). Absent: held until the process exits.
   */
  expires?: string;
}

/** Whether process `pid` of this host is alive (a signal-0 probe; EPERM means alive, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

const sameHolder = (a: LockHolder | undefined, b: LockHolder | undefined) => !!a && !!b && a.pid === b.pid && a.host === b.host && a.since === b.since;

/** The run directory is held by another live process (or an unexpired lease): try again later. */
export class RunLockedError extends UserError {
  constructor(
    message: string,
    readonly holder: LockHolder,
  ) {
    super(message, '--out');
    this.name = 'RunLockedError';
  }
}

/** This process's lease expired and another process took the run over: it must stop computing. */
export class LeaseLostError extends Error {
  constructor(dir: string, holder: LockHolder | undefined) {
    super(
      `lost the lease on ${dir}: ${holder ? `pid ${holder.pid} on host ${holder.host} holds it since ${holder.since}` : 'its lock file is gone'} ` +
        '(this process did not renew it in time); stopping without writing more',
    );
    this.name = 'LeaseLostError';
  }
}

export interface RunLockOptions {
  /**
   * Hold the directory as a lease of this many milliseconds, renewed by `renew()`: a holder that
   * dies on any host loses it when it expires. Without it, a lock is held until its process exits
   * and only processes of the same host can tell that it died.
   */
  leaseMs?: number;
}

/**
 * An exclusive lock on a run directory, so two processes never compute in it at once (they would
 * interleave its metrics and overwrite each other's levels). A lock left by a dead process of
 * this host, or an expired lease, is taken over; one held by a live process, or by another host
 * (whose processes this one cannot see) until its lease expires, is a `RunLockedError` naming
 * the holder.
 */
export class RunLock {
  private held = false;
  private me: LockHolder | undefined;
  private renewedAt = 0;
  private readonly release = () => this.unlock();

  constructor(
    readonly dir: string,
    private readonly options: RunLockOptions = {},
  ) {}

  get file(): string {
    return join(this.dir, '.lock');
  }

  private holder(now = Date.now()): LockHolder {
    const me: LockHolder = { pid: process.pid, host: hostname(), since: this.me?.since ?? new Date(now).toISOString() };
    if (this.options.leaseMs) me.expires = new Date(now + this.options.leaseMs).toISOString();
    return me;
  }

  lock(): void {
    for (let attempt = 0; attempt < 3; attempt++) {
      const me = this.holder();
      try {
        // 'wx': created only if absent, atomically; the holder is whoever created it.
        const fd = openSync(this.file, 'wx');
        try {
          writeSync(fd, JSON.stringify(me));
        } finally {
          closeSync(fd);
        }
        this.held = true;
        this.me = me;
        this.renewedAt = Date.now();
        process.once('exit', this.release);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(this.file);
      const expired = holder?.expires !== undefined && Date.parse(holder.expires) < Date.now();
      if (holder && !expired && (holder.host !== me.host || processAlive(holder.pid))) {
        const until = holder.expires ? ` (lease until ${holder.expires})` : '';
        throw new RunLockedError(
          `${this.dir} is in use: a run is in progress by pid ${holder.pid} on host ${holder.host} since ${holder.since}${until}. ` +
            `Wait for it, or if that process is gone (on another machine), delete ${this.file}.`,
          holder,
        );
      }
      // A stale lock (its process died, or its lease expired) or a half-written one: move it aside
      // atomically, then retry. Whoever renames it first takes it over; a lock that changed since
      // it was read (another process took it over and renewed) is put back.
      const aside = `${this.file}.stale-${process.pid}`;
      try {
        renameSync(this.file, aside);
      } catch {
        continue; // another process moved it first; the next attempt sees its lock
      }
      const moved = readHolder(aside);
      try {
        // link: atomic, and fails if someone locked it again meanwhile (theirs stands).
        if (holder && moved && !sameHolder(holder, moved)) linkSync(aside, this.file);
      } catch {
        // ignored: the next attempt sees the current lock
      }
      rmSync(aside, { force: true });
    }
    throw new RunLockedError(`could not lock ${this.dir}: another process keeps taking ${this.file}`, readHolder(this.file) ?? this.holder());
  }

  /**
   * Extends a lease (a no-op for plain locks, and while less than a third of the lease has
   * passed since the last renewal). Throws `LeaseLostError` when another process holds it now.
   */
  renew(): void {
    const leaseMs = this.options.leaseMs;
    if (!this.held || !leaseMs) return;
    const now = Date.now();
    if (now - this.renewedAt < leaseMs / 3) return;
    const current = readHolder(this.file);
    if (!sameHolder(current, this.me)) {
      this.held = false;
      process.removeListener('exit', this.release);
      throw new LeaseLostError(this.dir, current);
    }
    this.me = this.holder(now);
    writeJsonAtomic(this.file, this.me);
    this.renewedAt = now;
  }

  unlock(): void {
    if (!this.held) return;
    this.held = false;
    process.removeListener('exit', this.release);
    const holder = existsSync(this.file) ? readHolder(this.file) : undefined;
    if (holder?.pid === process.pid && holder.host === hostname()) unlinkSync(this.file);
  }
}
