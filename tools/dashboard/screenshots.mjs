// Screenshots of the dashboard for the docs, from a real runs directory served by `lth serve`:
//   node tools/dashboard/screenshots.mjs http://127.0.0.1:8080/ <run id> <sweep id> [out dir = docs]
// <run id> is best a run that trains while this runs (its curves are drawn live).
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, runId, sweepId, out = 'docs'] = process.argv.slice(2);
if (!url || !runId || !sweepId) {
  console.error('usage: node tools/dashboard/screenshots.mjs <url> <run id> <sweep id> [out dir]');
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: process.env.LTH_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
page.on('console', (m) => m.type() === 'error' && console.error('console error:', m.text()));

/** Hovers the points of a chart, from the fraction `from` of them on, until vega's tooltip shows. */
async function hover(chart, from) {
  const points = page.locator(`${chart} .mark-symbol path`);
  const n = await points.count();
  for (let k = 0; k < n; k++) {
    const i = (Math.floor(from * n) + k) % n;
    await points.nth(i).scrollIntoViewIfNeeded();
    const box = await points.nth(i).boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 4 });
    try {
      await page.locator('#vg-tooltip-element.visible').waitFor({ timeout: 800 });
      return;
    } catch {
      // under another mark: the next point
    }
  }
}

await page.goto(`${url}#/run/${encodeURIComponent(runId)}`);
await page.locator('#charts[data-ready="true"]').waitFor({ timeout: 120_000 });
await page.locator('#curves[data-points]:not([data-points="0"])').waitFor({ timeout: 120_000 });
await page.evaluate(() => window.scrollTo(0, 0));
await hover('#curves', 0.3);
await page.screenshot({ path: join(out, 'dashboard.png') });

await page.goto(`${url}#/sweep/${encodeURIComponent(sweepId)}`);
await page.locator('#charts[data-ready="true"]').waitFor({ timeout: 120_000 });
await page.locator('#chart-accuracy-early-stop').scrollIntoViewIfNeeded();
await hover('#chart-accuracy-early-stop', 0.2);
await page.screenshot({ path: join(out, 'dashboard-sweep.png') });
await browser.close();
