import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

const dir = mkdtempSync(join(tmpdir(), 'lth-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  name: 'pre',
  dataset: { use: 'synthetic', validation: 20, train: 120, test: 40, inputShape: [6], numClasses: 3 },
  model: { use: 'lenet-8-4' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 10, iterations: 20, evalEvery: 10 },
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 } },
};
const set = (over: Record<string, unknown>, pruning: Record<string, unknown> = {}) => ({ ...base, ...over, pruning: { ...base.pruning, ...pruning } });

async function validate(config: unknown) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  return lth('validate', file);
}

describe('lth validate catches before training what would fail during it', () => {
  it('accepts a sound config', async () => {
    const r = await validate(base);
    expect(r.code, r.stderr).toBe(0);
  });

  it.each([
    ['an override naming no layer', set({}, { masker: { use: 'layerwise', overrides: { nosuch: 0.1 } } }), /nosuch/],
    ['a rewind point at or past the end of training', set({}, { rewind: { use: 'iteration', at: 20 } }), /\/pruning\/rewind\/at: rewinding to iteration 20 leaves nothing to train/],
    ['a scorer needing θk with a rewinder that has none', set({}, { scorer: { use: 'movement', from: 'rewind' }, rewind: { use: 'lr-rewind', at: 0 } }), /\/pruning\/scorer: scorer "movement" needs the rewind point θk, but rewinder "lr-rewind"/],
    ['a scorer of trained weights pruning at initialisation', set({}, { schedule: { use: 'one-shot', sparsity: 0.5, atInit: true }, scorer: { use: 'movement' } }), /cannot prune at initialisation/],
    ['a batch larger than the training split', set({ training: { ...base.training, batchSize: 1000 } }), /\/training\/batchSize: 1000 is larger than the 100 training examples/],
    ['a branch on a level the run does not have', set({ branches: [{ use: 'reinit', levels: [1, 5] }] }), /\/branches\/0\/levels: level 5 does not exist/],
    ['evaluation every 0 iterations', set({ training: { ...base.training, evalEvery: 0 } }), /\/training\/evalEvery: must be >= 1/],
  ])('%s', async (_what, config, message) => {
    const r = await validate(config);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('in a sweep, names the variant whose config is wrong, before anything trains', async () => {
    const r = await validate({ ...base, vary: { 'pruning.rewind.at': [0, 50] } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/variant "rewind.at=50": invalid config:\n {2}\/pruning\/rewind\/at/);
  });
});

describe('lth run after the redesign', () => {
  it('scores by movement from θk (the rewind point) after level 0 (it used to exit 2)', async () => {
    const file = join(dir, 'movement.json');
    writeFileSync(file, JSON.stringify(set({}, { scorer: { use: 'movement', from: 'rewind' }, rewind: { use: 'iteration', at: 10 } })));
    const r = await lth('run', file, '--out', join(dir, 'runs'), '--backend', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ 2 +25\.00 /);
  });

  it('records provenance, and refuses to resume a run computed by another major version of a plugin', async () => {
    const file = join(dir, 'provenance.json');
    writeFileSync(file, JSON.stringify({ ...base, name: 'prov' }));
    const out = join(dir, 'prov-runs');
    expect((await lth('run', file, '--out', out, '--backend', 'cpu')).code).toBe(0);
    const [runDir] = readdirSync(out);
    const provenanceFile = join(out, runDir!, 'provenance.json');
    const provenance = JSON.parse(readFileSync(provenanceFile, 'utf8'));
    expect(provenance.plugins).toMatchObject({ '@lth/datasets': '0.1.0', '@lth/models': '0.1.0', '@lth/strategy-magnitude': '0.1.0', '@lth/core': '0.1.0' });
    expect(provenance.backends).toEqual(['cpu']);
    expect(provenance.node).toBe(process.version);
    writeFileSync(provenanceFile, JSON.stringify({ ...provenance, plugins: { ...provenance.plugins, '@lth/models': '7.0.0' } }));
    const again = await lth('run', file, '--out', out, '--backend', 'cpu');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/other major versions \(@lth\/models 7\.0\.0 → 0\.1\.0\)/);
  });
});

describe('bad output directories and odd files are named, before any work', () => {
  it.each([
    ['a regular file', () => join(dir, 'plain-file'), /cannot use .* as an output directory: .*plain-file: a parent of it is a file/],
    ['a virtual filesystem', () => '/proc/lth-out', /cannot use \/proc\/lth-out\/.* as an output directory/],
  ])('--out on %s exits 2', async (_what, out, message) => {
    writeFileSync(join(dir, 'plain-file'), 'x');
    const file = join(dir, 'out.json');
    writeFileSync(file, JSON.stringify(base));
    const r = await lth('run', file, '--out', out(), '--backend', 'cpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('accepts a config that starts with a UTF-8 byte-order mark', async () => {
    const file = join(dir, 'bom.json');
    writeFileSync(file, `\uFEFF${JSON.stringify(base)}`);
    const r = await lth('validate', file);
    expect(r.code, r.stderr).toBe(0);
  });
});
