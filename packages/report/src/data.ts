import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type BranchRow, type LevelStore, type LevelSummary, readJson, RunStore, type SweepManifest, UserError } from '@lth/core';

// The manifest's types (sweep.json) are core's: `lth sweep` writes it, the report reads it.
export type { SweepManifest, SweepRun } from '@lth/core';

/** A control's name: a branch that trains a level of its own (reinit, random-prune, shuffle, ...). */
export type ControlKind = string;

/** One series of the report: a variant, or a control of a variant. */
export interface ReportSeries {
  /** `label` for a variant, `label / control` for a control. */
  name: string;
  label: string;
  control: ControlKind | null;
  runId: string;
  /** Absolute path of the run directory. */
  runDir: string;
  variant: Record<string, unknown>;
  /** For a control run as a branch: its levels are `level-<L>/branch-<control>-<hash>/` of `runDir`. */
  branch?: boolean;
}

/** One completed (replicate, level) of a series, read from its `level-<L>/summary.json`. */
export interface ReportRow extends LevelSummary {
  series: string;
  label: string;
  control: ControlKind | null;
  runId: string;
}

/** A level that was started (its directory exists) but has no summary.json yet. */
export interface IncompleteLevel {
  series: string;
  replicate: number;
  level: number;
  /** Evaluations recorded so far in its metrics.jsonl. */
  evaluations: number;
}

export interface ReportData {
  /** A sweep directory, a run directory, or several of either drawn together (`lth report a b --out`). */
  kind: 'sweep' | 'run' | 'multi';
  /** Absolute path of the directory reported on. */
  dir: string;
  /** Sweep name, or the run's config name. */
  name: string;
  hash: string;
  series: ReportSeries[];
  /** Every completed level of every series, sorted by series (manifest order), replicate, level. */
  rows: ReportRow[];
  incomplete: IncompleteLevel[];
  /** Run directories named by sweep.json that do not exist (yet). */
  missingRuns: string[];
  /** Results of branches other than controls (analyses), by series: a row of numbers each. */
  branches: (BranchRow & { series: string })[];
  /** Variants of a sweep that stopped (training diverged), with the reason. */
  failed: { label: string; reason: string }[];
}

