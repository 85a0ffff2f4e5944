import { readFileSync } from 'node:fs';
import { rootContainer, type TensorMap, tf, TOKENS, UserError } from '@lth/core';
import { checkRewinder, fakeRewindContext } from '@lth/core/testing';
import { describe, expect, it } from 'vitest';
import { stepLr } from '@lth/core';
import { finetuneRewinder, iterationRewinder, lrRewinder, reinitRewinder, reinitSeed, register, VERSION } from './index.js';

const values = (map: TensorMap) => Object.fromEntries(Object.entries(map).map(([n, t]) => [n, [...t.dataSync()]]));
const dispose = (map: TensorMap) => tf.dispose(Object.values(map));
const timing = { iterationsPerEpoch: 100, totalIterations: 1000 };

describe('iteration rewinder', () => {
  it('defaults to θ0 at iteration 0 with fresh optimizer state', () => {
    const ctx = fakeRewindContext({ ...timing, snapshotsAt: [] });
    const options = { ...iterationRewinder.defaults };
    expect(iterationRewinder.captureAt(options, timing)).toEqual([0]);
    const start = iterationRewinder.start(ctx, options);
    expect(start.iteration).toBe(0);
    expect(start.optimizerState).toBeUndefined();
    expect(values(start.weights)).toEqual(values(ctx.init));
    dispose(start.weights);
    ctx.dispose();
  });

  it('starts a level from the snapshot θk at iteration k, not from θ0 or θT', () => {
    const ctx = fakeRewindContext({ ...timing, snapshotsAt: [0, 200, 500] });
    const start = iterationRewinder.start(ctx, { at: 500 });
    expect(start.iteration).toBe(500);
    expect(values(start.weights)).toEqual(values(ctx.snapshots.get(500)!));
    expect(values(start.weights)).not.toEqual(values(ctx.init));
    expect(values(start.weights)).not.toEqual(values(ctx.final));
    dispose(start.weights);
    ctx.dispose();
  });

  it('reads durations: "2ep" at 100 iterations per epoch is 200, "300it" is 300', () => {
    expect(iterationRewinder.captureAt({ at: '2ep' }, timing)).toEqual([200]);
    expect(iterationRewinder.captureAt({ at: '300it' }, timing)).toEqual([300]);
    const ctx = fakeRewindContext({ ...timing, snapshotsAt: [200] });
    const start = iterationRewinder.start(ctx, { at: '2ep' });
    expect(start.iteration).toBe(200);
    expect(values(start.weights)).toEqual(values(ctx.snapshots.get(200)!));
    dispose(start.weights);
    ctx.dispose();
  });

  it('rewinding at or past the end of training is a UserError naming /pruning/rewind/at', () => {
    for (const at of [1000, '10ep', 5000]) {
      expect(() => iterationRewinder.captureAt({ at }, timing)).toThrow(UserError);
      try {
        iterationRewinder.captureAt({ at }, timing);
      } catch (e) {
        expect((e as UserError).field).toBe('/pruning/rewind/at');
        expect((e as UserError).message).toMatch(/training has 1000 iterations/);
      }
    }
    expect(() => iterationRewinder.captureAt({ at: 'soon' }, timing)).toThrow(/\/pruning\/rewind\/at: "soon" is not a duration/);
  });

  it('a missing snapshot is an error that names the iteration', () => {
    const ctx = fakeRewindContext({ ...timing, snapshotsAt: [100] });
    expect(() => iterationRewinder.start(ctx, { at: 200 })).toThrow(/no snapshot of iteration 200 \(snapshots: 100\)/);
    ctx.dispose();
  });

  it('returns copies the caller owns: no tensor leaks, the context survives their disposal', () => {
    const ctx = fakeRewindContext({ ...timing, snapshotsAt: [200] });
    const before = tf.memory().numTensors;
    for (let level = 1; level <= 3; level++) {
      const start = iterationRewinder.start({ ...ctx, level }, { at: 200 });
      dispose(start.weights);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(values(ctx.snapshots.get(200)!)['dense1/kernel']).toHaveLength(30);
    ctx.dispose();
  });

  it('passes core’s rewinder suite (at 0 and late)', () => {
    checkRewinder(iterationRewinder);
    checkRewinder(iterationRewinder, { options: { at: '2ep' } });
  });
});

describe('reinit rewinder', () => {
  it('starts every level at iteration 0 from a fresh init that differs from θ0 and by level, reproducibly', () => {
    const ctx = fakeRewindContext({ ...timing, seed: 3 });
    expect(reinitRewinder.captureAt({}, timing)).toEqual([]);
    const before = tf.memory().numTensors;
    const level1 = reinitRewinder.start({ ...ctx, level: 1 }, {});
    const again = reinitRewinder.start({ ...ctx, level: 1 }, {});
    const level2 = reinitRewinder.start({ ...ctx, level: 2 }, {});
    expect(level1.iteration).toBe(0);
    expect(level1.optimizerState).toBeUndefined();
    expect(values(again.weights)).toEqual(values(level1.weights));
    expect(values(level1.weights)['dense1/kernel']).not.toEqual(values(ctx.init)['dense1/kernel']);
    expect(values(level2.weights)['dense1/kernel']).not.toEqual(values(level1.weights)['dense1/kernel']);
    for (const s of [level1, again, level2]) dispose(s.weights);
    expect(tf.memory().numTensors).toBe(before);
    ctx.dispose();
  });

  it('derives a seed different from the run seed for each level', () => {
    const seeds = new Set([1, 2, 3].map((level) => reinitSeed(0, level)));
    expect(seeds.size).toBe(3);
    expect(seeds.has(0)).toBe(false);
    expect(reinitSeed(7, 2)).toBe(reinitSeed(7, 2));
  });

  it('passes core’s rewinder suite', () => checkRewinder(reinitRewinder));
});

describe('lr-rewind rewinder', () => {
  it('starts from θT of the previous level (not θ0, not θk) at iteration k, so the schedule replays from k', () => {
    const ctx = fakeRewindContext({ ...timing, snapshotsAt: [] });
    expect(lrRewinder.captureAt({ at: 300 }, timing)).toEqual([]);
    const start = lrRewinder.start(ctx, { at: 300 });
    expect(start.iteration).toBe(300);
    expect(start.lr).toBeUndefined(); // the schedule decides the rate
    expect(start.optimizerState).toBeUndefined();
    expect(values(start.weights)).toEqual(values(ctx.final));
    expect(values(start.weights)).not.toEqual(values(ctx.init));
    // With a step schedule (×0.1 at 500), the level trains at 0.1 from 300 and 0.01 from 500, like the dense run did.
    const step = { milestones: [500], gamma: 0.1 };
    expect(stepLr.lr(start.iteration, 0.1, step, timing)).toBe(0.1);
    expect(stepLr.lr(500, 0.1, step, timing)).toBeCloseTo(0.01, 12);
    dispose(start.weights);
    ctx.dispose();
  });

  it('defaults to replaying the whole schedule (k = 0); epochs; k at the end is a UserError', () => {
    const ctx = fakeRewindContext({ ...timing });
    const start = lrRewinder.start(ctx, { ...lrRewinder.defaults } as never);
    expect(start.iteration).toBe(0);
    expect(values(start.weights)).toEqual(values(ctx.final));
    dispose(start.weights);
    const late = lrRewinder.start(ctx, { at: '2ep' });
    expect(late.iteration).toBe(200);
    dispose(late.weights);
    expect(() => lrRewinder.start(ctx, { at: 1000 })).toThrow(/\/pruning\/rewind\/at: .*training has 1000 iterations/);
    ctx.dispose();
  });

  it('passes core’s rewinder suite', () => {
    checkRewinder(lrRewinder);
    checkRewinder(lrRewinder, { options: { at: '2ep' } });
  });
});

describe('finetune rewinder', () => {
  it('starts from θT at iteration T − t with the constant rate it is given', () => {
    const ctx = fakeRewindContext({ ...timing });
    expect(finetuneRewinder.captureAt({ lr: 0.001, iterations: 100 }, timing)).toEqual([]);
    const start = finetuneRewinder.start(ctx, { lr: 0.001, iterations: 100 });
    expect(start.lr).toBe(0.001);
    expect(start.iteration).toBe(900);
    expect(start.optimizerState).toBeUndefined();
    expect(values(start.weights)).toEqual(values(ctx.final));
    expect(values(start.weights)).not.toEqual(values(ctx.init));
    dispose(start.weights);
    const defaults = finetuneRewinder.start(ctx, { ...finetuneRewinder.defaults } as never);
    expect(defaults.lr).toBe(1e-4);
    expect(defaults.iteration).toBe(0); // "10ep" of 100 iterations each: all 1,000
    dispose(defaults.weights);
    expect(() => finetuneRewinder.start(ctx, { lr: 0.001, iterations: '11ep' })).toThrow(/\/pruning\/rewind\/iterations/);
    ctx.dispose();
  });

  it('passes core’s rewinder suite', () => {
    checkRewinder(finetuneRewinder);
    checkRewinder(finetuneRewinder, { options: { iterations: 30, lr: 0.01 } });
  });
});

describe('package', () => {
  it('VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    for (const plugin of [iterationRewinder, lrRewinder, finetuneRewinder, reinitRewinder]) expect(plugin.meta.version).toBe(pkg.version);
  });

  it('register() adds every rewinder to the container it is given', () => {
    const child = rootContainer.createChildContainer();
    register(child);
    expect(child.resolveAll(TOKENS.rewinder)).toEqual([iterationRewinder, lrRewinder, finetuneRewinder, reinitRewinder]);
  });
});
