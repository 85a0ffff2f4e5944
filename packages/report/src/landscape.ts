/**
 * The report's landscape section: the loss surfaces that the `landscape` branch
 * (@lth/analysis-landscape) stored, drawn side by side for the dense network and its tickets (same
 * axes, same colour scale), and their 1D slices. Read through the run store, like the rest of the
 * report: `line.json` (the 1D slice) and `surface.json` (the 2D grid, row by row) of each level's
 * landscape branch directory.
 */
import { RunStore } from '@lth/core';
import type { TopLevelSpec } from 'vega-lite';
import { CHART_FONT, type ChartSpec } from './charts.js';
import type { ReportData } from './data.js';
import { DEFAULT_VIEW, type SurfaceViewData, surfaceQuads, surfaceViewScript } from './landscape-3d.js';

/** What the landscape branch writes (its files' shapes, read here as plain JSON). */
interface Curves {
  trainLoss: number[];
  trainAccuracy: number[];
  testLoss: number[];
  testAccuracy: number[];
}
interface Line extends Curves {
  plane?: 'random' | 'solutions';
  alphas: number[];
}
interface Surface {
  axis: number[];
  rows: (Curves | null)[];
}

/** One level's landscape, as read from its branch directory. */
export interface LevelLandscape {
  series: string;
  level: number;
  percentRemaining: number;
  line: Line;
  /** Complete 2D grids only (a partly computed one is left out). */
  surface?: Surface;
}

/** Losses above this are drawn at it (the paper's contour plots stop at 10 too). */
const LOSS_CAP = 10;

/** The landscapes of replicate 0 of every run series (one branch setting: the first found per level). */
export function loadLandscapes(data: ReportData): LevelLandscape[] {
  const out: LevelLandscape[] = [];
  for (const s of data.series.filter((x) => !x.control && !x.branch)) {
    const store = new RunStore(s.runDir);
    if (!store.replicates().includes(0)) continue;
    const rep = store.replicate(0);
    for (const level of rep.levels()) {
      // The random plane (comparable across levels), not a plane through solutions, which differs per level.
      const found = rep
        .level(level)
        .branches()
        .find((b) => b.name === 'landscape' && b.store.has('line.json') && b.store.readJson<Line>('line.json').plane !== 'solutions');
      const row = data.rows.find((r) => r.series === s.name && r.replicate === 0 && r.level === level);
      if (!found || !row) continue;
      const surface = found.store.has('surface.json') ? found.store.readJson<Surface>('surface.json') : undefined;
      out.push({
        series: s.name,
        level,
        percentRemaining: 100 * row.fractionRemaining,
        line: found.store.readJson<Line>('line.json'),
        surface: surface?.rows.every((r) => r) ? surface : undefined,
      });
    }
  }
  return out;
}

const panelName = (l: LevelLandscape, manySeries: boolean) =>
  `${manySeries ? `${l.series}, ` : ''}level ${l.level} (${l.percentRemaining < 10 ? l.percentRemaining.toFixed(2) : l.percentRemaining.toFixed(1)}% remaining)`;

/**
 * Isolines of a grid by marching squares: for each level, the segments where the bilinear surface
 * crosses it. `z[r][c]` is the value at (xs[c], ys[r]).
 */
export function contourSegments(xs: number[], ys: number[], z: number[][], levels: number[]): { level: number; x: number; y: number; x2: number; y2: number }[] {
  const out: { level: number; x: number; y: number; x2: number; y2: number }[] = [];
  for (const t of levels) {
    for (let r = 0; r + 1 < ys.length; r++) {
      for (let c = 0; c + 1 < xs.length; c++) {
        // Corners counter-clockwise from (c, r); an edge crosses t when its ends lie on either side.
        const corners: [number, number, number][] = [
          [xs[c]!, ys[r]!, z[r]![c]!],
          [xs[c + 1]!, ys[r]!, z[r]![c + 1]!],
          [xs[c + 1]!, ys[r + 1]!, z[r + 1]![c + 1]!],
          [xs[c]!, ys[r + 1]!, z[r + 1]![c]!],
        ];
        const points: [number, number][] = [];
        for (let e = 0; e < 4; e++) {
          const [x1, y1, v1] = corners[e]!;
          const [x2, y2, v2] = corners[(e + 1) % 4]!;
          if (v1 < t !== v2 < t) {
            const f = (t - v1) / (v2 - v1);
            points.push([x1 + f * (x2 - x1), y1 + f * (y2 - y1)]);
          }
        }
        for (let i = 0; i + 1 < points.length; i += 2) {
          out.push({ level: t, x: points[i]![0], y: points[i]![1], x2: points[i + 1]![0], y2: points[i + 1]![1] });
        }
      }
    }
  }
  return out;
}

