import type { TopLevelSpec } from 'vega-lite';
import { aggregate, type ControlKind, type ReportData, type ReportRow, type SeriesPoint } from './data.js';

/** The font stack of every chart; the PNG renderer maps it to an installed sans-serif font. */
export const CHART_FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** A chart of the report: a stable id (file names, anchors), a caption, and its vega-lite spec. */
export interface ChartSpec {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
  /**
   * A chart that vega cannot make live (the rotatable 3D surfaces): the page runs `script`, the
   * source of a function `(element, data)`, instead of vega-embed, and keeps the static SVG of
   * `spec` if it throws.
   */
  live?: { script: string; data: unknown };
}

const SPREAD = 'band: min–max over replicates';

// Tableau 10: distinguishable hues, one per variant; a variant's controls get shades of its hue.
const HUES = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const CONTROL_DASH: Record<ControlKind, number[]> = { reinit: [6, 3], 'random-prune': [2, 2], shuffle: [8, 3, 2, 3] };

function mix(hex: string, toward: string, amount: number): string {
  const parse = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
  const a = parse(hex);
  const b = parse(toward);
  return `#${a.map((v, i) => Math.round(v + (b[i]! - v) * amount).toString(16).padStart(2, '0')).join('')}`;
}

/** Colour and dash of each series: variants solid in their own hue, controls dashed in darker/lighter shades of it. */
export function seriesStyles(data: Pick<ReportData, 'series'>): { domain: string[]; colors: string[]; dashes: number[][] } {
  const labels = [...new Set(data.series.map((s) => s.label))];
  const controlsSeen = new Map<string, number>();
  const domain: string[] = [];
  const colors: string[] = [];
  const dashes: number[][] = [];
  for (const s of data.series) {
    if (domain.includes(s.name)) continue;
    const hue = HUES[labels.indexOf(s.label) % HUES.length]!;
    domain.push(s.name);
    if (!s.control) {
      colors.push(hue);
      dashes.push([1, 0]);
    } else {
      const k = controlsSeen.get(s.label) ?? 0;
      controlsSeen.set(s.label, k + 1);
      colors.push(k % 2 === 0 ? mix(hue, '#000000', 0.35 + 0.1 * Math.floor(k / 2)) : mix(hue, '#ffffff', 0.4 + 0.1 * Math.floor(k / 2)));
      dashes.push(CONTROL_DASH[s.control] ?? [4, 2]);
    }
  }
  return { domain, colors, dashes };
}

/** Tick values for a log axis of % remaining: 1-2-5 steps, denser when the range spans little. */
export function percentTicks(min: number, max: number): number[] {
  const coarse: number[] = [];
  const fine: number[] = [];
  for (let e = 2; e >= -4; e--) {
    for (const m of [10, 5, 2]) coarse.push((m * 10 ** e) / 10);
    for (const m of [10, 8, 6, 5, 4, 3, 2, 1.5]) fine.push((m * 10 ** e) / 10);
  }
  const within = (v: number) => v <= max * 1.0001 && v >= min * 0.9999 && v <= 100;
  const ticks = coarse.filter(within);
  const chosen = ticks.length >= 4 ? ticks : fine.filter(within);
  return [...new Set(chosen.map((v) => Number(v.toPrecision(3))))];
}

function xAxis(points: { percentRemaining: number }[]) {
  const xs = points.map((p) => p.percentRemaining).filter((v) => v > 0);
  const lo = Math.min(...xs, 100);
  const hi = Math.max(...xs, 1e-9);
  return {
    field: 'percentRemaining',
    type: 'quantitative' as const,
    title: 'weights remaining (%, log scale)',
    // Padded so the 100% point and the sparsest one are not cut in half by the frame.
    scale: { type: 'log' as const, reverse: true, domain: [lo / 1.12, hi * 1.08], nice: false },
    axis: { values: percentTicks(lo / 1.12, hi), format: '~g', labelFlush: false },
  };
}

const baseConfig = {
  font: CHART_FONT,
  background: 'white',
  padding: 12,
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const, titlePadding: 8, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 480, symbolStrokeWidth: 2.5, symbolSize: 260, rowPadding: 4 },
  title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555555', anchor: 'start' as const, offset: 10 },
  header: { labelFontSize: 11, labelLimit: 400, titleFontSize: 12 },
  line: { strokeWidth: 2 },
};

// A control's panel title goes on two lines ("<label>" / "<control>"), so panels stay narrow.
const SPLIT_HEADER = { labelFontSize: 11, labelExpr: "split(datum.label, ' / ')" };

const colorScale = (styles: ReturnType<typeof seriesStyles>) => ({ domain: styles.domain, range: styles.colors });
const dashScale = (styles: ReturnType<typeof seriesStyles>) => ({ domain: styles.domain, range: styles.dashes });

