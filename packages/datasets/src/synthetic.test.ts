import { describe, expect, it } from 'vitest';
import { synthetic, syntheticDefaults } from './synthetic.js';

const ctx = { seed: 0, resolvePath: (p: string) => p };

describe('synthetic', () => {
  it('is deterministic in its seeds and independent of the run seed', async () => {
    const options = { ...syntheticDefaults, validation: 100 };
    const a = await synthetic.load(options, ctx);
    const b = await synthetic.load(options, { ...ctx, seed: 42 });
    expect(a.train.x).toEqual(b.train.x);
    expect(a.validation.y).toEqual(b.validation.y);
    expect(a.test.x).toEqual(b.test.x);
    const c = await synthetic.load({ ...options, dataSeed: 1 }, ctx);
    expect(c.train.x).not.toEqual(a.train.x);
  });

  it('has the requested shapes and split sizes, with balanced classes', async () => {
    const data = await synthetic.load({ ...syntheticDefaults, train: 300, test: 60, inputShape: [2, 3, 1], numClasses: 3, validation: 30 }, ctx);
    expect(data.inputShape).toEqual([2, 3, 1]);
    expect(data.numClasses).toBe(3);
    expect([data.train.count, data.validation.count, data.test.count]).toEqual([270, 30, 60]);
    expect(data.train.x.length).toBe(270 * 6);
    const counts = [0, 0, 0];
    for (const label of data.test.y) counts[label]!++;
    expect(counts).toEqual([20, 20, 20]);
  });

  it('is learnable: the nearest class mean of the training set classifies test examples well', async () => {
    const data = await synthetic.load({ ...syntheticDefaults, validation: 100 }, ctx);
    const d = data.inputShape.reduce((a, b) => a * b, 1);
    const means = new Float64Array(data.numClasses * d);
    const counts = new Array<number>(data.numClasses).fill(0);
    for (let i = 0; i < data.train.count; i++) {
      const c = data.train.y[i]!;
      counts[c]!++;
      for (let j = 0; j < d; j++) means[c * d + j]! += data.train.x[i * d + j]!;
    }
    for (let c = 0; c < data.numClasses; c++) for (let j = 0; j < d; j++) means[c * d + j]! /= counts[c]!;
    let correct = 0;
    for (let i = 0; i < data.test.count; i++) {
      let best = -1;
      let bestDistance = Infinity;
      for (let c = 0; c < data.numClasses; c++) {
        let dist = 0;
        for (let j = 0; j < d; j++) dist += (data.test.x[i * d + j]! - means[c * d + j]!) ** 2;
        if (dist < bestDistance) [best, bestDistance] = [c, dist];
      }
      if (best === data.test.y[i]) correct++;
    }
    expect(correct / data.test.count).toBeGreaterThan(0.95);
  });
});
