/**
 * The chart of `lth compare`: how much two runs' masks agree as pruning proceeds. Jaccard index
 * against the weights remaining, one line per pair of runs, a panel per layer (and all layers),
 * with the Jaccard index of independent random masks of the same densities as a dark dashed line.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CHART_FONT, type ChartSpec, percentTicks } from './charts.js';

/** One row of the comparison, as `lth compare --json` prints it (the fields the chart reads). */
export interface OverlapChartRow {
  a: string;
  b: string;
  level: number;
  layer: string;
  remainingA: number;
  jaccard: number;
  randomJaccard: number;
}

export function overlapChart(rows: OverlapChartRow[]): ChartSpec {
  const pruned = rows.filter((r) => r.remainingA < 1);
  const values = pruned.map((r) => ({ pair: `${r.a} vs ${r.b}`, layer: r.layer, percentRemaining: 100 * r.remainingA, jaccard: r.jaccard, random: r.randomJaccard }));
  const xs = values.map((v) => v.percentRemaining);
  const lo = Math.min(...xs, 100);
  const hi = Math.max(...xs, 1e-9);
  const x = {
    field: 'percentRemaining',
    type: 'quantitative',
    title: 'weights remaining (%, log scale)',
    scale: { type: 'log', reverse: true, domain: [lo / 1.12, Math.min(100, hi * 1.12)], nice: false },
    axis: { values: percentTicks(lo / 1.12, Math.min(100, hi * 1.12)), format: '~g' },
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Mask overlap between runs', subtitle: 'Jaccard index |A ∩ B| / |A ∪ B| per level; dark dashed: independent random masks of the same densities' },
    data: { values },
    facet: { field: 'layer', type: 'nominal', title: null, sort: null },
    columns: 4,
    spec: {
      width: 240,
      height: 180,
      // The baseline is drawn last, so that it stays visible where a pair's overlap is at chance.
      layer: [
        {
          mark: { type: 'line', point: { size: 30 } },
          encoding: {
            x,
            y: { field: 'jaccard', type: 'quantitative', title: 'Jaccard index', scale: { domain: [0, 1] } },
            color: { field: 'pair', type: 'nominal', title: 'runs', sort: null, legend: { labelLimit: 1000 } },
          },
        },
        { mark: { type: 'line', color: '#555555', strokeDash: [3, 3], strokeWidth: 1.5 }, encoding: { x, y: { field: 'random', type: 'quantitative' }, detail: { field: 'pair', type: 'nominal' } } },
      ],
    },
    config: {
      font: CHART_FONT,
      background: 'white',
      padding: 12,
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
      legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom', direction: 'vertical' },
      title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555555', anchor: 'start', offset: 10 },
      header: { labelFontSize: 11 },
    },
  } as unknown as TopLevelSpec;
  return { id: 'mask-overlap', title: 'Mask overlap', caption: 'Jaccard index of two runs’ masks at each level, per layer', spec };
}
