/**
 * What the dashboard shows of a runs directory, read through the run store and never written:
 * the runs and sweeps it holds, each run's levels, evaluations and results.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { type EvalRecord, type LevelSummary, readJson, RunStore, type RunStatus, runStatus, type SweepManifest } from '@lth/core';
import { reportKind } from '@lth/report';

/** A run as the list shows it. `id` is its path under the runs directory, with `/` separators. */
export interface RunEntry {
  kind: 'run';
  id: string;
  name: string;
  hash: string;
  status: RunStatus;
  replicates: number;
  /** Levels with a summary.json, over every replicate. */
  levelsComplete: number;
  /** Level directories, complete or not. */
  levelsStarted: number;
  /** Lowest fraction of weights remaining among the complete levels. */
  sparsest: number | null;
  /** ms since the epoch of the newest metrics line or summary seen. */
  updated: number;
}

export interface SweepEntry {
  kind: 'sweep';
  id: string;
  name: string;
  hash: string;
  /** running if any run is, complete if all are, else interrupted. */
  status: RunStatus;
  runs: (RunEntry & { label: string; failed?: string })[];
  /** Runs the manifest names that do not exist (yet). */
  missing: string[];
}

export interface Catalog {
  root: string;
  entries: (RunEntry | SweepEntry)[];
  /** Directories that could not be read (damaged files): named, so one bad run does not hide the rest. */
  warnings: string[];
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const mtime = (p: string) => (existsSync(p) ? statSync(p).mtimeMs : 0);

/** The id of a directory under the root: its relative path with `/`. */
export const idOf = (root: string, dir: string) => relative(root, dir).split(sep).join('/');

/**
 * The directory an id names, or null when the id leaves the root (`..`, absolute paths, links
 * pointing out) or names nothing. Every path a request carries goes through here.
 */
export function resolveInside(root: string, id: string): string | null {
  if (typeof id !== 'string' || id.includes('\0') || id.includes('\\')) return null;
  const parts = id.split('/').filter((p) => p !== '');
  if (id.startsWith('/') || parts.some((p) => p === '..' || p === '.' || p.startsWith('.'))) return null;
  const path = resolve(root, ...parts);
  if (!existsSync(path)) return null;
  const real = realpathSync(path);
  const realRoot = realpathSync(root);
  return real === realRoot || real.startsWith(realRoot + sep) ? path : null;
}

function runEntry(root: string, dir: string): RunEntry {
  const store = new RunStore(dir);
  const config = store.hasConfig() ? store.readConfig<{ name?: string; hash?: string }>() : {};
  let levelsComplete = 0;
  let levelsStarted = 0;
  let sparsest: number | null = null;
  let updated = mtime(store.configFile);
  for (const r of store.replicates()) {
    const rep = store.replicate(r);
    for (const L of rep.levels()) {
      const level = rep.level(L);
      levelsStarted++;
      updated = Math.max(updated, mtime(level.metricsFile), mtime(level.summaryFile));
      if (!level.isComplete()) continue;
      levelsComplete++;
      const f = level.readSummary().fractionRemaining;
      sparsest = sparsest === null ? f : Math.min(sparsest, f);
    }
  }
  return {
    kind: 'run',
    id: idOf(root, dir),
    name: config.name ?? idOf(root, dir),
    hash: (config.hash ?? '').slice(0, 12),
    status: runStatus(dir),
    replicates: store.replicates().length,
    levelsComplete,
    levelsStarted,
    sparsest,
    updated,
  };
}

function sweepEntry(root: string, dir: string, warnings: string[]): SweepEntry {
  const manifest = readJson<SweepManifest>(join(dir, 'sweep.json'));
  const runs: SweepEntry['runs'] = [];
  const missing: string[] = [];
  for (const r of manifest.runs ?? []) {
    const runDir = resolveInside(root, idOf(root, resolve(dir, r.dir)));
    if (!runDir || !isDir(runDir)) {
      missing.push(r.label);
      continue;
    }
    try {
      runs.push({ ...runEntry(root, runDir), label: r.label, ...(r.failed ? { failed: r.failed } : {}) });
    } catch (error) {
      warnings.push(`${idOf(root, runDir)}: ${(error as Error).message}`);
    }
  }
  const status: RunStatus = runs.some((r) => r.status === 'running')
    ? 'running'
    : runs.length && !missing.length && runs.every((r) => r.status === 'complete' && !r.failed)
      ? 'complete'
      : 'interrupted';
  return { kind: 'sweep', id: idOf(root, dir), name: manifest.name ?? idOf(root, dir), hash: (manifest.hash ?? '').slice(0, 12), status, runs, missing };
}

/**
 * The runs and sweeps of a runs directory: its sub-directories that are runs or sweeps (a sweep's
 * own runs appear under it), newest first. A run or sweep directory given as the root is the one
 * entry (its id is the empty path).
 */
export function readCatalog(root: string): Catalog {
  const warnings: string[] = [];
  const entries: Catalog['entries'] = [];
  const own = reportKind(root) !== null;
  const names = own ? [''] : isDir(root) ? readdirSync(root).filter((n) => !n.startsWith('.')) : [];
  for (const name of names) {
    const dir = join(root, name);
    if (!isDir(dir)) continue;
    try {
      const kind = reportKind(dir);
      if (kind === 'sweep') entries.push(sweepEntry(root, dir, warnings));
      else if (kind === 'run') entries.push(runEntry(root, dir));
    } catch (error) {
      warnings.push(`${name || root}: ${(error as Error).message}`);
    }
  }
  const newest = (e: RunEntry | SweepEntry) => (e.kind === 'run' ? e.updated : Math.max(0, ...e.runs.map((r) => r.updated)));
  entries.sort((a, b) => newest(b) - newest(a) || a.id.localeCompare(b.id));
  return { root, entries, warnings };
}

/** One level of a run, for the run page. */
export interface LevelView {
  replicate: number;
  level: number;
  complete: boolean;
  evaluations: number;
  summary: Pick<LevelSummary, 'fractionRemaining' | 'finalTestAccuracy' | 'earlyStopIteration' | 'earlyStopTestAccuracy'> | null;
}

/** A result to link to: a branch's output (landscape, instability, a control), the run's report, an export. */
export interface ResultLink {
  kind: 'branch' | 'report' | 'export';
  title: string;
  replicate?: number;
  level?: number;
  /** A branch's result row, or an export's record. */
  result?: Record<string, unknown>;
  /** Files under the runs directory, as ids (`/files/<id>` serves them). */
  files: string[];
}

export interface RunView {
  entry: RunEntry;
  config: unknown;
  levels: LevelView[];
  results: ResultLink[];
  /** Damaged files, named: the rest of the run still shows. */
  warnings: string[];
}

const listFiles = (root: string, dir: string) =>
  isDir(dir)
    ? readdirSync(dir)
        .filter((n) => !n.startsWith('.') && !isDir(join(dir, n)))
        .sort()
        .map((n) => idOf(root, join(dir, n)))
    : [];

/** Export directories of a run inside the runs directory (`lth export --out` under it): each holds export.json. */
function exportLinks(root: string, runDir: string): ResultLink[] {
  const base = join(runDir, 'exports');
  if (!isDir(base)) return [];
  return readdirSync(base)
    .map((n) => join(base, n))
    .filter((d) => existsSync(join(d, 'export.json')))
    .map((d) => ({ kind: 'export' as const, title: `export ${idOf(runDir, d)}`, result: readJson<Record<string, unknown>>(join(d, 'export.json')), files: listFiles(root, d) }));
}

/** Everything the run page shows of one run. */
export function readRun(root: string, dir: string): RunView {
  const store = new RunStore(dir);
  const warnings: string[] = [];
  const levels: LevelView[] = [];
  const results: ResultLink[] = [];
  for (const r of store.replicates()) {
    const rep = store.replicate(r);
    for (const L of rep.levels()) {
      const level = rep.level(L);
      const { records, corrupt } = level.readMetricsTolerant();
      for (const c of corrupt) warnings.push(corruptWarning(root, level.metricsFile, c.line));
      let summary: LevelView['summary'] = null;
      if (level.isComplete()) {
        try {
          const s = level.readSummary();
          summary = { fractionRemaining: s.fractionRemaining, finalTestAccuracy: s.finalTestAccuracy, earlyStopIteration: s.earlyStopIteration, earlyStopTestAccuracy: s.earlyStopTestAccuracy };
        } catch (error) {
          warnings.push((error as Error).message);
        }
      }
      levels.push({ replicate: r, level: L, complete: level.isComplete(), evaluations: records.length, summary });
      for (const b of level.branches()) {
        let result: Record<string, unknown> | undefined;
        try {
          result = b.store.isComplete() ? b.store.readResult() : undefined;
        } catch (error) {
          warnings.push((error as Error).message);
        }
        results.push({ kind: 'branch', title: b.name, replicate: r, level: L, result, files: listFiles(root, b.store.dir) });
      }
    }
  }
  const report = join(dir, 'report.html');
  if (existsSync(report)) results.unshift({ kind: 'report', title: 'report.html', files: [idOf(root, report)] });
  results.push(...exportLinks(root, dir));
  return { entry: runEntry(root, dir), config: store.hasConfig() ? store.readConfig() : null, levels, results, warnings };
}

export const corruptWarning = (root: string, file: string, line: number) =>
  `${idOf(root, file)}: line ${line} is not an evaluation record (damaged); it is left out of the curves`;

/** The evaluations of one replicate's levels, for the live curves. */
export function levelMetrics(dir: string, replicate: number): { level: number; file: string; read(): { records: EvalRecord[]; corrupt: { line: number }[] } }[] {
  const rep = new RunStore(dir).replicate(replicate);
  return rep.levels().map((L) => {
    const level = rep.level(L);
    return { level: L, file: level.metricsFile, read: () => level.readMetricsTolerant() };
  });
}
