/**
 * `lth serve` and `lth report` in a real browser (Debian's chromium through playwright-core):
 * the binary serves a runs directory on a free loopback port; the run list appears (empty at
 * first), a run that trains shows up as running and its learning curves gain points while it
 * trains, a tooltip shows a value, a legend click picks a level, the status turns interrupted
 * when the run is killed; the report's HTML embeds its charts live and keeps the static SVG
 * with JavaScript off. No console errors anywhere.
 *
 * With LTH_DOCS_SCREENSHOTS=1 it also saves the dashboard's screenshots into docs/.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLandscapeFixture } from '../../report/src/test-utils/landscape.js';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/bin/lth.js');
const CHROMIUM = process.env.LTH_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.LTH_DOCS_SCREENSHOTS === '1' ? join(repo, 'docs') : null;

const tiny = (name: string, iterations: number, evalEvery: number) => ({
  name,
  seed: 0,
  dataset: { use: 'synthetic', validation: 100, train: 300, test: 100 },
  model: { use: 'lenet-16' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 32, iterations, evalEvery },
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 }, masker: { use: 'layerwise' } },
});

let dir: string;
let runs: string;
let serve: ChildProcess;
let url: string;
let browser: Browser;
const children: ChildProcess[] = [];

/** The page, collecting console errors and uncaught exceptions. */
async function open(path: string, options: { javaScriptEnabled?: boolean } = {}): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(path);
  return { page, errors };
}

/** Hovers the points of a chart until vega's tooltip shows; returns its text. */
async function tooltip(page: Page, chart: string): Promise<string> {
  const points = page.locator(`${chart} .mark-symbol path`);
  const n = await points.count();
  const tip = page.locator('#vg-tooltip-element.visible');
  for (let i = n - 1; i >= 0; i -= Math.max(1, Math.floor(n / 8))) {
    try {
      await points.nth(i).scrollIntoViewIfNeeded({ timeout: 5000 });
      const box = await points.nth(i).boundingBox({ timeout: 5000 });
      if (!box) continue;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 4 });
      await tip.waitFor({ state: 'visible', timeout: 1000 });
      return await tip.innerText();
    } catch {
      // a point under another mark, or redrawn by a live update: try the next
    }
  }
  throw new Error(`no tooltip over ${n} points of ${chart}`);
}

