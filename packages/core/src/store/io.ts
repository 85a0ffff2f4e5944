import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Writes a file atomically: a temporary file beside it, flushed, then renamed over the target.
 * A reader (or a resumed run) sees the old file or the new one, never half of one.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  withTemp(tmp, path, () => {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

/** Copies a file atomically (to a temporary name beside the target, then renamed). */
export function copyFileAtomic(from: string, to: string): void {
  const tmp = `${to}.tmp-${process.pid}`;
  withTemp(tmp, to, () => copyFileSync(from, tmp));
}

/**
 * Fills `tmp` and renames it over `path`. On failure (a full disk, a read-only filesystem) the
 * partial temporary file is removed, and the error names the file and what went wrong.
 */
function withTemp(tmp: string, path: string, fill: () => void): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    fill();
    crashPoint();
    renameSync(tmp, path);
  } catch (error) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Nothing was created (its directory cannot exist).
    }
    const code = (error as NodeJS.ErrnoException).code;
    const why = code ? IO_ADVICE[code] : undefined;
    if (why) throw new UserError(`cannot write ${path}: ${why} (${code})`, path);
    throw error;
  }
}

let writes = 0;
/**
 * A failpoint for the crash-consistency tests: with LTH_CRASH_AT=n in the environment, the
 * process kills itself (SIGKILL, as a power cut would) when its n-th atomic write has filled its
 * temporary file but not yet renamed it. Without the variable it does nothing.
 */
function crashPoint(): void {
  const at = process.env.LTH_CRASH_AT;
  if (at && ++writes === Number(at)) process.kill(process.pid, 'SIGKILL');
}

/** What to do about the write errors a user can fix. */
const IO_ADVICE: Record<string, string> = {
  ENOSPC: 'the disk is full; free some space and run the same command again (complete levels are kept)',
  EDQUOT: 'the disk quota is exhausted; free some space and run the same command again',
  EROFS: 'the filesystem is read-only; choose another --out',
  EACCES: 'permission denied; choose another --out or fix the permissions',
  EPERM: 'permission denied; choose another --out or fix the permissions',
  ENOTDIR: 'a parent of it is a file, not a directory; choose another --out',
  ENAMETOOLONG: 'the path is too long; use a shorter name or --out',
  ENOENT: 'it cannot be created there (a virtual or read-only filesystem?); choose another --out',
};

/**
 * Removes temporary files (`*.tmp-<pid>`) left under `dir` by processes that no longer run (a
 * kill during a write), so they neither pile up nor fill the disk.
 */
export function removeStaleTemps(dir: string, alive: (pid: number) => boolean): string[] {
  const removed: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const m = /\.tmp-(\d+)$/.exec(entry.name) ?? /\.lock\.stale-(\d+)$/.exec(entry.name);
        if (m && !alive(Number(m[1]))) {
          rmSync(full, { force: true });
          removed.push(full);
        }
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return removed;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reads a JSON file; a missing, unreadable or damaged file is a UserError naming it. */
export function readJson<T>(path: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`, path);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')) as T;
  } catch (error) {
    throw new UserError(`${path} is not valid JSON (${(error as Error).message}); fix or delete it`, path);
  }
}

/**
 * Creates `dir` (one level at a time, from its nearest existing ancestor) and proves it writable
 * with a probe file, before any work: a bad --out fails at once, named, instead of hours later.
 * (Node's recursive mkdir can spin forever on pseudo-filesystems such as /proc.)
 */
export function ensureWritableDir(dir: string, field = '--out'): void {
  const missing: string[] = [];
  let existing = resolve(dir);
  while (!existsSync(existing)) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const fail = (path: string, error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const why = IO_ADVICE[code] ?? (error as Error).message;
    throw new UserError(`cannot use ${dir} as an output directory: ${path}: ${why}${code ? ` (${code})` : ''}`, field);
  };
  if (!statSync(existing).isDirectory()) fail(existing, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') fail(d, error);
    }
  }
  const probe = join(dir, `.lth-write-probe-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    fail(dir, error);
  }
}
