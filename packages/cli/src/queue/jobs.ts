import { CORE_VERSION, provenance, type ResolvedConfig, type SweepManifest, type SweepRun } from '@lth/core';

/** The BullMQ queue every sweep's jobs go to (one Redis database can serve many sweeps). */
export const QUEUE = 'lth-runs';

/** One run of a sweep (a variant with its replicates, levels and controls): the unit of work. */
export interface RunJobData {
  kind: 'run';
  sweepDir: string;
  label: string;
  /** The variant's run config as written: the worker resolves it again with its own plugins. */
  config: Record<string, unknown>;
  /** Its resolved hash: a worker that resolves it to another run refuses the job. */
  hash: string;
  /** @lth/core and every plugin package the run uses, with their versions: a worker must match. */
  versions: Record<string, string>;
  /** Resolves relative paths of the config (the sweep file's directory). */
  baseDir: string;
  /** The job whose run trains the shared dense level 0 this run copies: it runs after that one. */
  after?: string;
}

/** The sweep's last job: runs once every run job has finished, and writes the report once. */
export interface ReportJobData {
  kind: 'report';
  sweepDir: string;
  png: boolean;
}

/** A sweep's job ids: `<name>-<hash12>.<run id>` and `<name>-<hash12>.report` (BullMQ ids may not contain ':'). */
export const sweepKey = (manifest: SweepManifest) => `${manifest.name}-${manifest.hash.slice(0, 12)}`;
export const runJobId = (manifest: SweepManifest, run: SweepRun) => `${sweepKey(manifest)}.${run.id}`;
export const reportJobId = (manifest: SweepManifest) => `${sweepKey(manifest)}.report`;

/** The versions that must match between the process that queued a run and the worker that trains it. */
export function versionsOf(resolved: ResolvedConfig): Record<string, string> {
  return { '@lth/core': CORE_VERSION, ...provenance(resolved, '').plugins };
}

/** The differences between two version maps, as `pkg a → b` (empty: the same). */
export function versionDifferences(wanted: Record<string, string>, have: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(wanted), ...Object.keys(have)])].sort();
  return names.filter((n) => wanted[n] !== have[n]).map((n) => `${n} ${wanted[n] ?? '(not used)'} in the sweep, ${have[n] ?? '(not installed)'} here`);
}
