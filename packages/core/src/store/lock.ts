import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/** Who holds a run directory: written in `<run>/.lock` while a process computes in it. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
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

/**
 * An exclusive lock on a run directory, so two processes never compute in it at once (they would
 * interleave its metrics and overwrite each other's levels). A lock left by a dead process of
 * this host is taken over; one held by a live process, or by another host (whose processes this
 * one cannot see), is a UserError naming the holder.
 */
export class RunLock {
  private held = false;
  private readonly release = () => this.unlock();

  constructor(readonly dir: string) {}

  get file(): string {
    return join(this.dir, '.lock');
  }

  lock(): void {
    const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // 'wx': created only if absent, atomically; the holder is whoever created it.
        const fd = openSync(this.file, 'wx');
        try {
          writeSync(fd, JSON.stringify(me));
        } finally {
          closeSync(fd);
        }
        this.held = true;
        process.once('exit', this.release);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(this.file);
      if (holder && (holder.host !== me.host || processAlive(holder.pid))) {
        throw new UserError(
          `${this.dir} is in use: a run is in progress by pid ${holder.pid} on host ${holder.host} since ${holder.since}. ` +
            `Wait for it, or if that process is gone (on another machine), delete ${this.file}.`,
          '--out',
        );
      }
      // A stale lock (its process died) or a half-written one: move it aside atomically, then retry.
      try {
        renameSync(this.file, `${this.file}.stale-${process.pid}`);
        unlinkSync(`${this.file}.stale-${process.pid}`);
      } catch {
        // Another process took it over first; the next attempt sees its lock.
      }
    }
    throw new UserError(`could not lock ${this.dir}: another process keeps taking ${this.file}`, '--out');
  }

  unlock(): void {
    if (!this.held) return;
    this.held = false;
    process.removeListener('exit', this.release);
    const holder = existsSync(this.file) ? readHolder(this.file) : undefined;
    if (holder?.pid === process.pid) unlinkSync(this.file);
  }
}
