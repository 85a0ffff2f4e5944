import { csvField, SUMMARY_COLUMNS } from '@lth/core';
import type { ReportData, ReportRow } from './data.js';

const ROW_COLUMNS: (keyof ReportRow)[] = ['series', 'label', 'control', 'runId', ...SUMMARY_COLUMNS];

export { csvField };

/**
 * The sweep's summary.csv: one row per series × replicate × level that completed, then one column
 * per varied JSON path (`vary:<path>`) and one per layer (`layer:<name>`, fraction remaining).
 */
export function summaryCsv(data: ReportData): string {
  const variantKeys = [...new Set(data.series.flatMap((s) => Object.keys(s.variant)))];
  const layers = [...new Set(data.rows.flatMap((r) => Object.keys(r.layerFractions ?? {})))];
  const variantOf = new Map(data.series.map((s) => [s.name, s.variant]));
  const header = [...ROW_COLUMNS, ...variantKeys.map((k) => `vary:${k}`), ...layers.map((l) => `layer:${l}`)];
  const lines = data.rows.map((r) =>
    [
      ...ROW_COLUMNS.map((c) => r[c]),
      ...variantKeys.map((k) => variantOf.get(r.series)?.[k]),
      ...layers.map((l) => r.layerFractions?.[l]),
    ]
      .map(csvField)
      .join(','),
  );
  return `${[header.map(csvField).join(','), ...lines].join('\n')}\n`;
}
