export * from './data.js';
export { reportCharts, interactiveParams, pickedOpacity, seriesStyles, percentTicks, denseReference, CHART_FONT, type ChartSpec } from './charts.js';
export { summaryCsv, csvField } from './csv.js';
export { learningCurveCharts, levelCurvesChart, CURVES_DATA, type CurveRow } from './curves.js';
export { EMBED_SCRIPT, inlineVegaScripts, scriptJson, VEGA_PACKAGES, type VegaPackage, vegaBrowserBuild } from './interactive.js';
export { reportHtml } from './html.js';
export { renderSvg, svgToPng, scopeSvgIds, sansSerifFamily } from './render.js';
export { allCharts, writeReport, type WriteReportOptions, type WrittenReport } from './report.js';
export { overlapChart, type OverlapChartRow } from './overlap-chart.js';
