import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LevelSummary, UserError } from '@lth/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { percentTicks } from './charts.js';
import { csvField } from './csv.js';
import { aggregate, loadReportData } from './data.js';
import { scopeSvgIds } from './render.js';
import { writeReport } from './report.js';
import { writeFixtureRun, writeFixtureSweep } from './test-utils/fixtures.js';

const GLOBAL = 'masker=global, rewind.at=0';
const LAYERWISE = 'masker=layerwise, rewind.at=0';
const CONTROL = `${GLOBAL} / reinit`;
const SERIES = [GLOBAL, CONTROL, LAYERWISE];

let dir: string;

/** 2 variants × 2 replicates × levels 0..2, and a reinit control (levels 1..2) for the first variant. */
function writeSweep(): void {
  writeFixtureSweep(dir, {
    variants: [
      { label: GLOBAL, variant: { 'pruning.masker.use': 'global', 'pruning.rewind.at': 0 } },
      { label: LAYERWISE, variant: { 'pruning.masker.use': 'layerwise', 'pruning.rewind.at': 0 } },
    ],
    controls: ['reinit'],
    controlFor: [0],
    replicates: 2,
    levels: 3,
  });
}

const levelFile = (run: string, replicate: number, level: number) => join(dir, 'runs', run, `replicate-${replicate}`, `level-${level}`, 'summary.json');

function editSummary(file: string, change: Partial<LevelSummary>): void {
  writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as LevelSummary), ...change }));
}

