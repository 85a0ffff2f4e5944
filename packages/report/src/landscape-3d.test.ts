/**
 * The rotatable 3D surfaces of the report's landscape section: the projection by hand, and the
 * page in a real browser (Debian's chromium through playwright-core; LTH_CHROMIUM names another
 * binary): one canvas per surface is drawn from the file alone (every request that is not the
 * file itself fails the test), a mouse drag turns every panel, no console errors, and with
 * JavaScript off the static SVG stays.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEW, surfaceQuads } from './landscape-3d.js';
import { writeReport } from './report.js';
import { writeFixtureRun } from './test-utils/fixtures.js';
import { writeLandscapeFixture } from './test-utils/landscape.js';

const CHROMIUM = process.env.LTH_CHROMIUM ?? '/usr/bin/chromium';

describe('surfaceQuads', () => {
  it('seen from straight above, a flat grid is its cells, lit alike, all at one depth', () => {
    const axis = [-1, 0, 1];
    const flat = axis.map(() => axis.map(() => 1));
    const quads = surfaceQuads(axis, flat, [0, 1], 0, { azimuth: 0, elevation: Math.PI / 2 });
    expect(quads).toHaveLength(4);
    for (const q of quads) {
      expect(q.depth).toBeCloseTo(0, 12);
      expect(q.loss).toBe(1);
      // The normal points at the eye; the light comes from (-0.4, 0.7, -1): cos = 1 / |(-0.4, 0.7, -1)|.
      expect(q.light).toBeCloseTo(1 / Math.hypot(0.4, 0.7, 1), 12);
    }
    const cell = (x: number, y: number) =>
      [
        [x, y],
        [x + 1, y],
        [x + 1, y + 1],
        [x, y + 1],
        [x, y],
      ].map(([a, b]) => [a, b]);
    const polygons = quads.map((q) => q.polygon.map(([x, y]) => [Number(x.toFixed(12)) + 0, Number(y.toFixed(12)) + 0]));
    expect(polygons).toEqual(expect.arrayContaining([cell(-1, -1), cell(0, -1), cell(-1, 0), cell(0, 0)]));
  });

  it('draws the far side first and puts a higher loss higher on screen', () => {
    // A ramp along β seen from the side (azimuth 0, elevation 0): the β = 1 edge is the farthest.
    const axis = [-1, 0, 1];
    const ramp = axis.map((b) => axis.map(() => 10 ** (b + 1))); // log10 loss from 0 to 2
    const quads = surfaceQuads(axis, ramp, [0, 2], 0, { azimuth: 0, elevation: 0 });
    const depths = quads.map((q) => q.depth);
    expect(depths).toEqual([...depths].sort((p, q) => q - p));
    expect(quads[0]!.loss).toBeGreaterThan(quads[quads.length - 1]!.loss);
    // At elevation 0 the screen height is the scaled log loss: 1.2 at the highest corner.
    expect(Math.max(...quads.flatMap((q) => q.polygon.map(([, y]) => y)))).toBeCloseTo(1.2, 12);
  });

  it('runs the same outside its module, as the page runs it', () => {
    // The page gets `surfaceQuads.toString()`: rebuilt in the global scope it must give the same quads.
    const rebuilt = new Function(`return (${surfaceQuads.toString()})`)() as typeof surfaceQuads;
    const axis = [-1, -0.5, 0, 0.5, 1];
    const z = axis.map((b) => axis.map((a) => 0.1 + a * a + 2 * b * b));
    const logRange: [number, number] = [-1, Math.log10(3.1)];
    expect(rebuilt(axis, z, logRange, 0.5, DEFAULT_VIEW)).toEqual(surfaceQuads(axis, z, logRange, 0.5, DEFAULT_VIEW));
  });
});

describe('the rotatable 3D view in a browser', () => {
  let dir: string;
  let html: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lth-report-3d-'));
    const runDir = join(dir, 'run');
    writeFixtureRun(runDir, { label: 'lenet-fixture', control: null, variant: {}, offset: 0 }, 1, [0, 1, 2]);
    writeLandscapeFixture(runDir, 0, 3, { points: 9, tilt: 0.4 });
    writeLandscapeFixture(runDir, 2, 1, { points: 9, tilt: 0.4 });
    html = (await writeReport(runDir)).html;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The report page; every console error, uncaught exception and request other than a file's is collected. */
  async function open(javaScriptEnabled = true): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const context = await browser!.newContext({ viewport: { width: 1300, height: 900 }, javaScriptEnabled });
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.route('**', (route) => {
      if (route.request().url().startsWith('file:')) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
    await page.goto(pathToFileURL(html).href);
    return { page, errors, requests };
  }

  /** Each surface canvas: how many pixels are painted, how many opaque colours, and a hash of its pixels. */
  const pixels = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll<HTMLCanvasElement>('#landscape-3d canvas.lth-surface')].map((canvas) => {
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        let hash = 2166136261;
        const colours = new Set<number>();
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3]! > 0) painted++;
          if (data[i + 3] === 255) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
          for (let k = 0; k < 4; k++) hash = Math.imul(hash ^ data[i + k]!, 16777619);
        }
        return { painted, total: canvas.width * canvas.height, colours: colours.size, hash };
      }),
    );

  it('draws a lit, colour-mapped surface per level from the file alone, and a drag turns them all', async () => {
    const { page, errors, requests } = await open();
    const view = page.locator('#landscape-3d .lth-surface-view');
    await view.waitFor();
    expect(await page.locator('#landscape-3d .chart > svg').count()).toBe(0); // the live view replaced the static one
    const titles = await view.locator('canvas.lth-surface').evaluateAll((cs) => cs.map((c) => c.previousElementSibling!.textContent));
    expect(titles).toHaveLength(2);
    expect(titles[0]).toBe('level 0 (100.0% remaining)');
    expect(titles[1]).toMatch(/^level 2 \(64\.\d% remaining\)$/);

    const before = await pixels(page);
    for (const canvas of before) {
      expect(canvas.painted / canvas.total).toBeGreaterThan(0.08);
      expect(canvas.colours).toBeGreaterThan(50); // shaded and colour-mapped, not one flat fill
    }
    const azimuth = await view.getAttribute('data-azimuth');
    const elevation = await view.getAttribute('data-elevation');

    await view.scrollIntoViewIfNeeded(); // the mouse reaches only what is in the viewport
    const box = (await view.locator('canvas.lth-surface').first().boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 90, box.y + box.height / 2 - 40, { steps: 6 });
    await page.mouse.up();
    await expect.poll(() => view.getAttribute('data-azimuth')).not.toBe(azimuth);
    expect(await view.getAttribute('data-elevation')).not.toBe(elevation);
    const after = await pixels(page);
    // Both panels turned (the drag was on the first), and both are still drawn.
    expect(after.map((c) => c.hash)).not.toContain(before[0]!.hash);
    expect(after[1]!.hash).not.toBe(before[1]!.hash);
    for (const canvas of after) expect(canvas.painted / canvas.total).toBeGreaterThan(0.08);

    // A double click goes back to the first view, pixel for pixel.
    await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => view.getAttribute('data-azimuth')).toBe(azimuth);
    await expect.poll(async () => (await pixels(page)).map((c) => c.hash)).toEqual(before.map((c) => c.hash));

    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  }, 30_000);

  it('keeps the static 3D chart where JavaScript is off', async () => {
    const { page, requests } = await open(false);
    expect(await page.locator('#landscape-3d .chart > svg').count()).toBe(1);
    expect(await page.locator('#landscape-3d canvas').count()).toBe(0);
    expect(requests).toEqual([]);
  }, 30_000);
});
