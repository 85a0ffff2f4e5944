import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORE_VERSION } from '../builtins/version.js';
import type { ResolvedConfig } from '../config.js';
import { UserError } from '../errors.js';
import type { RunStore } from './run-store.js';

/** What produced a run: lth, every plugin package it used, the backend, Node, the OS and the git commit. */
export interface Provenance {
  lth: string;
  /** package name → version, for every plugin the run (and its branches) used. */
  plugins: Record<string, string>;
  /** Every backend that computed a level of this run, in the order they were first used. */
  backends: string[];
  node: string;
  os: string;
  /** The commit of the lth checkout the run was computed from (absent outside a git checkout). */
  git?: string;
}

let gitCommit: string | null | undefined;
function commit(): string | undefined {
  if (gitCommit === undefined) {
    try {
      const cwd = dirname(fileURLToPath(import.meta.url));
      gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim() || null;
    } catch {
      gitCommit = null;
    }
  }
  return gitCommit ?? undefined;
}

export function provenance(resolved: ResolvedConfig, backend: string): Provenance {
  const plugins: Record<string, string> = {};
  for (const p of [...Object.values(resolved.slots).map((s) => s.plugin), ...resolved.branches.map((b) => b.plugin)]) {
    plugins[p.meta.package ?? '@lth/core'] = p.meta.package ? p.meta.version : CORE_VERSION;
  }
  return { lth: CORE_VERSION, plugins, backends: [backend], node: process.version, os: `${process.platform}-${process.arch}`, git: commit() };
}

const major = (version: string) => version.split('.')[0];

/**
 * Refuses to resume a run computed by another major version of core or of a plugin it uses (its
 * levels could differ from what this installation computes), and carries the list of backends
 * over: `current.backends` gains the ones used before.
 */
export function checkProvenance(store: RunStore, current: Provenance): void {
  const previous = store.readProvenance<Provenance>();
  if (!previous) return;
  const changed = Object.entries({ '@lth/core': current.lth, ...current.plugins })
    .map(([pkg, version]) => ({ pkg, version, before: pkg === '@lth/core' ? previous.lth : previous.plugins?.[pkg] }))
    .filter((c) => c.before !== undefined && major(c.before) !== major(c.version));
  if (changed.length) {
    const list = changed.map((c) => `${c.pkg} ${c.before} → ${c.version}`).join(', ');
    throw new UserError(
      `${store.dir} was computed with other major versions (${list}); its levels may not match what this installation computes. ` +
        'Use another --out, or delete the directory to recompute it.',
      '--out',
    );
  }
  current.backends = [...new Set([...(previous.backends ?? []), ...current.backends])];
}
