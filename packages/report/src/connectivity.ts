/**
 * The report's linear-mode-connectivity section: what the `instability` branch
 * (@lth/analysis-connectivity) stored. The error along the straight path between two copies
 * trained from θk ⊙ m (one line per k, a panel per level), and the error barrier against the
 * rewind iteration k (one line per level: the paper's main figure) and against the weights
 * remaining. Read through the run store: each complete branch's result.json names its rewind
 * points (`errorBarrier_k<k>`), and `curve-k<k>.json` holds the path.
 */
import { RunStore } from '@lth/core';
import type { TopLevelSpec } from 'vega-lite';
import { CHART_FONT, type ChartSpec } from './charts.js';
import type { ReportData } from './data.js';

/** One point of a stored path (the branch's `curve-k<k>.json`, read as plain JSON). */
interface PathPoint {
  alpha: number;
  trainError: number;
  testError: number;
  trainLoss: number;
  testLoss: number;
}

/** One rewind point of one level: its path and barriers. */
export interface InstabilityPoint {
  series: string;
  replicate: number;
  level: number;
  percentRemaining: number;
  k: number;
  /** Random pruning at the level's per-layer sparsity (the branch's `random` option), not the ticket. */
  random: boolean;
  /** Test error barrier (fraction). */
  errorBarrier: number;
  path: PathPoint[];
}

// The ticket's `errorBarrier_k<k>`, and random pruning's `randomErrorBarrier_k<k>`.
const BARRIER_KEY = /^(random)?[eE]rrorBarrier_k(\d+)$/;

/** Every complete instability result of the run series (not controls), with its stored paths. */
export function loadInstability(data: ReportData): InstabilityPoint[] {
  const out: InstabilityPoint[] = [];
  for (const s of data.series.filter((x) => !x.control && !x.branch)) {
    const store = new RunStore(s.runDir);
    for (const row of store.branchRows().filter((b) => b.branch === 'instability')) {
      const files = store.replicate(row.replicate).level(row.level).branches().find((b) => b.id === row.id)!.store;
      const remaining = typeof row.result.fractionRemaining === 'number' ? row.result.fractionRemaining : NaN;
      for (const [key, value] of Object.entries(row.result)) {
        const m = BARRIER_KEY.exec(key);
        if (!m || typeof value !== 'number') continue;
        const [random, k] = [Boolean(m[1]), Number(m[2])];
        const file = `${random ? 'random-' : ''}curve-k${k}.json`;
        const path = files.has(file) ? files.readJson<{ points: PathPoint[] }>(file).points : [];
        out.push({ series: s.name, replicate: row.replicate, level: row.level, percentRemaining: 100 * remaining, k, random, errorBarrier: value, path });
      }
    }
  }
  return out.sort((a, b) => a.series.localeCompare(b.series) || a.replicate - b.replicate || a.level - b.level || Number(a.random) - Number(b.random) || a.k - b.k);
}

const config = {
  font: CHART_FONT,
  background: 'white',
  padding: 12,
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const, titlePadding: 8, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400, symbolStrokeWidth: 2.5 },
  title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555555', anchor: 'start' as const, offset: 10 },
  header: { labelFontSize: 11, titleFontSize: 12 },
};

const levelLabel = (p: Pick<InstabilityPoint, 'level' | 'percentRemaining'>) => `level ${p.level} (${p.percentRemaining.toPrecision(3)}% remaining)`;
const pruningLabel = (p: InstabilityPoint) => (p.random ? 'random pruning' : 'ticket');
const manySeries = (points: InstabilityPoint[]) => new Set(points.map((p) => p.series)).size > 1;

