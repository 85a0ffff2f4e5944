import { basename, dirname, join, resolve } from 'node:path';
import { UserError, writeFileAtomic } from '@lth/core';
import { type ChartSpec, reportCharts } from './charts.js';
import { connectivityCharts } from './connectivity.js';
import { summaryCsv } from './csv.js';
import { learningCurveCharts } from './curves.js';
import { loadReportDataMany, type ReportData } from './data.js';
import { reportHtml } from './html.js';
import { landscapeCharts } from './landscape.js';
import { renderSvg, sansSerifFamily, scopeSvgIds, svgToPng } from './render.js';

export interface WriteReportOptions {
  /** Also write each chart as `report-<chart>.png` beside report.html. */
  png?: boolean;
  /** The HTML file to write (required for several directories; default `<dir>/report.html`). */
  out?: string;
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

/** Every chart of a report, in page order: the sweep charts, learning curves, landscapes, connectivity. */
export function allCharts(data: ReportData): ChartSpec[] {
  return [...reportCharts(data), ...learningCurveCharts(data), ...landscapeCharts(data), ...connectivityCharts(data)];
}

/**
 * Reads run or sweep directories from disk and writes their report: report.html (self-contained),
 * summary.csv for a sweep, and with `png` one PNG per chart. Several directories share one set of
 * charts (`options.out` names the file).
 */
export async function writeReport(dirs: string | string[], options: WriteReportOptions = {}): Promise<WrittenReport> {
  const list = Array.isArray(dirs) ? dirs : [dirs];
  if (list.length > 1 && !options.out) throw new UserError('several directories make one report: name its file with --out <file.html>', '--out');
  const data = loadReportDataMany(list);
  const warnings: string[] = [];
  const charts = allCharts(data);
  const rendered = [];
  for (const chart of charts) rendered.push({ chart, svg: await renderSvg(chart.spec) });
  const html = options.out ? resolve(options.out) : join(data.dir, 'report.html');
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
      const file = join(dirname(html), `${basename(html, '.html')}-${chart.id}.png`);
      writeFileAtomic(file, svgToPng(svg));
      pngs.push(file);
    }
  }
  if (!data.rows.length) warnings.push(`no completed level under ${data.dir} yet: the charts are empty`);
  return { data, html, csv, pngs, warnings };
}
