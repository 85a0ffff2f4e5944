import { readFileSync } from 'node:fs';
import { type DependencyContainer, rootContainer, type Scores, tf, TOKENS } from '@lth/core';
import { checkScorer, fakeScorerContext } from '@lth/core/testing';
import { describe, expect, it } from 'vitest';
import { globalMasker, layerwiseMasker, magnitudeScorer, register, VERSION } from './index.js';

describe('magnitude scorer', () => {
  it('scores |w| of the current weights, leaking no tensor', () => {
    const ctx = fakeScorerContext();
    const kernel = tf.tensor([-3, 1, 0, -0.5, 2, 7], [2, 3]);
    const before = tf.memory().numTensors;
    // The magnitude scorer is synchronous.
    const s = magnitudeScorer.score({ ...ctx, weights: { ...ctx.weights, 'dense1/kernel': kernel } }, {}) as Scores;
    expect(tf.memory().numTensors).toBe(before);
    expect(s['dense1/kernel'].shape).toEqual([2, 3]);
    expect([...s['dense1/kernel'].data]).toEqual([3, 1, 0, 0.5, 2, 7]);
    expect([...s['dense2/kernel'].data]).toEqual([...ctx.weights['dense2/kernel'].dataSync()].map(Math.abs));
    kernel.dispose();
    ctx.dispose();
  });

  it('passes core’s scorer suite', () => checkScorer(magnitudeScorer));
});

describe('package', () => {
  it('VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    for (const plugin of [magnitudeScorer, layerwiseMasker, globalMasker]) expect(plugin.meta.version).toBe(pkg.version);
  });

  it('register() adds the scorer and both maskers to the container it is given, and nothing to others', () => {
    const child: DependencyContainer = rootContainer.createChildContainer();
    register(child);
    expect(child.resolveAll(TOKENS.scorer)).toEqual([magnitudeScorer]);
    expect(child.resolveAll(TOKENS.masker)).toEqual([layerwiseMasker, globalMasker]);
    expect(rootContainer.isRegistered(TOKENS.masker, true)).toBe(false);
  });
});
