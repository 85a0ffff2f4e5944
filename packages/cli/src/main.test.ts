/**
 * The `lth` command in-process: `main(argv, io)` with streams that collect what it writes.
 * Exit codes (0 success, 2 bad input naming the field), the resolved config, `init`, `plugins`,
 * and a tiny synthetic run that resumes (skips its complete levels) on a second invocation.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';


/** LeNet with one hidden layer of 16 on 4-class Gaussian blobs: a level takes well under a second. */
const tinyConfig = {
  name: 'cli-tiny',
  seed: 0,
  dataset: { use: 'synthetic', validation: 100, train: 500, test: 200 },
  model: { use: 'lenet-16' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 32, iterations: 40, evalEvery: 20 },
  pruning: {
    schedule: { use: 'iterative', levels: 1, rate: 0.2 },
    scorer: { use: 'magnitude' },
    masker: { use: 'layerwise' },
    rewind: { use: 'iteration', at: 0 },
  },
};

let dir: string;
/** Writes `config` (tinyConfig with `edit` applied) to a file and returns its path. */
function configFile(name: string, edit: (c: typeof tinyConfig & Record<string, any>) => void = () => {}): string {
  const config = structuredClone(tinyConfig) as typeof tinyConfig & Record<string, any>;
  edit(config);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lth-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('bad input exits 2 with a message naming what is wrong', () => {
  it('a field out of range names its JSON path', async () => {
    const r = await lth('validate', configFile('batch0', (c) => (c.training.batchSize = 0)));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/training/batchSize');
    expect(r.stdout).toBe('');
  });

  it('the same check guards `lth run`, before any training', async () => {
    const out = join(dir, 'runs-bad');
    const r = await lth('run', configFile('batch0-run', (c) => (c.training.batchSize = 0)), '--out', out, '--backend', 'cpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/training/batchSize');
    expect(existsSync(out)).toBe(false);
  });

  it('an unknown masker lists the maskers that exist', async () => {
    const r = await lth('validate', configFile('masker', (c) => (c.pruning.masker.use = 'layer-wise')));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/pruning/masker');
    expect(r.stderr).toContain('"layer-wise"');
    expect(r.stderr).toMatch(/global, layerwise/);
  });

  it('an unknown option of a plugin is named with its path', async () => {
    const r = await lth('validate', configFile('extra', (c) => ((c.pruning.scorer as Record<string, unknown>).power = 2)));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/pruning/scorer');
    expect(r.stderr).toContain('power');
  });

  it('a missing config file', async () => {
    const r = await lth('validate', join(dir, 'nope.json'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not found.*nope\.json/);
  });

  it('a file that is not JSON', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "name": ');
    const r = await lth('run', file, '--backend', 'cpu', '--out', join(dir, 'runs-broken'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not valid JSON');
  });

  it('an unknown command', async () => {
    const r = await lth('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('an unknown flag', async () => {
    const r = await lth('validate', configFile('flag'), '--colour');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--colour'/);
  });

  it('a missing argument', async () => {
    const r = await lth('run');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required argument 'config'/);
  });

  it('an unknown backend', async () => {
    const r = await lth('run', configFile('backend'), '--backend', 'quantum', '--out', join(dir, 'runs-backend'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('quantum');
  });
});

describe('lth validate', () => {
  it('prints the resolved config with every default filled in, its hash and run directory', async () => {
    const r = await lth('validate', configFile('valid'));
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as { runDir: string; hash: string; config: Record<string, any> };
    expect(printed.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(printed.runDir).toBe(`cli-tiny-${printed.hash.slice(0, 12)}`);
    const { config } = printed;
    // What the file said survives...
    expect(config.training.batchSize).toBe(32);
    expect(config.dataset).toMatchObject({ use: 'synthetic', validation: 100, train: 500 });
    // ...and what it left out is filled in from core's and each plugin's defaults.
    expect(config.replicates).toBe(1);
    expect(config.training.optimizer).toMatchObject({ use: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999 });
    expect(config.training.lrSchedule).toEqual({ use: 'constant' });
    expect(config.training.warmup).toEqual({ use: 'none' });
    expect(config.model).toMatchObject({ use: 'lenet-16', hidden: [16] });
    expect(config.pruning.masker).toEqual({ use: 'layerwise', overrides: {} });
    expect(config.pruning.schedule).toMatchObject({ use: 'iterative', levels: 1, rate: 0.2, atInit: false });
  });

  it('gives the same hash whether a default is written out or left implicit', async () => {
    const implicit = JSON.parse((await lth('validate', configFile('implicit'))).stdout).hash;
    const explicit = JSON.parse((await lth('validate', configFile('explicit', (c) => (c.replicates = 1)))).stdout).hash;
    expect(explicit).toBe(implicit);
  });
});

describe('lth init', () => {
  it('writes a config that lth validate accepts, and will not overwrite it without --force', async () => {
    const file = join(dir, 'init', 'lth.json');
    rmSync(join(dir, 'init'), { recursive: true, force: true });
    mkdirSync(join(dir, 'init'));

    const first = await lth('init', file);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`lth run ${file}`);
    const written = readFileSync(file, 'utf8');
    expect(JSON.parse(written)).toMatchObject({ dataset: { use: 'mnist' }, model: { use: 'lenet-300-100' } });

    const valid = await lth('validate', file);
    expect(valid.code, valid.stderr).toBe(0);
    expect(JSON.parse(valid.stdout).config.pruning.masker).toEqual({ use: 'layerwise', overrides: { output: 0.1 } });

    writeFileSync(file, '{"edited": true}\n');
    const again = await lth('init', file);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect(readFileSync(file, 'utf8')).toBe('{"edited": true}\n');

    const forced = await lth('init', file, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(written);
  });
});

describe('lth plugins', () => {
  it('--json lists the first-party plugins with the package each came from', async () => {
    const r = await lth('plugins', '--json');
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { kind: string; name: string; package: string; version: string }[];
    const where = (kind: string, name: string) => rows.find((row) => row.kind === kind && row.name === name)?.package;
    expect(where('scorer', 'magnitude')).toBe('@lth/strategy-magnitude');
    expect(where('masker', 'global')).toBe('@lth/strategy-magnitude');
    expect(where('masker', 'layerwise')).toBe('@lth/strategy-magnitude');
    expect(where('rewinder', 'iteration')).toBe('@lth/rewind-late');
    expect(where('rewinder', 'reinit')).toBe('@lth/rewind-late');
    expect(where('dataset', 'mnist')).toBe('@lth/datasets');
    expect(where('dataset', 'synthetic')).toBe('@lth/datasets');
    expect(where('model', 'lenet')).toBe('@lth/models');
    expect(where('schedule', 'iterative')).toBe('@lth/core');
    expect(where('optimizer', 'adam')).toBe('@lth/core');
    expect(where('backend', 'cpu')).toBe('@lth/core');
    for (const row of rows) expect(row.version, `${row.kind} ${row.name}`).toMatch(/^\d+\.\d+\.\d+/);
    // Each name appears once per kind.
    const keys = rows.map((row) => `${row.kind}:${row.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('prints a table grouped by kind without --json', async () => {
    const r = await lth('plugins');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^scorer:$/m);
    expect(r.stdout).toMatch(/^\s+magnitude\s+@lth\/strategy-magnitude@\d+\.\d+\.\d+/m);
  });
});

describe('lth run', () => {
  it('trains, prints the summary table, and a second invocation resumes by skipping the complete levels', async () => {
    const out = join(dir, 'runs');
    const file = configFile('run');

    const first = await lth('run', file, '--out', out, '--backend', 'cpu');
    expect(first.code, first.stderr).toBe(0);
    // The table on stdout: a header naming the columns, then one row per level.
    const table = first.stdout.trim().split('\n');
    expect(table[0]).toMatch(/level\s+% weights left\s+test acc \(final\)\s+test acc \(early stop\)\s+early-stop it/);
    expect(table[1]).toMatch(/^[- ]+$/);
    expect(table).toHaveLength(4);
    expect(table[2]).toMatch(/^\s*0\s+0\s+100\.00\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\d+$/);
    expect(table[3]).toMatch(/^\s*0\s+1\s+80\.00\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\d+$/);

    // stderr is not a TTY: plain progress lines, no progress bar.
    expect(first.stderr).toContain('(backend cpu; 1 replicate(s) × 2 level(s) × 40 iterations)');
    expect(first.stderr).toContain('replicate 0 level 0: 100.00% of weights remain, training from iteration 0');
    expect(first.stderr).toContain('replicate 0 level 1: 80.00% of weights remain, training from iteration 0');
    expect(first.stderr).toMatch(/^ {2}it 20: train loss \d+\.\d{4}, val loss \d+\.\d{4}, val acc \d+\.\d\d%, test acc \d+\.\d\d%$/m);
    expect(first.stderr).toMatch(/^ {2}it 40: /m);
    expect(first.stderr).toMatch(/^replicate 0 level 1 done in \d+\.\d s: test acc/m);
    expect(first.stderr).not.toMatch(/\r|\u001b\[|█|░/);

    const second = await lth('run', file, '--out', out, '--backend', 'cpu');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/replicate 0 level 0: skipped/);
    expect(second.stderr).toMatch(/replicate 0 level 1: skipped/);
    expect(second.stderr).not.toMatch(/training from iteration/);
  });
});