/**
 * What makes a chart interactive where JavaScript runs it (vega-embed: the report's HTML, the
 * dashboard): drag and wheel to zoom and pan (an interval bound to the scales, not in faceted
 * charts, where vega-lite cannot bind scales), click a legend entry to pick series (shift-click
 * for several). The static SVG drawn from the same spec is unchanged: nothing is picked there.
 */
export function interactiveParams(legendField: string, options: { zoom: boolean; name?: string }): unknown[] {
  const name = options.name ?? '';
  return [
    ...(options.zoom ? [{ name: `zoom${name}`, select: { type: 'interval', encodings: ['x', 'y'] }, bind: 'scales' }] : []),
    { name: `pick${name}`, select: { type: 'point', fields: [legendField] }, bind: 'legend' },
  ];
}

/** Picked series (and all while none is picked) drawn full, the others faint. */
export const pickedOpacity = (name = '') => ({ condition: { param: `pick${name}`, value: 1 }, value: 0.12 });

/** The dense reference: level 0 of the variants (not controls), mean over replicates. */
export function denseReference(data: Pick<ReportData, 'rows' | 'series'>, measure: (r: ReportRow) => number): { series: string; value: number }[] {
  const variants = data.rows.filter((r) => r.level === 0 && r.control === null);
  const rows = variants.length ? variants : data.rows.filter((r) => r.level === 0);
  return aggregate({ rows, series: data.series }, measure).map((p) => ({ series: p.series, value: p.mean }));
}

interface MeasureChart {
  id: string;
  title: string;
  yTitle: string;
  caption: string;
  measure: (r: ReportRow) => number;
  format: (v: number) => string;
  /** d3-format of the values in tooltips (default `.2f`). */
  tooltipFormat?: string;
  zero?: boolean;
}

function measureChart(data: ReportData, c: MeasureChart): ChartSpec {
  const styles = seriesStyles(data);
  const points = aggregate(data, c.measure);
  const dense = denseReference(data, c.measure);
  const denseValues = [...new Set(dense.map((d) => Number(d.value.toPrecision(10))))];
  const sharedDense = denseValues.length === 1;
  const replicates = Math.max(0, ...points.map((p) => p.n));
  const x = xAxis(points);
  const denseNote = !dense.length
    ? 'no dense (level 0) result on disk yet'
    : sharedDense
      ? `grey dashed rule: dense net (level 0), ${c.format(denseValues[0]!)}`
      : 'dashed rules: each variant’s dense net (level 0)';
  const subtitle = [`lines: mean over replicates (up to ${replicates}); ${SPREAD}`, denseNote];
  const bands = points.filter((p) => p.n > 1).map((p) => ({ ...p, bandOf: p.series }));
  const layers: unknown[] = [];
  // No band without a spread (one replicate): an empty layer has no extent (browsers log a warning).
  if (bands.length) {
    layers.push({
      data: { values: bands },
      mark: { type: 'area', opacity: 0.16 },
      encoding: {
        x,
        y: { field: 'min', type: 'quantitative' },
        y2: { field: 'max' },
        // Another field name: vega-lite merges legends of one field, and legend: null would hide the series legend.
        fill: { field: 'bandOf', type: 'nominal', scale: colorScale(styles), legend: null },
      },
    });
  }
  if (dense.length) {
    layers.push(
      sharedDense
        ? {
            data: { values: [{ value: denseValues[0] }] },
            mark: { type: 'rule', color: '#555555', strokeDash: [5, 4], strokeWidth: 1.5 },
            encoding: { y: { field: 'value', type: 'quantitative' } },
          }
        : {
            data: { values: dense.map((d) => ({ ...d, denseOf: d.series })) },
            mark: { type: 'rule', strokeDash: [5, 4], strokeWidth: 1.2, opacity: 0.8 },
            encoding: {
              y: { field: 'value', type: 'quantitative' },
              stroke: { field: 'denseOf', type: 'nominal', scale: colorScale(styles), legend: null },
            },
          },
    );
  }
  layers.push({
    data: { values: points },
    params: interactiveParams('series', { zoom: true }),
    mark: { type: 'line', point: { filled: true, size: 30 } },
    encoding: {
      x,
      opacity: pickedOpacity(),
      tooltip: [
        { field: 'series', type: 'nominal' },
        { field: 'level', type: 'quantitative' },
        { field: 'percentRemaining', type: 'quantitative', title: 'weights remaining (%)', format: '.4~r' },
        { field: 'mean', type: 'quantitative', title: `${c.yTitle}, mean`, format: c.tooltipFormat ?? '.2f' },
        { field: 'min', type: 'quantitative', title: 'min', format: c.tooltipFormat ?? '.2f' },
        { field: 'max', type: 'quantitative', title: 'max', format: c.tooltipFormat ?? '.2f' },
        { field: 'n', type: 'quantitative', title: 'replicates' },
      ],
      y: { field: 'mean', type: 'quantitative', title: c.yTitle, scale: { zero: c.zero ?? false } },
      color: {
        field: 'series',
        type: 'nominal',
        title: 'series',
        scale: colorScale(styles),
        sort: null,
        // A line, not the point mark's circle, so the legend shows each series' dash pattern.
        legend: { symbolType: 'stroke', symbolSize: 600, symbolStrokeWidth: 2.5 },
      },
      strokeDash: { field: 'series', type: 'nominal', title: 'series', scale: dashScale(styles), sort: null },
      order: { field: 'level' },
    },
  });
  return {
    id: c.id,
    title: c.title,
    caption: c.caption,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: c.title, subtitle },
      width: 520,
      height: 320,
      layer: layers,
      config: baseConfig,
    } as TopLevelSpec,
  };
}

