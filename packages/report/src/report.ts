import { join } from 'node:path';
import { writeFileAtomic } from '@lth/core';
import { reportCharts } from './charts.js';
import { connectivityCharts } from './connectivity.js';
import { summaryCsv } from './csv.js';
import { loadReportData, type ReportData } from './data.js';
import { reportHtml } from './html.js';
import { landscapeCharts } from './landscape.js';
import { renderSvg, sansSerifFamily, scopeSvgIds, svgToPng } from './render.js';

export interface WriteReportOptions {
  /** Also write each chart as `report-<chart>.png` beside report.html. */
  png?: boolean;
}

export interface WrittenReport {
  data: ReportData;
  /** `<dir>/report.html`. */
  html: string;
  /** `<dir>/summary.csv` for a sweep; a run directory keeps the summary.csv its run wrote. */
  csv: string | null;
  pngs: string[];
  /** Things the user should know (e.g. no sans-serif font for the PNGs). */
  warnings: string[];
}

/**
 * Reads a run or sweep directory from disk and writes its report: report.html (self-contained),
 * summary.csv for a sweep, and with `png` one PNG per chart.
 */
export async function writeReport(dir: string, options: WriteReportOptions = {}): Promise<WrittenReport> {
  const data = loadReportData(dir);
  const warnings: string[] = [];
  const charts = [...reportCharts(data), ...landscapeCharts(data), ...connectivityCharts(data)];
  const rendered = [];
  for (const chart of charts) rendered.push({ chart, svg: await renderSvg(chart.spec) });
  const html = join(data.dir, 'report.html');
  writeFileAtomic(html, reportHtml(data, rendered.map((r) => ({ chart: r.chart, svg: scopeSvgIds(r.svg, r.chart.id) }))));
  let csv: string | null = null;
  if (data.kind === 'sweep') {
    csv = join(data.dir, 'summary.csv');
    writeFileAtomic(csv, summaryCsv(data));
  }
  const pngs: string[] = [];
  if (options.png) {
    if (sansSerifFamily() === null) warnings.push('no sans-serif font found for the PNGs (install one, e.g. fonts-dejavu-core); text may be missing');
    for (const { chart, svg } of rendered) {
      const file = join(data.dir, `report-${chart.id}.png`);
      writeFileAtomic(file, svgToPng(svg));
      pngs.push(file);
    }
  }
  if (!data.rows.length) warnings.push(`no completed level under ${data.dir} yet: the charts are empty`);
  return { data, html, csv, pngs, warnings };
}
