/**
 * Malformed configs and sweeps, generated (fast-check): lth validate must answer each with exit 0
 * or 2, never an internal error (1) or a stack trace, and every message must name a field
 * (a JSON path) or a file. Runs through the real CLI in-process, with the real plugins.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { lth } from '../src/test-utils/in-process.js';

const dir = mkdtempSync(join(tmpdir(), 'lth-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  name: 'fuzz',
  dataset: { use: 'synthetic', validation: 20, train: 120, test: 40, inputShape: [6], numClasses: 3 },
  model: { use: 'lenet-8-4' },
  training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 10, iterations: 20, evalEvery: 10 },
  pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 }, masker: { use: 'layerwise', overrides: { output: 0.25 } } },
  branches: [{ use: 'reinit' }],
};

/** Every path to a value in `value` (objects and arrays), e.g. ['training', 'batchSize']. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value && typeof value === 'object') return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  return [prefix];
}
const PATHS = paths(base).filter((p) => p.length > 0);

/** Values that break things: huge, negative, fractional, empty, wrong types, long strings, odd names. */
const nasty = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 1e9, 1e15, 1e308, -1e308, 2 ** 31, '', ' ', '2ep', '0ep', '1e15it', 'x'.repeat(300), null, true, [], {}, [1e5, 1e5], ['a'], { use: 'nope' }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string(),
  fc.array(fc.integer({ min: -3, max: 100000 }), { maxLength: 4 }),
  fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
);

type Mutation = { kind: 'set' | 'delete' | 'add'; path: (string | number)[]; value: unknown; key: string };
const mutation = fc.record({ kind: fc.constantFrom('set', 'delete', 'add'), path: fc.constantFrom(...PATHS), value: nasty, key: fc.string({ maxLength: 8 }) }) as fc.Arbitrary<Mutation>;

function mutate(config: unknown, m: Mutation): unknown {
  const out = structuredClone(config) as Record<string, unknown>;
  let o: any = out;
  for (const k of m.path.slice(0, -1)) {
    // An earlier mutation replaced a parent: this one no longer applies.
    if (!o || typeof o !== 'object') return out;
    o = o[k];
  }
  if (!o || typeof o !== 'object') return out;
  const last = m.path[m.path.length - 1]!;
  if (m.kind === 'set') o[last] = m.value;
  else if (m.kind === 'delete') Array.isArray(o) ? o.splice(Number(last), 1) : delete o[last];
  else if (o[last] && typeof o[last] === 'object' && !Array.isArray(o[last])) o[last][m.key || 'extra'] = m.value;
  else o[last] = m.value;
  return out;
}

const sweepParts = fc.record(
  {
    vary: fc.oneof(fc.constant(undefined), nasty, fc.dictionary(fc.constantFrom('pruning.rewind.at', 'training.batchSize', '/model/use', 'a..b', ''), fc.oneof(nasty, fc.array(nasty, { maxLength: 3 })), { maxKeys: 2 })),
    variants: fc.oneof(fc.constant(undefined), nasty, fc.array(fc.oneof(nasty, fc.record({ label: fc.oneof(fc.constant('same'), fc.string()), set: fc.oneof(nasty, fc.dictionary(fc.constantFrom('training.lr', 'model.use', 'seed'), nasty, { maxKeys: 2 })) })), { maxLength: 3 })),
    controls: fc.oneof(fc.constant(undefined), nasty, fc.array(fc.oneof(fc.constantFrom('reinit', 'random-prune', 'shuffle', 'nope'), fc.string()), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);

let counter = 0;
async function check(config: unknown, extra: string[] = []): Promise<void> {
  const file = join(dir, `c${counter++}.json`);
  writeFileSync(file, JSON.stringify(config));
  const r = await lth('validate', file, ...extra);
  expect([0, 2], `exit ${r.code} for ${JSON.stringify(config)}:\n${r.stderr}`).toContain(r.code);
  expect(r.stderr, JSON.stringify(config)).not.toMatch(/\n\s+at .*:\d+:\d+/);
  if (r.code === 2) {
    // A JSON path (/training/batchSize), a CLI argument (--out, <config>) or a file.
    expect(r.stderr, JSON.stringify(config)).toMatch(/(^|\s|")\/[A-Za-z0-9]|--[a-z]|<config>|\.json|variant "/);
  }
}

describe('fuzz: malformed configs and sweeps', () => {
  it('run configs (schemas only, 400 cases): exit 0 or 2, no stack trace, the field named', { timeout: 600_000 }, async () => {
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => check(ms.reduce(mutate, base), ['--no-data'])), { numRuns: 400, seed: 42 });
  });

  it('run configs with their data loaded and checked (60 cases)', { timeout: 600_000 }, async () => {
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 2 }), async (ms) => check(ms.reduce(mutate, base))), { numRuns: 60, seed: 7 });
  });

  it('sweeps (100 cases)', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(sweepParts, fc.array(mutation, { maxLength: 1 }), async (parts, ms) => {
        const sweep = { ...(ms.reduce(mutate, base) as object), ...Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined)) };
        await check(sweep, ['--no-data']);
      }),
      { numRuns: 100, seed: 3 },
    );
  });
});
