export * from './data.js';
export { reportCharts, seriesStyles, percentTicks, denseReference, CHART_FONT, type ChartSpec } from './charts.js';
export { summaryCsv, csvField } from './csv.js';
export { learningCurveCharts } from './curves.js';
export { reportHtml } from './html.js';
export { renderSvg, svgToPng, scopeSvgIds, sansSerifFamily } from './render.js';
export { writeReport, type WriteReportOptions, type WrittenReport } from './report.js';
export { overlapChart, type OverlapChartRow } from './overlap-chart.js';