/** The series name of a sweep entry: the label, plus ` / <control>` for a control. */
export function seriesName(label: string, control: ControlKind | null): string {
  return control ? `${label} / ${control}` : label;
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** What `lth report` can read: a sweep directory (sweep.json) or a run directory. */
export function reportKind(dir: string): 'sweep' | 'run' | null {
  if (existsSync(join(dir, 'sweep.json'))) return 'sweep';
  if (isDir(dir) && RunStore.isRun(dir)) return 'run';
  return null;
}

/** The controls run as branches in a run directory: branches whose results are trained levels. */
function controlBranches(runDir: string): string[] {
  const names = new Set<string>();
  for (const row of new RunStore(runDir).branchRows()) {
    if (typeof row.result.fractionRemaining === 'number' && typeof row.result.finalTestAccuracy === 'number') names.add(row.branch);
  }
  return [...names];
}

/** The levels of a series: the run's own, or those of its control branch, by replicate and level. */
export function seriesLevels(series: ReportSeries): { replicate: number; level: number; store: LevelStore }[] {
  const store = new RunStore(series.runDir);
  const out: { replicate: number; level: number; store: LevelStore }[] = [];
  for (const replicate of store.replicates()) {
    const rep = store.replicate(replicate);
    for (const level of rep.levels()) {
      if (!series.branch) out.push({ replicate, level, store: rep.level(level) });
      else for (const b of rep.level(level).branches()) if (b.name === series.control) out.push({ replicate, level, store: b.store.level() });
    }
  }
  return out;
}

/**
 * Reads the completed levels of one run directory from the per-level summary.json files (the
 * run-level summary.json can be stale when a run was killed), and notes started-but-incomplete levels.
 */
function readRun(series: ReportSeries, rows: ReportRow[], incomplete: IncompleteLevel[]): void {
  for (const { replicate, level, store } of seriesLevels(series)) {
    if (!store.isComplete()) {
      incomplete.push({ series: series.name, replicate, level, evaluations: store.readMetricsTolerant().records.length });
      continue;
    }
    const summary = store.readSummary();
    rows.push({ ...summary, replicate, level, series: series.name, label: series.label, control: series.control, runId: series.runId });
  }
}

/** A series per control branch found in the run directory, after the run's own. */
function withControls(run: ReportSeries): ReportSeries[] {
  if (!isDir(run.runDir)) return [run];
  return [run, ...controlBranches(run.runDir).map((c) => ({ ...run, name: seriesName(run.label, c), control: c, branch: true }))];
}

function parseManifest(file: string): SweepManifest {
  const raw = readJson<Partial<SweepManifest>>(file);
  if (!raw || typeof raw !== 'object' || !Array.isArray(raw.runs)) throw new UserError(`${file}: "runs" must be an array`, '/runs');
  raw.runs.forEach((r, i) => {
    for (const key of ['id', 'label', 'dir'] as const) {
      if (typeof r?.[key] !== 'string') throw new UserError(`${file}: runs[${i}].${key} must be a string`, `/runs/${i}/${key}`);
    }
    if (r.control !== null && r.control !== undefined && typeof r.control !== 'string') {
      throw new UserError(`${file}: runs[${i}].control must be null or a control name`, `/runs/${i}/control`);
    }
  });
  return { name: String(raw.name ?? basename(resolve(file, '..'))), hash: String(raw.hash ?? ''), runs: raw.runs };
}

/**
 * Reads everything a report needs from disk: a sweep directory (sweep.json and the run
 * directories it names) or a single run directory (one series). Only completed levels (those with
 * a summary.json) become rows, so a partial or killed run still reports.
 */
export function loadReportData(dir: string): ReportData {
  const abs = resolve(dir);
  const kind = reportKind(abs);
  if (kind === null) {
    throw new UserError(
      `${dir} is neither a sweep directory (with sweep.json) nor a run directory (with config.json and replicate-<r>/level-<L>/summary.json)`,
      '<dir>',
    );
  }
  const rows: ReportRow[] = [];
  const incomplete: IncompleteLevel[] = [];
  const missingRuns: string[] = [];
  let series: ReportSeries[];
  let failed: { label: string; reason: string }[] = [];
  let name: string;
  let hash: string;
  if (kind === 'sweep') {
    const manifest = parseManifest(join(abs, 'sweep.json'));
    name = manifest.name;
    hash = manifest.hash;
    failed = manifest.runs.filter((r) => typeof r.failed === 'string').map((r) => ({ label: r.label, reason: r.failed! }));
    series = manifest.runs.flatMap((r) =>
      withControls({
        name: seriesName(r.label, r.control ?? null),
        label: r.label,
        control: r.control ?? null,
        runId: r.id,
        runDir: resolve(abs, r.dir),
        variant: r.variant ?? {},
      }),
    );
  } else {
    const store = new RunStore(abs);
    const config = store.hasConfig() ? store.readConfig<{ name?: string; hash?: string; config?: { name?: string } }>() : {};
    name = config.name ?? config.config?.name ?? basename(abs);
    hash = config.hash ?? '';
    series = withControls({ name, label: name, control: null, runId: basename(abs), runDir: abs, variant: {} });
  }
  for (const s of series) {
    if (!isDir(s.runDir)) {
      missingRuns.push(s.runDir);
      continue;
    }
    readRun(s, rows, incomplete);
  }
  const branches = series
    .filter((s) => !s.branch && !s.control && isDir(s.runDir))
    .flatMap((s) => {
      const controls = new Set(series.filter((c) => c.branch && c.runDir === s.runDir).map((c) => c.control));
      return new RunStore(s.runDir).branchRows().filter((b) => !controls.has(b.branch)).map((b) => ({ ...b, series: s.name }));
    });
  const order = new Map(series.map((s, i) => [s.name, i]));
  rows.sort((a, b) => order.get(a.series)! - order.get(b.series)! || a.replicate - b.replicate || a.level - b.level);
  return { kind, dir: abs, name, hash, series, rows, incomplete, missingRuns, branches, failed };
}

/**
 * Several run or sweep directories as one report: every series of each, named
 * `<directory>: <series>` so that an IMP run, a SynFlow run and a random-pruning run can share
 * the same charts without being one sweep.
 */
export function loadReportDataMany(dirs: string[]): ReportData {
  if (dirs.length === 1) return loadReportData(dirs[0]!);
  const parts = dirs.map((d) => loadReportData(d));
  const prefix = (part: ReportData, name: string) => `${basename(part.dir)}: ${name}`;
  const rename = <T extends { series: string }>(part: ReportData, items: T[]) => items.map((i) => ({ ...i, series: prefix(part, i.series) }));
  return {
    kind: 'multi',
    dir: resolve(dirs[0]!, '..'),
    name: parts.map((p) => p.name).join(' + '),
    hash: '',
    // The label groups a series with its controls (colours): keep it per directory.
    series: parts.flatMap((p) => p.series.map((s) => ({ ...s, name: prefix(p, s.name), label: prefix(p, s.label) }))),
    rows: parts.flatMap((p) => rename(p, p.rows).map((r) => ({ ...r, label: prefix(p, r.label) }))),
    incomplete: parts.flatMap((p) => rename(p, p.incomplete)),
    missingRuns: parts.flatMap((p) => p.missingRuns),
    branches: parts.flatMap((p) => rename(p, p.branches)),
    failed: parts.flatMap((p) => p.failed.map((f) => ({ ...f, label: prefix(p, f.label) }))),
  };
}

/** The mean and spread over replicates of one measure at one (series, level). */
export interface SeriesPoint {
  series: string;
  label: string;
  control: ControlKind | null;
  level: number;
  /** Percentage of prunable weights remaining (mean over replicates; equal in practice). */
  percentRemaining: number;
  mean: number;
  min: number;
  max: number;
  sd: number;
  /** Replicates that completed this level. */
  n: number;
}

/** Mean, min, max and sample standard deviation over replicates of `measure`, per (series, level). */
export function aggregate(data: Pick<ReportData, 'rows' | 'series'>, measure: (row: ReportRow) => number): SeriesPoint[] {
  const groups = new Map<string, ReportRow[]>();
  for (const row of data.rows) {
    const key = `${row.series}\u0000${row.level}`;
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  const points: SeriesPoint[] = [];
  for (const group of groups.values()) {
    const values = group.map(measure).filter((v) => Number.isFinite(v));
    const first = group[0]!;
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
    points.push({
      series: first.series,
      label: first.label,
      control: first.control,
      level: first.level,
      percentRemaining: (100 * group.reduce((s, r) => s + r.fractionRemaining, 0)) / group.length,
      mean,
      min: Math.min(...values),
      max: Math.max(...values),
      sd,
      n: values.length,
    });
  }
  const order = new Map(data.series.map((s, i) => [s.name, i]));
  return points.filter((p) => p.n > 0).sort((a, b) => order.get(a.series)! - order.get(b.series)! || a.level - b.level);
}