beforeAll(async () => {
  if (!existsSync(join(repo, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `npx tsc -b tsconfig.build.json` first.');
  dir = mkdtempSync(join(tmpdir(), 'lth-serve-browser-'));
  runs = join(dir, 'runs');
  mkdirSync(runs);
  serve = spawn(process.execPath, [bin, 'serve', runs, '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  serve.stderr!.on('data', (c) => (stderr += c));
  url = await new Promise<string>((done, fail) => {
    let out = '';
    serve.stdout!.on('data', (c) => {
      out += c;
      const m = /^lth serve: (http:\/\/127\.0\.0\.1:\d+\/) /m.exec(out);
      if (m) done(m[1]!);
    });
    serve.on('exit', (code) => fail(new Error(`lth serve exited with ${code}: ${stderr}`)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  serve?.kill('SIGINT');
  if (serve && serve.exitCode === null) await new Promise((done) => serve.on('exit', done));
  rmSync(dir, { recursive: true, force: true });
});

describe('lth serve in a browser', () => {
  it('shows an empty runs directory as an empty state', async () => {
    const { page, errors } = await open(url);
    await page.locator('#empty').waitFor({ timeout: 30_000 });
    expect(await page.locator('#empty').innerText()).toContain('No runs here yet.');
    expect(await page.locator('#root').innerText()).toBe(runs);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('lists a run as it trains, its curves gain points, a tooltip shows a value, and it turns interrupted when killed', async () => {
    // Long enough never to finish during the test: it is killed at the end.
    writeFileSync(join(dir, 'long.json'), JSON.stringify(tiny('live', 1_000_000, 25)));
    const run = spawn(process.execPath, [bin, 'run', join(dir, 'long.json'), '--backend', 'cpu', '--out', runs], { cwd: dir, stdio: 'ignore' });
    children.push(run);
    const { page, errors } = await open(url);
    const row = page.locator('#run-list tr[data-id^="live-"]');
    await row.locator('.status.running').waitFor({ timeout: 60_000 });
    await row.locator('a').click();
    await page.locator('#run-status .status.running').waitFor({ timeout: 30_000 });
    const points = async () => Number(await page.locator('#curves').getAttribute('data-points'));
    await expect.poll(points, { timeout: 60_000, intervals: [200] }).toBeGreaterThan(0);
    const first = await points();
    // New evaluations arrive while the run trains, without reloading the page.
    await expect.poll(points, { timeout: 60_000, intervals: [200] }).toBeGreaterThan(first + 2);
    expect(await page.locator('#curves svg .mark-line path').count()).toBeGreaterThanOrEqual(6);
    const tip = await tooltip(page, '#curves');
    expect(tip).toMatch(/iteration\s*\d+/);
    expect(tip).toMatch(/(loss|accuracy)\s*\d+\.\d+/);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-live.png') });
    // A legend click picks level 0: the other lines fade.
    run.kill('SIGKILL');
    await page.locator('#run-status .status.interrupted').waitFor({ timeout: 30_000 });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('lists a finished run as complete, picks a level in its curves, draws its charts live, and its report works with and without JavaScript', async () => {
    writeFileSync(join(dir, 'short.json'), JSON.stringify(tiny('short', 40, 10)));
    await promisify(execFile)(process.execPath, [bin, 'run', join(dir, 'short.json'), '--backend', 'cpu', '--out', runs], { cwd: dir });
    const runDir = join(runs, readdirSync(runs).find((d) => d.startsWith('short-'))!);
    await promisify(execFile)(process.execPath, [bin, 'report', runDir], { cwd: dir });
    // A landscape at levels 0 and 1: its 3D surfaces draw through their own script (not vega).
    for (const level of [0, 1]) writeLandscapeFixture(runDir, level, 0.5 + level, { tilt: 0.2 });
    // A damaged line in level 1's metrics: named in a warning, the rest still drawn.
    appendFileSync(join(runDir, 'replicate-0', 'level-1', 'metrics.jsonl'), '{"iteration": 50, "trainLo\n');

    const { page, errors } = await open(url);
    const row = page.locator('#run-list tr[data-id^="short-"]');
    await row.locator('.status.complete').waitFor({ timeout: 30_000 });
    await row.locator('a').click();
    await page.locator('#charts[data-ready="true"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('#results a', { hasText: 'report.html' }).count()).toBe(1);
    expect(await page.locator('#chart-landscape-3d canvas').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#run-warnings').innerText()).toMatch(/replicate-0\/level-1\/metrics\.jsonl: line 6 is not an evaluation record/);
    // Its curves: a line per level and split; a legend click picks level 0 and the others fade.
    await expect.poll(() => page.locator('#curves .mark-line path').count(), { timeout: 30_000 }).toBe(2 * 3 * 3);
    expect(await page.locator('#curves .mark-line path[opacity="0.12"]').count()).toBe(0);
    const symbol = page.locator('#curves .role-legend-symbol path').first();
    await symbol.scrollIntoViewIfNeeded();
    const box = (await symbol.boundingBox())!;
    // vega listens on its SVG as a whole: a click at the symbol's place, not on the element.
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.locator('#curves .mark-line path[opacity="0.12"]').count(), { timeout: 10_000 }).toBe(2 * 3 * 2);
    expect(await tooltip(page, '#chart-accuracy-early-stop')).toMatch(/test accuracy at early stop \(%\), mean\s*\d+\.\d\d/);
    // The mouse wheel zooms: the axes get other ticks.
    const ticks = () => page.locator('#chart-accuracy-early-stop .role-axis-label text').allTextContents();
    const before = await ticks();
    await page.mouse.wheel(0, -400);
    await expect.poll(ticks, { timeout: 10_000 }).not.toEqual(before);
    // Two runs ticked in the list: their charts side by side, series named by run directory.
    for (const prefix of ['short-', 'live-']) await page.locator(`#run-list tr[data-id^="${prefix}"] input[type=checkbox]`).check();
    await page.locator('#compare').click();
    await page.locator('main h2', { hasText: 'Comparing 2 runs' }).waitFor({ timeout: 30_000 });
    await page.locator('#charts[data-ready="true"]').waitFor({ timeout: 60_000 });
    const legend = await page.locator('#chart-accuracy-early-stop .role-legend-label text').allTextContents();
    expect(legend).toContain(`${basename(runDir)}: short`);
    expect(errors).toEqual([]);
    await page.context().close();

    // The report file: every chart embedded live, from inline scripts.
    const report = await open(`file://${join(runDir, 'report.html')}`);
    const figures = await report.page.locator('[data-vega-spec]').count();
    expect(figures).toBeGreaterThanOrEqual(6);
    await expect.poll(() => report.page.locator('[data-vega-spec][data-embedded="true"]').count(), { timeout: 30_000 }).toBe(figures);
    expect(await tooltip(report.page, '#learning-curves')).toMatch(/iteration\s*\d+/);
    expect(report.errors).toEqual([]);
    await report.page.context().close();

    // JavaScript off: the static SVGs stay.
    const still = await open(`file://${join(runDir, 'report.html')}`, { javaScriptEnabled: false });
    expect(await still.page.locator('[data-vega-spec] > svg').count()).toBe(figures);
    expect(await still.page.locator('[data-embedded]').count()).toBe(0);
    await still.page.context().close();
  });
});
