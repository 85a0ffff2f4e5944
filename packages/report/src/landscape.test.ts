import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '@lth/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadReportData } from './data.js';
import { contourLevels, contourSegments, loadLandscapes } from './landscape.js';
import { writeReport } from './report.js';
import { writeFixtureRun } from './test-utils/fixtures.js';
import { writeLandscapeFixture } from './test-utils/landscape.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lth-report-landscape-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('contours', () => {
  it('marching squares puts the isoline where the bilinear surface crosses the level', () => {
    // z = x on the unit square: the 0.25 isoline is the vertical segment x = 0.25.
    const segments = contourSegments([0, 1], [0, 1], [[0, 1], [0, 1]], [0.25]);
    expect(segments).toEqual([{ level: 0.25, x: 0.25, y: 0, x2: 0.25, y2: 1 }]);
    // A bowl: the isoline of level 1 on a 3 × 3 grid closes around the centre (one segment per cell).
    const bowl = [-1, 0, 1].map((y) => [-1, 0, 1].map((x) => x * x + y * y));
    expect(contourSegments([-1, 0, 1], [-1, 0, 1], bowl, [0.5])).toHaveLength(4);
  });

  it('spaces contour levels in log between the lowest loss and the cap', () => {
    const levels = contourLevels(0.01, 100, 4);
    expect(levels).toHaveLength(4);
    expect(levels[0]).toBeGreaterThan(0.01);
    expect(levels[3]).toBeLessThan(10);
    expect(levels[1]! / levels[0]!).toBeCloseTo(levels[3]! / levels[2]!, 1);
  });
});

describe('landscape section of the report', () => {
  it('draws the dense network and its tickets side by side, and their 1D slices, from the branch files', async () => {
    const runDir = join(dir, 'run');
    writeFixtureRun(runDir, { label: 'lenet-fixture', control: null, variant: {}, offset: 0 }, 1, [0, 1, 2, 3]);
    writeLandscapeFixture(runDir, 0, 3);
    writeLandscapeFixture(runDir, 2, 1);
    writeLandscapeFixture(runDir, 3, 0.5, { complete: false }); // a 2D grid still being computed: its line only
    // A plane through solutions (another setting of the branch) is not drawn with the random planes.
    new RunStore(runDir).replicate(0).level(1).branch('landscape', 'ba9876543210').writeJson('line.json', { plane: 'solutions', alphas: [0], trainLoss: [1], trainAccuracy: [1], testLoss: [1], testAccuracy: [1] });
    const landscapes = loadLandscapes(loadReportData(runDir));
    expect(landscapes.map((l) => [l.level, Boolean(l.surface)])).toEqual([
      [0, true],
      [2, true],
      [3, false],
    ]);
    const report = await writeReport(runDir, { png: true });
    const html = readFileSync(report.html, 'utf8');
    for (const id of ['landscape-3d', 'landscape-surfaces', 'landscape-lines']) {
      expect(html).toContain(`<figure id="${id}">`);
      expect(existsSync(join(runDir, `report-${id}.png`))).toBe(true);
    }
    const surfaces = html.slice(html.indexOf('<figure id="landscape-surfaces">'), html.indexOf('</figure>', html.indexOf('<figure id="landscape-surfaces">')));
    expect(surfaces).toContain('level 0 (100.0% remaining)');
    expect(surfaces).toMatch(/level 2 \(64\.\d% remaining\)/);
    expect(surfaces).not.toContain('level 3');
    const table = html.slice(html.indexOf('<h3 id="landscape-numbers">'), html.indexOf('</table>', html.indexOf('<h3 id="landscape-numbers">')));
    expect(table.match(/<tr><td class="l">/g)).toHaveLength(3); // levels 0, 2 and 3 have a landscape result
    expect(table).toContain('<td>0.05000</td>'); // the train loss at θT of the fixture
  }, 60_000);

  it('adds nothing to a run without landscapes', async () => {
    const runDir = join(dir, 'plain');
    writeFixtureRun(runDir, { label: 'lenet-fixture', control: null, variant: {}, offset: 0 }, 1, [0, 1]);
    const html = readFileSync((await writeReport(runDir)).html, 'utf8');
    expect(html).not.toContain('<figure id="landscape-');
  }, 60_000);
});
