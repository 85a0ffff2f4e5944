import { describe, expect, it } from 'vitest';
import { constantLr, cosineLr, linearWarmup, noWarmup, stepLr } from './lr.js';

// VGG-19 in Frankle & Carbin: 50,000 training images, batch 64 → 781 iterations per epoch.
const vgg = { iterationsPerEpoch: 781, totalIterations: 112_480 };

describe('step schedule', () => {
  it('×0.1 at epochs 80 and 120 (VGG-19): 0.1 before, 0.01 from 62,480, 0.001 from 93,720', () => {
    const o = { milestones: ['80ep', '120ep'], gamma: 0.1 };
    const at = (it: number) => stepLr.lr(it, 0.1, o, vgg);
    expect(at(0)).toBe(0.1);
    expect(at(62_479)).toBe(0.1);
    expect(at(62_480)).toBeCloseTo(0.01, 12);
    expect(at(93_719)).toBeCloseTo(0.01, 12);
    expect(at(93_720)).toBeCloseTo(0.001, 12);
    expect(at(112_479)).toBeCloseTo(0.001, 12);
  });

  it('milestones in iterations, in any order, applied cumulatively', () => {
    const o = { milestones: [30_000, '20000it'], gamma: 0.5 };
    const ctx = { iterationsPerEpoch: 100, totalIterations: 40_000 };
    expect(stepLr.lr(19_999, 0.2, o, ctx)).toBe(0.2);
    expect(stepLr.lr(20_000, 0.2, o, ctx)).toBe(0.1);
    expect(stepLr.lr(30_000, 0.2, o, ctx)).toBe(0.05);
    expect(stepLr.lr(10, 0.2, { milestones: [], gamma: 0.1 }, ctx)).toBe(0.2);
  });

  it('a bad milestone names its JSON path', () => {
    expect(() => stepLr.lr(0, 0.1, { milestones: [10, 'soon'], gamma: 0.1 }, vgg)).toThrow(/\/training\/lrSchedule\/milestones\/1/);
  });
});

describe('linear warmup', () => {
  it('10k iterations (VGG-19 at lr 0.1): factor (t + 1) / 10,000, then 1', () => {
    const o = { iterations: 10_000 };
    expect(linearWarmup.factor(0, o, vgg)).toBe(1e-4);
    expect(linearWarmup.factor(4_999, o, vgg)).toBe(0.5);
    expect(linearWarmup.factor(9_998, o, vgg)).toBeCloseTo(0.9999, 12);
    expect(linearWarmup.factor(9_999, o, vgg)).toBe(1);
    expect(linearWarmup.factor(50_000, o, vgg)).toBe(1);
  });

  it('in epochs, and 0 disables it; "none" is always 1', () => {
    expect(linearWarmup.factor(780, { iterations: '2ep' }, vgg)).toBeCloseTo(781 / 1562, 12);
    expect(linearWarmup.factor(0, { iterations: 0 }, vgg)).toBe(1);
    expect(noWarmup.factor(0, {}, vgg)).toBe(1);
  });

  it('times the step schedule, as core combines them: 0.05 at 4,999, 0.1 at 10k, 0.01 after epoch 80', () => {
    const lr = (it: number) => stepLr.lr(it, 0.1, { milestones: ['80ep', '120ep'], gamma: 0.1 }, vgg) * linearWarmup.factor(it, { iterations: 10_000 }, vgg);
    expect(lr(4_999)).toBeCloseTo(0.05, 12);
    expect(lr(10_000)).toBe(0.1);
    expect(lr(70_000)).toBeCloseTo(0.01, 12);
  });
});

describe('cosine schedule', () => {
  const ctx = { iterationsPerEpoch: 100, totalIterations: 1_000 };
  it('base at 0, half at T/2, final·base at T (and beyond)', () => {
    expect(cosineLr.lr(0, 0.1, { final: 0 }, ctx)).toBe(0.1);
    expect(cosineLr.lr(250, 0.1, { final: 0 }, ctx)).toBeCloseTo(0.1 * (1 + Math.SQRT1_2) / 2, 12);
    expect(cosineLr.lr(500, 0.1, { final: 0 }, ctx)).toBeCloseTo(0.05, 12);
    expect(cosineLr.lr(1_000, 0.1, { final: 0 }, ctx)).toBeCloseTo(0, 12);
    expect(cosineLr.lr(500, 0.1, { final: 0.1 }, ctx)).toBeCloseTo(0.01 + 0.09 / 2, 12);
    expect(cosineLr.lr(1_000, 0.1, { final: 0.1 }, ctx)).toBeCloseTo(0.01, 12);
    expect(cosineLr.lr(2_000, 0.1, { final: 0.1 }, ctx)).toBeCloseTo(0.01, 12);
  });

  it('is non-increasing', () => {
    let previous = Infinity;
    for (let it = 0; it <= 1_000; it += 10) {
      const lr = cosineLr.lr(it, 1, { final: 0 }, ctx);
      expect(lr).toBeLessThanOrEqual(previous);
      previous = lr;
    }
  });

  it('constant is the base rate', () => {
    expect(constantLr.lr(123, 0.3, {}, ctx)).toBe(0.3);
  });
});