/** Test error along the path, one line per k (and replicate), a panel per level. */
function pathChart(points: InstabilityPoint[]): ChartSpec {
  const values = points.flatMap((p) =>
    p.path.map((q) => ({ panel: `${manySeries(points) ? `${p.series}: ` : ''}${levelLabel(p)}${p.random ? ', random pruning' : ''}`, k: `k = ${p.k}`, replicate: p.replicate, alpha: q.alpha, error: 100 * q.testError })),
  );
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Test error along the linear path between two copies', subtitle: 'θ(α) = (1 − α)·θ₁ + α·θ₂; copies trained from θk ⊙ m with different data orders' },
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, sort: null },
    columns: 3,
    spec: {
      width: 260,
      height: 180,
      mark: { type: 'line', point: { size: 18 } },
      encoding: {
        x: { field: 'alpha', type: 'quantitative', title: 'α', scale: { domain: [0, 1] } },
        y: { field: 'error', type: 'quantitative', title: 'test error (%)', scale: { zero: false } },
        color: { field: 'k', type: 'nominal', title: 'rewind point', sort: null },
        detail: { field: 'replicate', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
    config,
  } as unknown as TopLevelSpec;
  return {
    id: 'instability-paths',
    title: 'Linear paths',
    caption: 'Test error of the network θ(α) on the straight line between two copies of the subnetwork, trained from the same rewind point θk ⊙ m with different data orders (pruned weights stay zero along the path). A flat line: the copies are in one linearly connected valley (stable); a bump: an error barrier (unstable).',
    spec,
  };
}

/** The error barrier against `x` (k or % remaining), one line per `line`. */
function barrierChart(points: InstabilityPoint[], c: { id: string; title: string; caption: string; x: 'k' | 'percentRemaining'; line: (p: InstabilityPoint) => string; lineTitle: string }): ChartSpec {
  const values = points.map((p) => ({ series: p.series, line: manySeries(points) ? `${p.series}: ${c.line(p)}` : c.line(p), x: c.x === 'k' ? p.k : p.percentRemaining, barrier: 100 * p.errorBarrier, replicate: p.replicate }));
  const x =
    c.x === 'k'
      ? { field: 'x', type: 'ordinal', title: 'rewind iteration k', sort: 'ascending', axis: { labelAngle: 0 } }
      : { field: 'x', type: 'quantitative', title: 'weights remaining (%, log scale)', scale: { type: 'log', reverse: true } };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: c.title, subtitle: 'error barrier: max over α of the test error − the mean of the two copies’ errors; mean over replicates' },
    width: 420,
    height: 260,
    data: { values },
    mark: { type: 'line', point: { size: 40 } },
    encoding: {
      x,
      y: { aggregate: 'mean', field: 'barrier', type: 'quantitative', title: 'test error barrier (percentage points)' },
      color: { field: 'line', type: 'nominal', title: c.lineTitle, sort: null },
    },
    config,
  } as unknown as TopLevelSpec;
  return { id: c.id, title: c.title, caption: c.caption, spec };
}

/** The connectivity charts of a report, or none when no run has an instability result. */
export function connectivityCharts(data: ReportData): ChartSpec[] {
  const all = loadInstability(data);
  const points = all.filter((p) => !p.random);
  if (!points.length) return [];
  const charts = [
    pathChart(all.filter((p) => p.path.length)),
    barrierChart(points, {
      id: 'instability-vs-k',
      title: 'Instability vs rewind iteration',
      caption: 'The error barrier between two copies trained from θk ⊙ m, against the rewind iteration k, one line per level (Frankle et al. 2020, figure 4). Below about 2 points the subnetwork is stable to SGD noise from k on.',
      x: 'k',
      line: levelLabel,
      lineTitle: 'level',
    }),
    barrierChart(points, {
      id: 'instability-vs-sparsity',
      title: 'Instability vs weights remaining',
      caption: 'The error barrier against the fraction of weights remaining, one line per rewind iteration k.',
      x: 'percentRemaining',
      line: (p) => `k = ${p.k}`,
      lineTitle: 'rewind point',
    }),
  ];
  if (all.some((p) => p.random)) {
    charts.push(
      barrierChart(all, {
        id: 'instability-ticket-vs-random',
        title: 'Instability: tickets vs random pruning',
        caption:
          'The error barrier of the ticket and of random pruning at the same per-layer sparsity (the masks of the random-prune control), against the weights remaining. The paper finds IMP subnetworks stable where random pruning at the same sparsity is not.',
        x: 'percentRemaining',
        line: (p) => `${pruningLabel(p)}, k = ${p.k}`,
        lineTitle: 'subnetwork',
      }),
    );
  }
  return charts;
}
