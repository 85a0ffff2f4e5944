import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '@lth/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadInstability } from './connectivity.js';
import { loadReportData } from './data.js';
import { writeReport } from './report.js';
import { writeFixtureRun } from './test-utils/fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lth-report-connectivity-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An instability branch's files at one level, as @lth/analysis-connectivity writes them: a bump of `height` at α = ½. */
function writeInstability(runDir: string, level: number, heights: Record<number, number>, complete = true, random: Record<number, number> = {}): void {
  const store = new RunStore(runDir).replicate(0).level(level).branch('instability', 'fedcba987654');
  const alphas = [0, 0.25, 0.5, 0.75, 1];
  const result: Record<string, number | boolean> = { fractionRemaining: 0.5 ** level };
  for (const [k, h] of Object.entries(heights)) {
    const points = alphas.map((alpha) => ({ alpha, trainError: 0.01, trainLoss: 0.05, testError: 0.02 + h * (1 - (2 * alpha - 1) ** 2), testLoss: 0.08 }));
    store.writeJson(`curve-k${k}.json`, { k: Number(k), copies: [0, 1], points });
    Object.assign(result, { [`errorBarrier_k${k}`]: h, [`lossBarrier_k${k}`]: 0, [`stable_k${k}`]: h < 0.02 });
  }
  for (const [k, h] of Object.entries(random)) {
    const points = alphas.map((alpha) => ({ alpha, trainError: 0.01, trainLoss: 0.05, testError: 0.03 + h * (1 - (2 * alpha - 1) ** 2), testLoss: 0.1 }));
    store.writeJson(`random-curve-k${k}.json`, { k: Number(k), copies: [0, 1], points });
    Object.assign(result, { [`randomErrorBarrier_k${k}`]: h, [`randomLossBarrier_k${k}`]: 0, [`randomTrainErrorBarrier_k${k}`]: 0, [`randomStable_k${k}`]: h < 0.02 });
  }
  if (complete) store.writeResult(result);
}

describe('connectivity section of the report', () => {
  it('reads every complete instability result and its paths, and draws paths and barriers (SVG and PNG)', async () => {
    const runDir = join(dir, 'run');
    writeFixtureRun(runDir, { label: 'lenet-fixture', control: null, variant: {}, offset: 0 }, 1, [0, 1, 2, 3]);
    writeInstability(runDir, 1, { 0: 0.001, 100: 0 });
    writeInstability(runDir, 2, { 0: 0.3, 100: 0.004 });
    writeInstability(runDir, 3, { 0: 0.5 }, false); // still running: left out
    const points = loadInstability(loadReportData(runDir));
    expect(points.map((p) => [p.level, p.k, p.errorBarrier, p.path.length])).toEqual([
      [1, 0, 0.001, 5],
      [1, 100, 0, 5],
      [2, 0, 0.3, 5],
      [2, 100, 0.004, 5],
    ]);
    expect(points[2]!.percentRemaining).toBe(25);
    const report = await writeReport(runDir, { png: true });
    const html = readFileSync(report.html, 'utf8');
    for (const id of ['instability-paths', 'instability-vs-k', 'instability-vs-sparsity']) {
      expect(html).toContain(`<figure id="${id}">`);
      expect(existsSync(join(runDir, `report-${id}.png`))).toBe(true);
    }
    const paths = html.slice(html.indexOf('<figure id="instability-paths">'), html.indexOf('</figure>', html.indexOf('<figure id="instability-paths">')));
    expect(paths).toContain('level 2 (25.0% remaining)');
    expect(paths).toContain('k = 100');
    expect(paths).not.toContain('level 3');
  }, 60_000);

  it('draws tickets beside random pruning at the same sparsity when the branch measured both', async () => {
    const runDir = join(dir, 'random');
    writeFixtureRun(runDir, { label: 'lenet-fixture', control: null, variant: {}, offset: 0 }, 1, [0, 1, 2]);
    writeInstability(runDir, 1, { 0: 0.001 }, true, { 0: 0.05 });
    writeInstability(runDir, 2, { 0: 0.003 }, true, { 0: 0.12 });
    const points = loadInstability(loadReportData(runDir));
    expect(points.map((p) => [p.level, p.random, p.errorBarrier, p.path.length])).toEqual([
      [1, false, 0.001, 5],
      [1, true, 0.05, 5],
      [2, false, 0.003, 5],
      [2, true, 0.12, 5],
    ]);
    const html = readFileSync((await writeReport(runDir)).html, 'utf8');
    const figure = (id: string) => html.slice(html.indexOf(`<figure id="${id}">`), html.indexOf('</figure>', html.indexOf(`<figure id="${id}">`)));
    const both = figure('instability-ticket-vs-random');
    expect(both).toContain('ticket, k = 0');
    expect(both).toContain('random pruning, k = 0');
    // The other barrier charts are the tickets' alone; the paths have a panel per subnetwork.
    expect(figure('instability-vs-sparsity')).not.toContain('random pruning');
    expect(figure('instability-paths')).toContain('level 2 (25.0% remaining), random pruning');
  }, 60_000);

  it('adds nothing to a run without instability results', async () => {
    const runDir = join(dir, 'plain');
    writeFixtureRun(runDir, { label: 'lenet-fixture', control: null, variant: {}, offset: 0 }, 1, [0, 1]);
    const html = readFileSync((await writeReport(runDir)).html, 'utf8');
    expect(html).not.toContain('<figure id="instability-');
  }, 60_000);
});
