import type { ChartSpec } from './charts.js';
import { CHART_FONT } from './charts.js';
import { type ReportData, seriesLevels } from './data.js';

/** At most this many series get learning curves (one small panel each). */
const MAX_PANELS = 12;

/**
 * Learning curves from each level's metrics.jsonl: test accuracy against the training iteration,
 * one line per level (darker = sparser), a panel per series, replicate 0. Shows what the
 * early-stop iteration summarises: tickets learning faster than the dense net, and when they
 * stop doing so.
 */
export function learningCurveCharts(data: ReportData): ChartSpec[] {
  const series = data.series.slice(0, MAX_PANELS);
  const values = series.flatMap((s) =>
    seriesLevels(s)
      .filter((l) => l.replicate === 0)
      .flatMap(({ level, store }) =>
        store.readMetrics().map((m) => ({ series: s.name, level, iteration: m.iteration, testAccuracy: 100 * m.testAccuracy })),
      ),
  );
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
          mark: { type: 'line', strokeWidth: 1.3 },
          encoding: {
            x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
            y: { field: 'testAccuracy', type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false } },
            color: { field: 'level', type: 'ordinal', scale: { scheme: 'viridis', reverse: true }, title: 'level' },
          },
        },
        resolve: { scale: { y: 'independent' } },
      } as ChartSpec['spec'],
    },
  ];
}
