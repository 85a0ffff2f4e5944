/**
 * `lth report` in-process, on run stores written by the real `lth run` and `lth sweep` (tiny
 * synthetic runs): the paths it prints, the files it writes, and exit 2 for a directory that is
 * neither a run nor a sweep.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

const tiny = {
  name: 'report-tiny',
  seed: 0,
  dataset: { use: 'synthetic', validation: 100, train: 300, test: 100 },
  model: { use: 'lenet-16' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 32, iterations: 20, evalEvery: 10 },
  pruning: {
    schedule: { use: 'iterative', levels: 2, rate: 0.5 },
    scorer: { use: 'magnitude' },
    masker: { use: 'layerwise' },
    rewind: { use: 'iteration', at: 0 },
  },
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lth-report-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lth report', () => {
  it('reports a run directory written by lth run, with --png', async () => {
    const file = join(dir, 'run.json');
    writeFileSync(file, JSON.stringify(tiny));
    const out = join(dir, 'runs');
    expect((await lth('run', file, '--out', out, '--backend', 'cpu')).code).toBe(0);
    const runDir = JSON.parse((await lth('validate', file)).stdout).runDir as string;
    const report = await lth('report', join(out, runDir), '--png');
    // Only a warning may appear (no sans-serif font for the PNG text on a bare machine).
    expect(report.stderr.replace(/^lth: no sans-serif font found.*\n/m, '')).toBe('');
    expect(report.code).toBe(0);
    const printed = report.stdout.trim().split('\n');
    expect(printed[0]).toBe(join(out, runDir, 'report.html'));
    expect(printed.slice(1).every((p) => p.endsWith('.png') && existsSync(p))).toBe(true);
    expect(printed).toHaveLength(7);
    const html = readFileSync(printed[0]!, 'utf8');
    expect(html).toContain('report-tiny');
    expect(html).toMatch(/class="mark-rule/);
  }, 120_000);

  it('reports a sweep directory written by lth sweep: a series per variant and control, summary.csv', async () => {
    const file = join(dir, 'sweep.json');
    writeFileSync(file, JSON.stringify({ ...tiny, name: 'report-sweep', vary: { 'pruning.masker.use': ['global', 'layerwise'] }, controls: ['reinit'] }));
    const out = join(dir, 'sweeps');
    const sweep = await lth('sweep', file, '--out', out, '--backend', 'cpu');
    expect(sweep.code, sweep.stderr).toBe(0);
    const sweepDir = /^sweep: (.*)$/m.exec(sweep.stdout)![1]!;
    const report = await lth('report', sweepDir);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout.trim().split('\n')).toEqual([join(sweepDir, 'report.html'), join(sweepDir, 'summary.csv')]);
    const manifest = JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8')) as { runs: { label: string }[] };
    // The control is a branch of each variant's run, not a run of its own.
    expect(manifest.runs.map((r) => r.label)).toEqual(['masker.use=global', 'masker.use=layerwise']);
    const html = readFileSync(join(sweepDir, 'report.html'), 'utf8');
    const accuracy = html.slice(html.indexOf('<figure id="accuracy-early-stop">'), html.indexOf('</figure>', html.indexOf('<figure id="accuracy-early-stop">')));
    for (const r of manifest.runs) {
      expect(accuracy).toContain(`>${r.label}<`);
      expect(accuracy).toContain(`>${r.label} / reinit<`);
    }
    const csv = readFileSync(join(sweepDir, 'summary.csv'), 'utf8').trim().split('\n');
    // 2 variants × levels 0..2 + 2 controls × (whatever levels they store), 1 replicate.
    expect(csv.length).toBeGreaterThanOrEqual(1 + 2 * 3 + 2 * 2);
  }, 180_000);

  it('exits 2 for a directory that is neither a run nor a sweep', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const result = await lth('report', empty);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/neither a sweep directory \(with sweep\.json\) nor a run directory/);
  });
});
