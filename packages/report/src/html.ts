import { relative } from 'node:path';
import type { ChartSpec } from './charts.js';
import { aggregate, type ReportData, type ReportRow } from './data.js';
import { EMBED_SCRIPT, inlineVegaScripts, scriptJson } from './interactive.js';
import { landscapeTable } from './landscape.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const CSS = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.meta { color: #555; font-size: 0.9rem; } code { font-size: 0.9em; }
figure { margin: 1.5rem 0; } .chart { overflow-x: auto; } figure svg { max-width: 100%; height: auto; } figcaption { color: #444; font-size: 0.9rem; max-width: 60rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; } th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f6f6f6; } td.l, th.l { text-align: left; } .note { background: #fff8e1; border-left: 3px solid #f0c36d; padding: 0.4rem 0.8rem; font-size: 0.9rem; }
nav a { margin-right: 1rem; font-size: 0.9rem; }
`;

const pct = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}` : '–');
const num = (v: number, digits = 4) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

function resultsTable(data: ReportData): string {
  const m = (f: (r: ReportRow) => number) => aggregate(data, f);
  const es = m((r) => 100 * r.earlyStopTestAccuracy);
  const fin = m((r) => 100 * r.finalTestAccuracy);
  const it = m((r) => r.earlyStopIteration);
  const tr = m((r) => r.finalTrainLoss);
  const te = m((r) => r.finalTestLoss);
  const key = (p: { series: string; level: number }) => `${p.series}\u0000${p.level}`;
  const index = (ps: typeof es) => new Map(ps.map((p) => [key(p), p]));
  const [finI, itI, trI, teI] = [index(fin), index(it), index(tr), index(te)];
  const rows = es.map((p) => {
    const k = key(p);
    return `<tr><td class="l">${escapeHtml(p.series)}</td><td>${p.level}</td><td>${p.percentRemaining.toPrecision(4)}</td><td>${pct(p.mean)}</td><td>${pct(p.min)}–${pct(p.max)}</td><td>${pct(finI.get(k)?.mean ?? NaN)}</td><td>${Math.round(itI.get(k)?.mean ?? NaN)}</td><td>${num(trI.get(k)?.mean ?? NaN)}</td><td>${num(teI.get(k)?.mean ?? NaN)}</td><td>${p.n}</td></tr>`;
  });
  return `<table><thead><tr><th class="l">series</th><th>level</th><th>weights remaining (%)</th><th>test acc. at early stop (%, mean)</th><th>min–max</th><th>final test acc. (%, mean)</th><th>early-stop iteration (mean)</th><th>final train loss</th><th>final test loss</th><th>replicates</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function seriesTable(data: ReportData): string {
  const rows = data.series.map((s) => {
    const mine = data.rows.filter((r) => r.series === s.name);
    const replicates = new Set(mine.map((r) => r.replicate)).size;
    const levels = new Set(mine.map((r) => r.level));
    const backends = [...new Set(mine.map((r) => r.backend))].join(', ');
    return `<tr><td class="l">${escapeHtml(s.name)}</td><td class="l">${escapeHtml(s.control ?? 'variant')}</td><td class="l"><code>${escapeHtml(relative(data.dir, s.runDir) || '.')}</code></td><td>${replicates}</td><td>${levels.size ? `${levels.size} (${Math.min(...levels)}–${Math.max(...levels)})` : '0'}</td><td class="l">${escapeHtml(backends)}</td></tr>`;
  });
  return `<table><thead><tr><th class="l">series</th><th class="l">kind</th><th class="l">run directory</th><th>replicates</th><th>levels complete</th><th class="l">backend</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Results of branches other than controls: one table per branch, a row per (series, replicate, level). */
function branchTables(data: ReportData): string {
  const names = [...new Set(data.branches.map((b) => b.id))];
  return names
    .map((id) => {
      const rows = data.branches.filter((b) => b.id === id);
      const keys = [...new Set(rows.flatMap((r) => Object.keys(r.result)))];
      const cell = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(5)) : escapeHtml(String(v ?? '–')));
      const body = rows.map((r) => `<tr><td class="l">${escapeHtml(r.series)}</td><td>${r.replicate}</td><td>${r.level}</td>${keys.map((k) => `<td>${cell(r.result[k])}</td>`).join('')}</tr>`);
      return `<h3>${escapeHtml(rows[0]!.branch)} <code>${escapeHtml(id)}</code></h3><table><thead><tr><th class="l">series</th><th>replicate</th><th>level</th>${keys.map((k) => `<th>${escapeHtml(k)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
    })
    .join('\n');
}

