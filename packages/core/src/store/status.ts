import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { processAlive, RunLock } from './lock.js';
import { RunStore } from './run-store.js';

/**
 * Where a run directory stands, for readers (the dashboard): `running` while a process holds its
 * lock, `complete` when the run finished every level and branch (its completion marker), and
 * `interrupted` otherwise (killed, stopped early, or failed).
 */
export type RunStatus = 'complete' | 'running' | 'interrupted';

/** Whether the lock of `dir` is held by a live process: another host's lock counts until its lease (if any) expires. */
function lockHeld(dir: string, now: number): boolean {
  const file = new RunLock(dir).file;
  if (!existsSync(file)) return false;
  let holder: { pid?: unknown; host?: unknown; expires?: unknown };
  try {
    holder = JSON.parse(readFileSync(file, 'utf8')) as typeof holder;
  } catch {
    // Half-written: its process is creating it right now.
    return true;
  }
  if (typeof holder.expires === 'string' && Date.parse(holder.expires) < now) return false;
  if (holder.host !== hostname()) return true;
  return typeof holder.pid === 'number' && processAlive(holder.pid);
}

/** The status of the run in `dir`, read without writing anything. */
export function runStatus(dir: string, now = Date.now()): RunStatus {
  if (lockHeld(dir, now)) return 'running';
  return new RunStore(dir).isMarkedComplete() ? 'complete' : 'interrupted';
}
