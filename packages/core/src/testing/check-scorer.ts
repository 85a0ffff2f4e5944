import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { Scorer, Scores, ScorerContext, TensorMap } from '../contracts.js';
import { checkPluginShape, pluginLabel } from './check-plugin.js';
import { type FakeScorerContext, fakeModel, fakeScorerContext, randomMasks } from './fake-model.js';

export interface CheckScorerOptions<O> {
  /** Options passed to `score`, over the scorer's defaults. */
  options?: Partial<O>;
  /**
   * Builds a fresh context for each call (called several times; the same arguments must give
   * the same context). Default: `fakeScorerContext`, dense and then with half the weights pruned.
   */
  context?: (variant: { sparse: boolean }) => FakeScorerContext;
}

function assertScoresConform(label: string, scores: Scores, ctx: ScorerContext): void {
  const { prunable, shapes } = ctx.model;
  assert.ok(scores && typeof scores === 'object', `${label}: score() must return an object of scores`);
  assert.deepEqual(Object.keys(scores).sort(), [...prunable].sort(), `${label}: must return one score tensor per prunable weight, no more`);
  for (const name of prunable) {
    const { shape, data } = scores[name];
    assert.deepEqual(shape, shapes[name], `${label}: scores of "${name}" have shape [${shape}], the weight [${shapes[name]}]`);
    assert.ok(data instanceof Float32Array, `${label}: scores of "${name}" must be a Float32Array`);
    assert.equal(data.length, shapes[name].reduce((a, b) => a * b, 1), `${label}: scores of "${name}" have the wrong length`);
    const nan = data.findIndex((v) => Number.isNaN(v));
    assert.equal(nan, -1, `${label}: score of "${name}"[${nan}] is NaN`);
  }
}

function assertAlive(label: string, what: string, map: TensorMap | undefined): void {
  for (const [name, t] of Object.entries(map ?? {})) assert.ok(!t.isDisposed, `${label}: disposed ctx.${what}["${name}"], which the caller owns`);
}

/**
 * Runs a scorer on the fake model and throws (AssertionError) on any violation of the Scorer
 * contract: one Float32 score per weight of every prunable tensor, right shapes, no NaN, the
 * same scores for the same context, no tensor leaked, the context's tensors left alive.
 */
export async function checkScorer<O>(scorer: Scorer<O>, opts: CheckScorerOptions<O> = {}): Promise<void> {
  const label = pluginLabel('scorer', scorer);
  checkPluginShape('scorer', scorer);
  const options = { ...scorer.defaults, ...opts.options } as O;
  const makeContext =
    opts.context ??
    (({ sparse }: { sparse: boolean }) => {
      const model = fakeModel();
      return fakeScorerContext({ model, seed: 3, masks: sparse ? randomMasks(model, 0.5, 11) : undefined, withRewind: true });
    });

  for (const sparse of [false, true]) {
    const runs: Scores[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const ctx = makeContext({ sparse });
      try {
        const before = tf.memory().numTensors;
        const scores = await scorer.score(ctx, options);
        assert.equal(tf.memory().numTensors, before, `${label}: leaked ${tf.memory().numTensors - before} tensor(s) while scoring`);
        assertAlive(label, 'weights', ctx.weights);
        assertAlive(label, 'init', ctx.init);
        assertAlive(label, 'rewind', ctx.rewind);
        assertScoresConform(label, scores, ctx);
        runs.push(scores);
      } finally {
        ctx.dispose();
      }
    }
    for (const name of Object.keys(runs[0])) {
      assert.deepEqual(runs[1][name].data, runs[0][name].data, `${label}: two calls on identical contexts gave different scores for "${name}"`);
    }
  }
}