function notes(data: ReportData): string {
  const items: string[] = [];
  for (const f of data.failed) items.push(`${escapeHtml(f.label)} failed: ${escapeHtml(f.reason)}`);
  for (const m of data.missingRuns) items.push(`run directory <code>${escapeHtml(relative(data.dir, m))}</code> does not exist yet`);
  for (const i of data.incomplete) {
    items.push(`${escapeHtml(i.series)}: replicate ${i.replicate}, level ${i.level} is incomplete (no summary.json; ${i.evaluations} evaluations so far) and is left out`);
  }
  return items.length ? `<div class="note"><strong>Partial results.</strong><ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul></div>` : '';
}

/**
 * Each live chart's own script (after vega's builds, which it may use), run on its element with its
 * data; if it throws, the static SVG stays.
 */
function liveScripts(charts: ChartSpec[]): string {
  return charts
    .filter((chart) => chart.live)
    .map(
      (chart) =>
        `<script>(function (draw) {\n  var el = document.querySelector('[data-live="live-${chart.id}"]');\n` +
        `  try { draw(el, JSON.parse(document.getElementById('live-${chart.id}').textContent)); }\n` +
        `  catch (error) { console.warn('chart ${chart.id} stays static: ' + error); }\n` +
        `})(${chart.live!.script.replace(/<\/(script)/gi, '<\\/$1')});</script>`,
    )
    .join('\n');
}

/**
 * The report page: one self-contained HTML file (inline CSS, SVG and scripts, no network). Each
 * chart is its static SVG, replaced by the live chart (tooltips, zoom, legend picks) where
 * JavaScript runs; with JavaScript off the SVG stays.
 */
export function reportHtml(data: ReportData, charts: { chart: ChartSpec; svg: string }[]): string {
  const title = `${data.kind === 'sweep' ? 'Sweep' : data.kind === 'multi' ? 'Comparison' : 'Run'} report: ${data.name}`;
  const figures = charts
    .map(
      ({ chart, svg }) =>
        `<figure id="${chart.id}">\n<div class="chart" ${chart.live ? `data-live="live-${chart.id}"` : `data-vega-spec="spec-${chart.id}"`}>\n${svg}\n</div>\n` +
        `<script type="application/json" id="${chart.live ? 'live' : 'spec'}-${chart.id}">${scriptJson(chart.live ? chart.live.data : chart.spec)}</script>\n` +
        `<figcaption>${escapeHtml(chart.caption)}</figcaption>\n</figure>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${data.kind === 'multi' ? 'directories under' : data.kind === 'sweep' ? 'sweep directory' : 'run directory'} <code>${escapeHtml(data.dir)}</code>${data.hash ? `, hash <code>${escapeHtml(data.hash)}</code>` : ''}; ${data.rows.length} completed (replicate, level) results read from the level summaries on disk.</p>
<nav>${charts.map(({ chart }) => `<a href="#${chart.id}">${escapeHtml(chart.title)}</a>`).join('')}<a href="#results">Results table</a></nav>
${notes(data)}
<h2>Series</h2>
${seriesTable(data)}
<h2>Charts</h2>
${figures}
${landscapeTable(data)}
<h2 id="results">Results (mean over replicates)</h2>
${resultsTable(data)}
${data.branches.length ? `<h2 id="branches">Branches</h2>\n<p class="meta">Each run's branches.csv holds the same rows.</p>\n${branchTables(data)}` : ''}
${charts.length ? `${inlineVegaScripts()}\n<script>${EMBED_SCRIPT}</script>` : ''}
${liveScripts(charts.map(({ chart }) => chart))}
</body>
</html>
`;
}
