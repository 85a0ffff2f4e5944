/**
 * A run directory written by the release before the core redesign (0.1.0, commit 42ffa12:
 * `lth run fixture.json --backend cpu`), committed as a fixture: today's lth must read it, resume
 * it without recomputing anything, and hang branches off it.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunStore } from '@lth/core';
import { loadReportData } from '@lth/report';
import { afterAll, describe, expect, it } from 'vitest';
import { lth } from '../src/test-utils/in-process.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'release-0.1.0');
const work = mkdtempSync(join(tmpdir(), 'lth-compat-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
cpSync(fixture, work, { recursive: true });
const runDir = join(work, 'fixture-a6fd53d62af1');

describe('a run directory written by release 0.1.0', () => {
  it('is read by the run store and the report', () => {
    const store = new RunStore(runDir);
    expect(store.replicates()).toEqual([0]);
    expect(store.replicate(0).levels()).toEqual([0, 1, 2]);
    expect(store.levelSummaries().map((s) => s.remainingWeights)).toEqual([92, 46, 23]);
    expect(store.replicate(0).hasRewind(10)).toBe(true);
    const data = loadReportData(runDir);
    expect(data.rows.map((r) => r.level)).toEqual([0, 1, 2]);
  });

  it('resumes under today’s lth as complete: same run directory (same hash), nothing recomputed', async () => {
    const before = readFileSync(join(runDir, 'replicate-0', 'level-2', 'final.safetensors'));
    const result = await lth('run', join(work, 'fixture.json'), '--out', work, '--backend', 'cpu');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(runDir);
    expect(result.stderr.match(/skipped \(complete on disk\)/g)).toHaveLength(3);
    expect(readFileSync(join(runDir, 'replicate-0', 'level-2', 'final.safetensors'))).toEqual(before);
  });

  it('grows branches with lth branch', async () => {
    const result = await lth('branch', runDir, 'reinit', '--levels', '2', '--backend', 'cpu');
    expect(result.code, result.stderr).toBe(0);
    const rows = new RunStore(runDir).branchRows();
    expect(rows.map((r) => [r.level, r.branch])).toEqual([[2, 'reinit']]);
    expect(rows[0]!.result.remainingWeights).toBe(23);
    expect(readFileSync(join(runDir, 'branches.csv'), 'utf8')).toMatch(/^replicate,level,branch,id,/);
    // A second time: the stored result is reused.
    const again = await lth('branch', runDir, 'reinit', '--levels', '2', '--backend', 'cpu');
    expect(again.code).toBe(0);
    expect(new RunStore(runDir).branchRows()).toEqual(rows);
  });
});
