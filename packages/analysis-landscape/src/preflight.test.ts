import { API_VERSION, countKept, countToPrune, type DependencyContainer, loadPlugins, preflight, pruneLowest, resolveConfig, TOKENS, Type } from '@lth/core';
import { fakeDataset, fakeModel } from '@lth/core/testing';
import { describe, expect, it } from 'vitest';
import { register } from './index.js';

// The smallest run these branches can hang off: the fake data and model, a magnitude scorer, a
// layer-wise masker and a rewinder to θ0 (core's schedules and optimizers are built in).
const meta = (name: string) => ({ name, version: '0.0.0', apiVersion: API_VERSION });
const none = { optionsSchema: Type.Object({}), defaults: {} };
const fakeRun = {
  register(c: DependencyContainer) {
    c.register(TOKENS.dataset, { useValue: { meta: meta('fake-data'), ...none, load: async () => fakeDataset() } });
    c.register(TOKENS.model, { useValue: { meta: meta('fake-model'), ...none, create: () => fakeModel() } });
    c.register(TOKENS.scorer, { useValue: { meta: meta('fake-scorer'), ...none, score: () => ({}) } });
    c.register(TOKENS.masker, {
      useValue: {
        meta: meta('fake-masker'),
        ...none,
        mask: (scores: never, masks: Record<string, never>, rate: number) => pruneLowest(scores, masks, Object.keys(masks), countToPrune(rate, countKept(masks[Object.keys(masks)[0]!]!))),
      },
    });
    c.register(TOKENS.rewinder, { useValue: { meta: meta('fake-rewinder'), ...none, captureAt: () => [], start: () => ({ weights: {}, iteration: 0 }) } });
  },
};

async function problems(branch: Record<string, unknown>): Promise<string> {
  const { registry } = await loadPlugins({ modules: { 'fake-run': fakeRun, '@lth/analysis-landscape': { register } } });
  const config = {
    name: 'preflight',
    dataset: { use: 'fake-data', validation: 30 },
    model: { use: 'fake-model' },
    training: { optimizer: { use: 'sgd', lr: 0.1 }, batchSize: 10, iterations: 30, evalEvery: 10 },
    pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 }, scorer: { use: 'fake-scorer' }, masker: { use: 'fake-masker' }, rewind: { use: 'fake-rewinder' } },
    branches: [branch],
  };
  try {
    preflight(resolveConfig(config, registry), fakeDataset());
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('preflight (core hands the branches the split sizes)', () => {
  it('rejects subsets larger than a split, and slices that miss θT, naming the branch entry', async () => {
    // The fake dataset has 120 training and 30 test examples.
    expect(await problems({ use: 'landscape', examples: 30, grid: 3 })).toBe('');
    expect(await problems({ use: 'landscape', examples: 31, grid: 3 })).toMatch(/\/branches\/0: branch "landscape": examples: 31 is more than the 30 test examples/);
    expect(await problems({ use: 'landscape', examples: 30, grid: 4 })).toMatch(/\/branches\/0: branch "landscape": grid: 4 must be 0/);
    expect(await problems({ use: 'sharpness', examples: 120 })).toBe('');
    expect(await problems({ use: 'sharpness', examples: 121 })).toMatch(/\/branches\/0: branch "sharpness": examples: 121 is more than the 120 training examples/);
  });
});