/** Contour levels: `count` values spaced evenly in log between the lowest loss and the cap. */
export function contourLevels(min: number, max: number, count = 12): number[] {
  const lo = Math.log(Math.max(min, 1e-6));
  const hi = Math.log(Math.min(max, LOSS_CAP));
  if (!(hi > lo)) return [];
  return Array.from({ length: count }, (_, i) => Number(Math.exp(lo + ((hi - lo) * (i + 0.5)) / count).toPrecision(3)));
}

const config = { font: CHART_FONT, view: { stroke: null }, axis: { grid: false }, title: { anchor: 'start' as const } };

function surfaceChart(landscapes: LevelLandscape[], manySeries: boolean): ChartSpec | null {
  const withSurface = landscapes.filter((l) => l.surface);
  if (!withSurface.length) return null;
  const cells: Record<string, unknown>[] = [];
  const segments: Record<string, unknown>[] = [];
  const all = withSurface.flatMap((l) => l.surface!.rows.flatMap((r) => r!.trainLoss));
  const levels = contourLevels(Math.min(...all), Math.max(...all));
  for (const l of withSurface) {
    const { axis, rows } = l.surface!;
    const half = axis.length > 1 ? (axis[1]! - axis[0]!) / 2 : 0.5;
    const panel = panelName(l, manySeries);
    const z = rows.map((r) => r!.trainLoss.map((v) => Math.min(v, LOSS_CAP)));
    z.forEach((row, r) =>
      row.forEach((loss, c) => cells.push({ kind: 'cell', panel, x: axis[c]! - half, x2: axis[c]! + half, y: axis[r]! - half, y2: axis[r]! + half, loss })),
    );
    for (const s of contourSegments(axis, axis, z, levels)) segments.push({ kind: 'contour', panel, ...s });
  }
  const order = withSurface.map((l) => panelName(l, manySeries));
  const xy = (f: string, title: string) => ({ field: f, type: 'quantitative', title, scale: { nice: false, zero: false } });
  return {
    id: 'landscape-surfaces',
    title: 'Loss landscape around θT: dense network vs tickets',
    caption:
      'Training loss on a 2D slice θT + α·δ + β·η through each level’s trained weights, along two seeded random directions drawn once ' +
      'for the whole run, zeroed on pruned weights and filter-normalised to each level’s own weights (Li et al. 2018), so every point ' +
      `of a ticket’s panel is a network with the ticket’s mask. Same colour scale (log) for every panel; losses above ${LOSS_CAP} are drawn ` +
      `at ${LOSS_CAP}; white lines are contours at log-spaced losses.`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Loss landscape around θT (training loss)', subtitle: 'filter-normalised random directions inside each mask; same directions and colour scale for every level' },
      facet: { column: { field: 'panel', type: 'nominal', title: null, sort: order } },
      spec: {
        width: 240,
        height: 240,
        layer: [
          {
            transform: [{ filter: "datum.kind === 'cell'" }],
            mark: { type: 'rect' },
            encoding: {
              x: xy('x', 'α (first direction)'),
              x2: { field: 'x2' },
              y: xy('y', 'β (second direction)'),
              y2: { field: 'y2' },
              color: { field: 'loss', type: 'quantitative', title: 'train loss', scale: { type: 'log', scheme: 'viridis' } },
            },
          },
          {
            transform: [{ filter: "datum.kind === 'contour'" }],
            mark: { type: 'rule', color: 'white', strokeWidth: 0.8, opacity: 0.85 },
            encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, x2: { field: 'x2' }, y2: { field: 'y2' } },
          },
        ],
      },
      // One data source for the facet: cells and contour segments, told apart by `kind`.
      data: { values: [...cells, ...segments] },
      resolve: { scale: { color: 'shared' } },
      config,
    } as unknown as TopLevelSpec,
  };
}