function trainTestChart(data: ReportData): ChartSpec {
  const train = aggregate(data, (r) => r.finalTrainLoss).map((p) => ({ ...p, split: 'train' }));
  const test = aggregate(data, (r) => r.finalTestLoss).map((p) => ({ ...p, split: 'test' }));
  const points = [...train, ...test];
  const ys = points.flatMap((p) => [p.mean]).filter((v) => v > 0);
  const logY = ys.length > 0 && ys.length === points.length && Math.max(...ys) / Math.min(...ys) > 20;
  const seriesNames = [...new Set(points.map((p) => p.series))];
  // One row per variant with its controls beside it, when that fits; otherwise three panels a row.
  const perLabel = Math.max(0, ...[...new Set(data.series.map((x) => x.label))].map((l) => data.series.filter((x) => x.label === l && seriesNames.includes(x.name)).length));
  const columns = perLabel > 1 && perLabel <= 4 ? perLabel : Math.min(3, Math.max(1, seriesNames.length));
  const x = xAxis(points);
  return {
    id: 'train-test-loss',
    title: 'Final train loss vs final test loss',
    caption:
      'Final train loss (solid) and final test loss (dashed) at each level, mean over replicates, one panel per series. ' +
      'Pruned networks that fit worse yet generalise better show the train loss rising while the test loss stays level or falls.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: 'Final train loss vs final test loss',
        subtitle: [`mean over replicates; train solid, test dashed${logY ? '; log y scale' : ''}`],
      },
      data: { values: points },
      facet: { field: 'series', type: 'nominal', title: null, sort: seriesNames, header: SPLIT_HEADER },
      columns,
      spec: {
        width: seriesNames.length > 1 ? 240 : 520,
        height: seriesNames.length > 1 ? 170 : 300,
        params: interactiveParams('split', { zoom: false }),
        mark: { type: 'line', point: { filled: true, size: 22 } },
        encoding: {
          opacity: pickedOpacity(),
          tooltip: [
            { field: 'series', type: 'nominal' },
            { field: 'split', type: 'nominal', title: 'loss' },
            { field: 'level', type: 'quantitative' },
            { field: 'percentRemaining', type: 'quantitative', title: 'weights remaining (%)', format: '.4~r' },
            { field: 'mean', type: 'quantitative', title: 'final loss, mean', format: '.4f' },
          ],
          x: { ...x, title: 'weights remaining (%, log)' },
          y: {
            field: 'mean',
            type: 'quantitative',
            title: `final loss (cross-entropy${logY ? ', log' : ''})`,
            scale: logY ? { type: 'log' } : { zero: true },
          },
          color: {
            field: 'split',
            type: 'nominal',
            title: 'loss',
            scale: { domain: ['train', 'test'], range: ['#4e79a7', '#e15759'] },
            legend: { symbolType: 'stroke', symbolSize: 600, symbolStrokeWidth: 2.5 },
          },
          strokeDash: { field: 'split', type: 'nominal', title: 'loss', scale: { domain: ['train', 'test'], range: [[1, 0], [6, 3]] } },
          order: { field: 'level' },
        },
      },
      resolve: { scale: { y: 'shared' } },
      config: baseConfig,
    } as TopLevelSpec,
  };
}

