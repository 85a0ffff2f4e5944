import type { EvalRecord } from '@lth/core';
import type { ChartSpec } from './charts.js';
import { CHART_FONT, interactiveParams, pickedOpacity } from './charts.js';
import { type ReportData, seriesLevels } from './data.js';

/** At most this many series get learning curves (one small panel each). */
const MAX_PANELS = 12;

/** One evaluation of one level: a line of its metrics.jsonl, with the level it belongs to. */
export interface CurveRow extends EvalRecord {
  level: number;
}

/** The name of the curves' dataset: the dashboard inserts the evaluations of a live run into it. */
export const CURVES_DATA = 'metrics';

const SPLITS = ['train', 'validation', 'test'] as const;

function curvePanel(measure: 'Loss' | 'Accuracy', size: { width: number; height: number }): unknown {
  const name = measure === 'Loss' ? 'loss' : 'accuracy';
  return {
    ...size,
    title: { text: measure === 'Loss' ? 'loss (cross-entropy)' : 'accuracy (%)', fontSize: 12, fontWeight: 'normal' },
    transform: [
      { fold: SPLITS.map((s) => `${s}${measure}`), as: ['key', 'raw'] },
      { calculate: `replace(datum.key, '${measure}', '')`, as: 'split' },
      { calculate: measure === 'Loss' ? 'datum.raw' : '100 * datum.raw', as: 'value' },
    ],
    // The legend picks levels in both panels: the selection is declared once, in the first.
    params: interactiveParams('level', { zoom: true, name: measure === 'Loss' ? '' : 'Accuracy' }).filter(
      (p) => measure === 'Loss' || (p as { name: string }).name.startsWith('zoom'),
    ),
    mark: { type: 'line', strokeWidth: 1.4, point: { filled: true, size: 14 } },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
      // Loss on a log scale: the first evaluations' loss would flatten the rest of the curve.
      y: { field: 'value', type: 'quantitative', title: measure === 'Loss' ? 'loss (log scale)' : name, scale: measure === 'Loss' ? { type: 'log' } : { zero: false } },
      color: { field: 'level', type: 'ordinal', scale: { scheme: 'viridis', reverse: true }, title: 'level' },
      strokeDash: {
        field: 'split',
        type: 'nominal',
        title: 'split',
        scale: { domain: [...SPLITS], range: [[1, 0], [5, 3], [2, 2]] },
        legend: { symbolType: 'stroke', symbolSize: 500, symbolStrokeWidth: 2 },
      },
      detail: { field: 'split', type: 'nominal' },
      opacity: pickedOpacity(),
      tooltip: [
        { field: 'level', type: 'ordinal' },
        { field: 'split', type: 'nominal' },
        { field: 'iteration', type: 'quantitative' },
        { field: 'value', type: 'quantitative', title: name, format: measure === 'Loss' ? '.4f' : '.2f' },
      ],
    },
  };
}

/**
 * Learning curves of one run (replicate): train, validation and test loss and accuracy against
 * the training iteration, one line per level (darker = sparser), split by dash. The report draws
 * it for a single run; the dashboard draws it live, inserting evaluations into `CURVES_DATA`.
 */
export function levelCurvesChart(rows: CurveRow[], options: { title?: string; width?: number } = {}): ChartSpec {
  const size = { width: options.width ?? 380, height: 240 };
  return {
    id: 'level-curves',
    title: options.title ?? 'Learning curves per level',
    caption:
      'Train (solid), validation (dashed) and test (dotted) loss and accuracy at every evaluation of each level (its metrics.jsonl); ' +
      'one line per level, darker = fewer weights remaining.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: options.title ?? 'Learning curves per level', anchor: 'start', fontSize: 14 },
      config: { font: CHART_FONT, view: { stroke: '#ddd' }, legend: { labelFontSize: 11, titleFontSize: 12 } },
      padding: 12,
      // Laid out again as evaluations arrive (live), so axes grow with their labels.
      autosize: { type: 'pad', resize: true },
      data: { name: CURVES_DATA, values: rows },
      hconcat: [curvePanel('Loss', size), curvePanel('Accuracy', size)],
    } as ChartSpec['spec'],
  };
}

/** Replicate 0's evaluations of every level of a series, as curve rows. */
function curveRows(series: ReportData['series'][number]): CurveRow[] {
  return seriesLevels(series)
    .filter((l) => l.replicate === 0)
    .flatMap(({ level, store }) => store.readMetricsTolerant().records.map((m) => ({ ...m, level })));
}

/**
 * Learning curves from each level's metrics.jsonl. For one series, every split's loss and
 * accuracy (`levelCurvesChart`); for several, test accuracy against the training iteration, one
 * line per level, a panel per series, replicate 0. Shows what the early-stop iteration
 * summarises: tickets learning faster than the dense net, and when they stop doing so.
 */
export function learningCurveCharts(data: ReportData): ChartSpec[] {
  if (data.series.length === 1) {
    const rows = curveRows(data.series[0]!);
    return rows.length ? [{ ...levelCurvesChart(rows, { title: 'Learning curves per level (replicate 0)' }), id: 'learning-curves' }] : [];
  }
  const series = data.series.slice(0, MAX_PANELS);
  const values = series.flatMap((s) => curveRows(s).map((m) => ({ series: s.name, level: m.level, iteration: m.iteration, testAccuracy: 100 * m.testAccuracy })));
  if (!values.length) return [];
  const more = data.series.length > MAX_PANELS ? ` (the first ${MAX_PANELS} of ${data.series.length} series)` : '';
  return [
    {
      id: 'learning-curves',
      title: 'Learning curves: test accuracy during training, per level',
      caption: `Test accuracy at every evaluation of each level (from its metrics.jsonl), replicate 0; one line per level, darker = fewer weights remaining${more}.`,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        config: { font: CHART_FONT, view: { stroke: '#ddd' } },
        data: { values },
        facet: { field: 'series', type: 'nominal', title: null, header: { labelLimit: 260 } },
        columns: Math.min(3, series.length),
        spec: {
          width: 260,
          height: 170,
          params: interactiveParams('level', { zoom: false }),
          mark: { type: 'line', strokeWidth: 1.3, point: { filled: true, size: 10 } },
          encoding: {
            x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
            y: { field: 'testAccuracy', type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false } },
            color: { field: 'level', type: 'ordinal', scale: { scheme: 'viridis', reverse: true }, title: 'level' },
            opacity: pickedOpacity(),
            tooltip: [
              { field: 'series', type: 'nominal' },
              { field: 'level', type: 'ordinal' },
              { field: 'iteration', type: 'quantitative' },
              { field: 'testAccuracy', type: 'quantitative', title: 'test accuracy (%)', format: '.2f' },
            ],
          },
        },
        resolve: { scale: { y: 'independent' } },
      } as ChartSpec['spec'],
    },
  ];
}