function surface3dChart(landscapes: LevelLandscape[], manySeries: boolean): ChartSpec | null {
  const withSurface = landscapes.filter((l) => l.surface);
  if (!withSurface.length) return null;
  const capped = withSurface.map((l) => l.surface!.rows.map((r) => r!.trainLoss.map((v) => Math.min(v, LOSS_CAP))));
  const all = capped.flat(2);
  const logRange: [number, number] = [Math.log10(Math.min(...all)), Math.log10(Math.max(...all))];
  const features: unknown[] = [];
  const titles: unknown[] = [];
  withSurface.forEach((l, i) => {
    const offset = i * 3.2;
    for (const q of surfaceQuads(l.surface!.axis, capped[i]!, logRange, offset, DEFAULT_VIEW)) {
      features.push({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [q.polygon] }, properties: { loss: q.loss } });
    }
    titles.push({ x: offset, y: 2.05, text: panelName(l, manySeries) });
  });
  const live: SurfaceViewData = {
    panels: withSurface.map((l, i) => ({ title: panelName(l, manySeries), axis: l.surface!.axis, z: capped[i]! })),
    logRange,
    view: DEFAULT_VIEW,
  };
  return {
    id: 'landscape-3d',
    title: 'Loss surfaces around θT: dense network vs tickets (3D)',
    caption:
      'The training-loss surfaces of the 2D slices above, drawn in 3D: height and colour are the (log) training loss, on one scale for every ' +
      'panel; α and β run over the same range in every panel. The same seeded directions, masked and filter-normalised per level. ' +
      `Losses above ${LOSS_CAP} are drawn at ${LOSS_CAP}. In the HTML page, drag a surface to turn them all (the static view stays where JavaScript is off).`,
    live: { script: surfaceViewScript(), data: live },
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Loss surfaces around θT (training loss, 3D)', subtitle: 'height and colour: log training loss, one scale for every panel' },
      width: 300 * withSurface.length,
      height: 300,
      projection: { type: 'identity', reflectY: true },
      layer: [
        {
          data: { values: { type: 'FeatureCollection', features }, format: { type: 'json', property: 'features' } },
          mark: { type: 'geoshape', stroke: '#222222', strokeWidth: 0.25, strokeOpacity: 0.6 },
          encoding: { color: { field: 'properties.loss', type: 'quantitative', title: 'train loss', scale: { type: 'log', scheme: 'viridis' } } },
        },
        {
          data: { values: titles },
          mark: { type: 'text', fontSize: 13, fontWeight: 'bold', baseline: 'bottom' },
          encoding: { longitude: { field: 'x', type: 'quantitative' }, latitude: { field: 'y', type: 'quantitative' }, text: { field: 'text' } },
        },
      ],
      config,
    } as unknown as TopLevelSpec,
  };
}