/** The inline SVG of one chart in report.html. */
function figure(html: string, id: string): string {
  const start = html.indexOf(`<figure id="${id}">`);
  expect(start, `figure ${id}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</figure>', start));
}

/** The text of an SVG (vega writes one <text> per label and legend entry, a <tspan> per line of a multi-line one). */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<(?:text|tspan)\b[^>]*>([^<]+)</g)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&quot;/g, '"'));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lth-report-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadReportData', () => {
  it('reads one series per variant and per control from the level summaries on disk', () => {
    writeSweep();
    const data = loadReportData(dir);
    expect(data.kind).toBe('sweep');
    expect(data.series.map((s) => s.name)).toEqual(SERIES);
    // 2 variants × 2 replicates × 3 levels + control × 2 replicates × 2 levels
    expect(data.rows).toHaveLength(16);
    expect(data.rows.filter((r) => r.control === 'reinit').map((r) => r.level)).toEqual([1, 2, 1, 2]);
    expect(data.incomplete).toEqual([]);
  });

  it('computes per-series means from the files, not from the run-level summary', () => {
    writeSweep();
    const before = aggregate(loadReportData(dir), (r) => r.earlyStopTestAccuracy).find((p) => p.series === LAYERWISE && p.level === 2)!;
    expect(before.n).toBe(2);
    const other = JSON.parse(readFileSync(levelFile('lenet-v1', 1, 2), 'utf8')) as LevelSummary;
    editSummary(levelFile('lenet-v1', 0, 2), { earlyStopTestAccuracy: 0.5 });
    const after = aggregate(loadReportData(dir), (r) => r.earlyStopTestAccuracy).find((p) => p.series === LAYERWISE && p.level === 2)!;
    expect(after.mean).toBeCloseTo((0.5 + other.earlyStopTestAccuracy) / 2, 12);
    expect(after.min).toBe(0.5);
    expect(after.max).toBe(other.earlyStopTestAccuracy);
  });

  it('reports a partial run: an incomplete level is left out and listed, a missing run directory is listed', () => {
    writeSweep();
    rmSync(levelFile('lenet-v0', 1, 2));
    rmSync(join(dir, 'runs', 'lenet-v1'), { recursive: true });
    const data = loadReportData(dir);
    expect(data.rows.filter((r) => r.series === GLOBAL)).toHaveLength(5);
    expect(data.rows.filter((r) => r.series === LAYERWISE)).toHaveLength(0);
    expect(data.incomplete).toEqual([{ series: GLOBAL, replicate: 1, level: 2, evaluations: 2 }]);
    expect(data.missingRuns).toEqual([join(dir, 'runs', 'lenet-v1')]);
    const point = aggregate(data, (r) => r.earlyStopTestAccuracy).find((p) => p.series === GLOBAL && p.level === 2)!;
    expect(point.n).toBe(1);
  });

  it('reads a single run directory as one series', () => {
    writeFixtureRun(dir, { label: 'x', control: null, variant: {}, offset: 0 }, 2, [0, 1, 2], 'lenet-single');
    const data = loadReportData(dir);
    expect(data.kind).toBe('run');
    expect(data.series.map((s) => s.name)).toEqual(['lenet-single']);
    expect(data.rows).toHaveLength(6);
  });

  it('reads controls run as branches as series of their own, and other branches as result rows', async () => {
    writeFixtureRun(dir, { label: 'x', control: null, variant: {}, offset: 0 }, 1, [0, 1, 2], 'lenet-branches');
    for (const level of [1, 2]) {
      // A control stores a level of its own in its branch directory (branch-<name>-<hash12>/).
      const control = join(dir, 'replicate-0', `level-${level}`, 'branch-reinit-0123456789ab');
      writeFixtureRun(control, { label: 'x', control: 'reinit', variant: {}, offset: -0.02 }, 1, [level]);
      const summary = JSON.parse(readFileSync(join(control, 'replicate-0', `level-${level}`, 'summary.json'), 'utf8'));
      writeFileSync(join(control, 'summary.json'), JSON.stringify(summary));
      writeFileSync(join(control, 'result.json'), JSON.stringify({ fractionRemaining: summary.fractionRemaining, finalTestAccuracy: summary.finalTestAccuracy }));
      const probe = join(dir, 'replicate-0', `level-${level}`, 'branch-probe-ba9876543210');
      mkdirSync(probe, { recursive: true });
      writeFileSync(join(probe, 'result.json'), JSON.stringify({ barrier: 0.01 * level }));
    }
    const data = loadReportData(dir);
    expect(data.series.map((s) => s.name)).toEqual(['lenet-branches', 'lenet-branches / reinit']);
    expect(data.rows.filter((r) => r.control === 'reinit').map((r) => r.level)).toEqual([1, 2]);
    expect(data.branches.map((b) => [b.series, b.level, b.branch, b.result.barrier])).toEqual([
      ['lenet-branches', 1, 'probe', 0.01],
      ['lenet-branches', 2, 'probe', 0.02],
    ]);
    const { html } = await writeReport(dir);
    expect(readFileSync(html, 'utf8')).toMatch(/<h2 id="branches">Branches<\/h2>[\s\S]*branch-probe-ba9876543210[\s\S]*<th>barrier<\/th>/);
  });

  it('draws several directories on the same charts, each series named by its directory, with learning curves', async () => {
    const a = join(dir, 'imp');
    const b = join(dir, 'synflow');
    writeFixtureRun(a, { label: 'x', control: null, variant: {}, offset: 0 }, 1, [0, 1, 2], 'imp');
    writeFixtureRun(b, { label: 'x', control: null, variant: {}, offset: -0.03 }, 1, [0, 1], 'synflow');
    await expect(writeReport([a, b])).rejects.toThrow(/--out/);
    const out = join(dir, 'both.html');
    const written = await writeReport([a, b], { out, png: true });
    expect(written.html).toBe(out);
    expect(written.data.kind).toBe('multi');
    expect(written.data.series.map((s) => s.name)).toEqual(['imp: imp', 'synflow: synflow']);
    expect(written.data.rows.map((r) => [r.series, r.level])).toEqual([['imp: imp', 0], ['imp: imp', 1], ['imp: imp', 2], ['synflow: synflow', 0], ['synflow: synflow', 1]]);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('Comparison report: imp + synflow');
    expect(html).toContain('<figure id="learning-curves">');
    expect(written.pngs).toContain(join(dir, 'both-learning-curves.png'));
  });

  it('rejects a directory that is neither a run nor a sweep, saying what it expected', () => {
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    expect(() => loadReportData(dir)).toThrow(UserError);
    expect(() => loadReportData(dir)).toThrow(/neither a sweep directory \(with sweep\.json\) nor a run directory/);
  });

  it('names the field of a malformed sweep.json', () => {
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify({ name: 's', runs: [{ id: 'a', label: 'l' }] }));
    expect(() => loadReportData(dir)).toThrow(/runs\[0\]\.dir must be a string/);
  });
});

describe('writeReport', () => {
  it('writes one self-contained HTML file with a chart series per variant and per control and the dense reference', async () => {
    writeSweep();
    const written = await writeReport(dir);
    expect(written.html).toBe(join(dir, 'report.html'));
    const html = readFileSync(written.html, 'utf8');
    // Self-contained: inline scripts only, no external resources.
    expect(html).not.toMatch(/<script[^>]* src=|<link |src="http|href="http/);
    for (const id of ['accuracy-early-stop', 'accuracy-final', 'early-stop-iteration', 'train-test-loss', 'layer-fractions']) {
      // The static SVG, and beside it the spec the page's script makes interactive (zoom on plain charts, legend picks on all).
      const fig = figure(html, id);
      expect(fig).toMatch(new RegExp(`<div class="chart" data-vega-spec="spec-${id}">\\s*<svg`));
      const spec = JSON.parse(/<script type="application\/json" id="spec-[^"]+">([^<]*)<\/script>/.exec(fig)![1]!) as object;
      const params = JSON.stringify(spec).match(/"bind":"(scales|legend)"/g) ?? [];
      expect(params, id).toContain('"bind":"legend"');
      expect(params.includes('"bind":"scales"'), id).toBe(!['train-test-loss', 'layer-fractions'].includes(id));
      expect(JSON.stringify(spec), id).toContain('"tooltip":[');
    }
    // The browser builds that run them are inline, once each.
    for (const name of ['vega', 'vega-lite', 'vega-embed']) expect(html.split(`<script>/* ${name} */`)).toHaveLength(2);

    const accuracy = figure(html, 'accuracy-early-stop');
    const texts = svgTexts(accuracy);
    for (const name of SERIES) expect(texts, name).toContain(name);
    // Dense reference: level 0 of the variants, mean of replicates 0 (97.5%) and 1 (97.7%).
    expect(texts.join('\n')).toContain('grey dashed rule: dense net (level 0), 97.60%');
    expect(accuracy).toMatch(/class="mark-rule/);
    expect(texts).toContain('weights remaining (%, log scale)');
    expect(texts).toContain('test accuracy at early stop (%)');

    // Train vs test: one panel per series (controls' panel titles go on two lines).
    const loss = svgTexts(figure(html, 'train-test-loss'));
    expect(loss).toEqual(expect.arrayContaining([GLOBAL, LAYERWISE, 'reinit', 'train', 'test']));
    // Layer fractions: one line per layer.
    expect(svgTexts(figure(html, 'layer-fractions'))).toEqual(expect.arrayContaining(['dense1/kernel', 'dense2/kernel', 'output/kernel']));

    // Several inline SVGs in one page: every id is unique.
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('changes when a level summary on disk changes', async () => {
    writeSweep();
    const before = readFileSync((await writeReport(dir)).html, 'utf8');
    expect(before).not.toContain('<td>73.80</td>');
    // Layer-wise, level 2: replicates 0.98... and 1 → set replicate 0 to 50%: mean moves to ~73.8%.
    const other = JSON.parse(readFileSync(levelFile('lenet-v1', 1, 2), 'utf8')) as LevelSummary;
    editSummary(levelFile('lenet-v1', 0, 2), { earlyStopTestAccuracy: 0.5 });
    const after = readFileSync((await writeReport(dir)).html, 'utf8');
    const mean = ((100 * (0.5 + other.earlyStopTestAccuracy)) / 2).toFixed(2);
    expect(after).toContain(`<td>${mean}</td>`);
    expect(after).not.toBe(before);
  });

  it('draws one dense rule per variant when the variants do not share their dense run', async () => {
    writeSweep();
    for (const r of [0, 1]) editSummary(levelFile('lenet-v1', r, 0), { earlyStopTestAccuracy: 0.9 });
    const html = readFileSync((await writeReport(dir)).html, 'utf8');
    const texts = svgTexts(figure(html, 'accuracy-early-stop')).join('\n');
    expect(texts).toContain('dashed rules: each variant’s dense net (level 0)');
    expect(texts).not.toContain('grey dashed rule');
  });

  it('writes summary.csv across the sweep: one row per series × replicate × level', async () => {
    writeSweep();
    const { csv } = await writeReport(dir);
    expect(csv).toBe(join(dir, 'summary.csv'));
    const lines = readFileSync(csv!, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 16);
    const header = lines[0]!.split(',');
    expect(header.slice(0, 8)).toEqual(['series', 'label', 'control', 'runId', 'replicate', 'level', 'fractionRemaining', 'remainingWeights']);
    expect(header).toEqual(expect.arrayContaining(['finalTestAccuracy', 'earlyStopTestAccuracy', 'earlyStopIteration', 'finalTrainLoss', 'finalTestLoss', 'backend']));
    expect(header).toEqual(expect.arrayContaining(['vary:pruning.masker.use', 'vary:pruning.rewind.at', 'layer:dense1/kernel']));
    // Labels hold commas: quoted.
    expect(lines[1]!.startsWith(`"${GLOBAL}","${GLOBAL}",,v0,0,0,1,`)).toBe(true);
    expect(lines.filter((l) => l.startsWith(`"${CONTROL}","${GLOBAL}",reinit,v0-reinit,`))).toHaveLength(4);
    const summary = JSON.parse(readFileSync(levelFile('lenet-v1', 1, 2), 'utf8')) as LevelSummary;
    const row = lines.find((l) => l.startsWith(`"${LAYERWISE}","${LAYERWISE}",,v1,1,2,`))!;
    expect(row).toContain(`,${summary.earlyStopTestAccuracy},`);
    expect(row).toContain(',layerwise,0,');
  });

  it('reports a partial sweep and says what is missing', async () => {
    writeSweep();
    rmSync(levelFile('lenet-v0', 1, 2));
    const { html, data } = await writeReport(dir);
    expect(data.rows).toHaveLength(15);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('Partial results');
    expect(page).toContain(`${GLOBAL}: replicate 1, level 2 is incomplete (no summary.json; 2 evaluations so far)`);
    for (const name of SERIES) expect(svgTexts(figure(page, 'accuracy-early-stop'))).toContain(name);
  });

  it('for a single run directory writes report.html and leaves the run’s summary.csv alone', async () => {
    writeFixtureRun(dir, { label: 'x', control: null, variant: {}, offset: 0 }, 1, [0, 1, 2], 'lenet-single');
    writeFileSync(join(dir, 'summary.csv'), 'written by core\n');
    const written = await writeReport(dir);
    expect(written.csv).toBeNull();
    expect(readFileSync(join(dir, 'summary.csv'), 'utf8')).toBe('written by core\n');
    const html = readFileSync(written.html, 'utf8');
    expect(svgTexts(figure(html, 'accuracy-early-stop'))).toContain('lenet-single');
    expect(html).toContain('Run report: lenet-single');
    // One run: its learning curves show every split's loss and accuracy, a line per level.
    const curves = svgTexts(figure(html, 'learning-curves'));
    expect(curves).toEqual(expect.arrayContaining(['loss (cross-entropy)', 'accuracy (%)', 'train', 'validation', 'test', '0', '1', '2']));
  });

  it('with png writes one valid PNG per chart beside report.html', async () => {
    writeSweep();
    const { pngs } = await writeReport(dir, { png: true });
    expect(pngs.map((p) => p.slice(dir.length + 1))).toEqual([
      'report-accuracy-early-stop.png',
      'report-accuracy-final.png',
      'report-early-stop-iteration.png',
      'report-train-test-loss.png',
      'report-layer-fractions.png',
      'report-learning-curves.png',
    ]);
    for (const file of pngs) {
      expect(existsSync(file)).toBe(true);
      const bytes = readFileSync(file);
      expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      // IHDR width: at 2× zoom, a chart is well over 1000 px wide.
      expect(bytes.readUInt32BE(16)).toBeGreaterThan(1000);
    }
  });
});

describe('helpers', () => {
  it('log-axis ticks: 1-2-5 steps, denser over a short range', () => {
    expect(percentTicks(0.5, 100)).toEqual([100, 50, 20, 10, 5, 2, 1, 0.5]);
    expect(percentTicks(40, 100)).toEqual([100, 80, 60, 50, 40]);
  });

  it('CSV fields are quoted only when needed', () => {
    expect(csvField('a, b')).toBe('"a, b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(null)).toBe('');
    expect(csvField(0.25)).toBe('0.25');
    expect(csvField([1, 2])).toBe('"[1,2]"');
  });

  it('scopes SVG ids and their references', () => {
    const svg = '<clipPath id="clip1"></clipPath><path clip-path="url(#clip1)"/><use href="#clip1"/>';
    expect(scopeSvgIds(svg, 'c')).toBe('<clipPath id="c-clip1"></clipPath><path clip-path="url(#c-clip1)"/><use href="#c-clip1"/>');
  });
});