function layerChart(data: ReportData): ChartSpec {
  const variantRows = data.rows.filter((r) => r.control === null);
  const rows = variantRows.length ? variantRows : data.rows;
  const layerNames = [...new Set(rows.flatMap((r) => Object.keys(r.layerFractions ?? {})))];
  const ALL = 'all prunable weights';
  const points: (SeriesPoint & { layer: string })[] = [];
  for (const layer of [...layerNames, ALL]) {
    const measure = (r: ReportRow) => 100 * (layer === ALL ? r.fractionRemaining : (r.layerFractions?.[layer] ?? Number.NaN));
    for (const p of aggregate({ rows, series: data.series }, measure)) points.push({ ...p, layer });
  }
  const seriesNames = [...new Set(points.map((p) => p.series))];
  const columns = seriesNames.length === 4 ? 2 : Math.min(3, Math.max(1, seriesNames.length));
  const positive = points.filter((p) => p.mean > 0);
  const lo = Math.min(...positive.map((p) => p.mean), 100);
  const palette = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#e15759', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#bab0ac'];
  const layerColors = [...layerNames.map((_, i) => palette[i % palette.length]!), '#222222'];
  return {
    id: 'layer-fractions',
    title: 'Weights remaining per layer',
    caption:
      'Fraction of each layer’s prunable weights that survive at each level (mean over replicates), one panel per variant; ' +
      'controls keep their variant’s per-layer counts, so they are not drawn. The black dashed line is the whole network.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Weights remaining per layer', subtitle: ['mean over replicates; black dashed: all prunable weights'] },
      data: { values: positive },
      facet: { field: 'series', type: 'nominal', title: null, sort: seriesNames, header: SPLIT_HEADER },
      columns,
      spec: {
        width: seriesNames.length > 1 ? 240 : 520,
        height: seriesNames.length > 1 ? 170 : 300,
        params: interactiveParams('layer', { zoom: false }),
        mark: { type: 'line', point: { filled: true, size: 18 } },
        encoding: {
          opacity: pickedOpacity(),
          tooltip: [
            { field: 'series', type: 'nominal' },
            { field: 'layer', type: 'nominal' },
            { field: 'level', type: 'quantitative' },
            { field: 'mean', type: 'quantitative', title: 'weights remaining (%)', format: '.4~r' },
          ],
          x: { field: 'level', type: 'quantitative', title: 'pruning level', axis: { tickMinStep: 1, format: 'd' } },
          y: {
            field: 'mean',
            type: 'quantitative',
            title: 'weights remaining (%, log scale)',
            scale: { type: 'log', domain: [lo / 1.2, 110], nice: false },
            axis: { values: percentTicks(lo, 100), format: '~g' },
          },
          color: {
            field: 'layer',
            type: 'nominal',
            title: 'layer',
            scale: { domain: [...layerNames, ALL], range: layerColors },
            sort: null,
            legend: { symbolType: 'stroke', symbolSize: 600, symbolStrokeWidth: 2.5 },
          },
          // The whole-network line is dashed: where it coincides with a layer (layer-wise pruning), both show.
          strokeDash: { field: 'layer', type: 'nominal', title: 'layer', scale: { domain: [...layerNames, ALL], range: [...layerNames.map(() => [1, 0]), [5, 3]] }, sort: null },
          order: { field: 'level' },
        },
      },
      config: baseConfig,
    } as TopLevelSpec,
  };
}

/** The report's charts, built from the rows read from disk. */
export function reportCharts(data: ReportData): ChartSpec[] {
  const pct = (v: number) => `${v.toFixed(2)}%`;
  return [
    measureChart(data, {
      id: 'accuracy-early-stop',
      title: 'Test accuracy at early stop vs weights remaining',
      yTitle: 'test accuracy at early stop (%)',
      caption:
        'Test accuracy at the early-stop iteration (the evaluation with the lowest validation loss), per series: mean over replicates ' +
        'with the min–max band; the dashed rule is the dense network (level 0).',
      measure: (r) => 100 * r.earlyStopTestAccuracy,
      format: pct,
    }),
    measureChart(data, {
      id: 'accuracy-final',
      title: 'Test accuracy at the end of training vs weights remaining',
      yTitle: 'final test accuracy (%)',
      caption: 'Test accuracy at the last iteration of each level, mean over replicates with the min–max band; the dashed rule is the dense network (level 0).',
      measure: (r) => 100 * r.finalTestAccuracy,
      format: pct,
    }),
    measureChart(data, {
      id: 'early-stop-iteration',
      title: 'Early-stop iteration vs weights remaining',
      yTitle: 'early-stop iteration (training iterations)',
      caption:
        'The iteration of minimum validation loss, mean over replicates with the min–max band. Frankle & Carbin found winning tickets ' +
        'reach it earlier than the dense network (the dashed rule) until pruned too far, and random reinitialisation later.',
      measure: (r) => r.earlyStopIteration,
      format: (v) => `iteration ${Math.round(v)}`,
      tooltipFormat: '.1f',
      zero: true,
    }),
    trainTestChart(data),
    layerChart(data),
  ];
}