function lineChart(landscapes: LevelLandscape[], manySeries: boolean): ChartSpec | null {
  if (!landscapes.length) return null;
  const values = landscapes.flatMap((l) =>
    l.line.alphas.flatMap((alpha, i) => [
      { panel: panelName(l, manySeries), alpha, split: 'train', loss: Math.min(l.line.trainLoss[i]!, LOSS_CAP) },
      { panel: panelName(l, manySeries), alpha, split: 'test', loss: Math.min(l.line.testLoss[i]!, LOSS_CAP) },
    ]),
  );
  return {
    id: 'landscape-lines',
    title: 'Loss along one filter-normalised direction',
    caption:
      'Training (solid) and test (dashed) loss along θT + α·δ, δ the first landscape direction (the same seeded draw for every level, ' +
      `masked and filter-normalised to each level’s weights). A flatter curve is a wider basin. Losses above ${LOSS_CAP} are drawn at ${LOSS_CAP}.`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Loss along one filter-normalised direction', subtitle: 'solid: training subset; dashed: test set' },
      width: 520,
      height: 320,
      data: { values },
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x: { field: 'alpha', type: 'quantitative', title: 'α (first direction)' },
        y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { type: 'log' } },
        color: { field: 'panel', type: 'nominal', title: 'level', sort: landscapes.map((l) => panelName(l, manySeries)), legend: { labelLimit: 400 } },
        strokeDash: { field: 'split', type: 'nominal', title: 'split', scale: { domain: ['train', 'test'], range: [[1, 0], [5, 3]] } },
        detail: { field: 'split' },
      },
      config,
    } as TopLevelSpec,
  };
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * One table of the numbers behind the landscape charts, a row per (series, replicate, level) that
 * has a `landscape` (random plane) or `sharpness` result: the loss and accuracy at θT, how fast the
 * loss rises along the slices, and the Hessian's λmax and trace in the mask's subspace.
 */
export function landscapeTable(data: ReportData): string {
  const key = (b: { series: string; replicate: number; level: number }) => `${b.series}\u0000${b.replicate}\u0000${b.level}`;
  const landscapes = new Map(data.branches.filter((b) => b.branch === 'landscape' && b.result.plane !== 'solutions').map((b) => [key(b), b.result]));
  const sharpness = new Map(data.branches.filter((b) => b.branch === 'sharpness').map((b) => [key(b), b.result]));
  const keys = [...new Set([...landscapes.keys(), ...sharpness.keys()])];
  if (!keys.length) return '';
  const rows = data.rows.filter((r) => keys.includes(key(r)));
  const n = (v: unknown, digits = 4) => (typeof v === 'number' && Number.isFinite(v) ? v.toPrecision(digits) : '–');
  const pct = (v: unknown) => (typeof v === 'number' ? `${(100 * v).toFixed(2)}` : '–');
  const body = rows.map((r) => {
    const l = landscapes.get(key(r)) ?? {};
    const s = sharpness.get(key(r)) ?? {};
    const trace = typeof s.trace === 'number' ? `${n(s.trace)}${typeof s.traceStandardError === 'number' ? ` ± ${n(s.traceStandardError, 2)}` : ''}` : '–';
    const cells = [n(100 * r.fractionRemaining), n(l.trainLoss), n(l.testLoss), pct(l.testAccuracy), n(l.trainRiseAt05), n(l.trainRiseAt1), n(l.curvature), n(s.lambdaMax), trace];
    return `<tr><td class="l">${escape(r.series)}</td><td>${r.replicate}</td><td>${r.level}</td>${cells.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`;
  });
  const head = ['weights remaining (%)', 'train loss at θT', 'test loss at θT', 'test acc. (%)', 'train-loss rise at |α| = 0.5', 'at |α| = 1', 'curvature along δ', 'λmax (mask)', 'trace (mask)'];
  return (
    `<h3 id="landscape-numbers">Landscape and sharpness</h3>\n<p class="meta">From the <code>landscape</code> (random plane) and <code>sharpness</code> branches: ` +
    `losses on the branches' training subset and test set; rises along the first filter-normalised direction; Hessian of the training loss restricted to the surviving weights.</p>\n` +
    `<table><thead><tr><th class="l">series</th><th>replicate</th><th>level</th>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`
  );
}

/** The landscape charts of a run or sweep: none when no level has a landscape branch on disk. */
export function landscapeCharts(data: ReportData): ChartSpec[] {
  const landscapes = loadLandscapes(data);
  const manySeries = new Set(landscapes.map((l) => l.series)).size > 1;
  return [surface3dChart(landscapes, manySeries), surfaceChart(landscapes, manySeries), lineChart(landscapes, manySeries)].filter((c): c is ChartSpec => c !== null);
}
