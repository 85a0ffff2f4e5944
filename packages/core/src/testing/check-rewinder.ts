import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { LevelStart, ModelSpec, Rewinder, TensorMap } from '../contracts.js';
import { copyMasks } from '../pruning.js';
import { checkPluginShape, pluginLabel } from './check-plugin.js';
import { type FakeRewindContext, fakeModel, fakeRewindContext } from './fake-model.js';

export interface CheckRewinderOptions<O> {
  /** Options passed to the rewinder, over its defaults. */
  options?: Partial<O>;
  /** Default: `fakeModel()`. */
  model?: ModelSpec;
  iterationsPerEpoch?: number;
  totalIterations?: number;
  level?: number;
  seed?: number;
}

function contextTensors(ctx: FakeRewindContext): tf.Tensor[] {
  return [ctx.init, ctx.final, ...ctx.snapshots.values()].flatMap((map) => Object.values(map));
}

function disposeStart(start: LevelStart): void {
  for (const t of Object.values(start.weights)) t.dispose();
  for (const t of Object.values(start.optimizerState ?? {})) t.dispose();
}

function assertOwnedTensors(at: string, what: string, map: TensorMap, ctx: FakeRewindContext): void {
  const borrowed = new Set(contextTensors(ctx));
  for (const [name, t] of Object.entries(map)) {
    assert.ok(t instanceof tf.Tensor, `${at}: ${what}["${name}"] is not a tensor`);
    assert.ok(!t.isDisposed, `${at}: ${what}["${name}"] is already disposed`);
    assert.ok(!borrowed.has(t), `${at}: ${what}["${name}"] is a tensor of the context; return a copy the caller owns`);
  }
}

/**
 * Runs a rewinder on the fake model and throws (AssertionError) on any violation of the Rewinder
 * contract: `captureAt` gives whole iterations within training, the same each time; `start`
 * returns every trainable weight with its shape, as new tensors the caller owns (disposing them
 * leaves the context intact and no tensor behind), a whole start iteration within training, the
 * same result twice, and the context's tensors and masks untouched.
 */
export function checkRewinder<O>(rewinder: Rewinder<O>, opts: CheckRewinderOptions<O> = {}): void {
  const label = pluginLabel('rewinder', rewinder);
  checkPluginShape('rewinder', rewinder);
  const options = { ...rewinder.defaults, ...opts.options } as O;
  const model = opts.model ?? fakeModel();
  const iterationsPerEpoch = opts.iterationsPerEpoch ?? 10;
  const totalIterations = opts.totalIterations ?? 100;

  const capture = rewinder.captureAt(options, { iterationsPerEpoch, totalIterations });
  assert.ok(Array.isArray(capture), `${label}: captureAt must return an array of iterations`);
  for (const k of capture) {
    assert.ok(Number.isInteger(k) && k >= 0 && k <= totalIterations, `${label}: captureAt gave ${k}, not a whole iteration in [0, ${totalIterations}]`);
  }
  assert.deepEqual(rewinder.captureAt(options, { iterationsPerEpoch, totalIterations }), capture, `${label}: captureAt is not repeatable`);

  const ctx = fakeRewindContext({ model, seed: opts.seed ?? 5, level: opts.level ?? 2, snapshotsAt: capture, iterationsPerEpoch, totalIterations });
  try {
    const masksBefore = copyMasks(ctx.masks);
    const baseline = tf.memory().numTensors;
    const starts = [rewinder.start(ctx, options), rewinder.start(ctx, options)];
    starts.forEach((start, i) => {
      const at = `${label}, start() call ${i + 1}`;
      assert.deepEqual(Object.keys(start.weights).sort(), [...model.weightNames].sort(), `${at}: must return every trainable weight, no more`);
      for (const name of model.weightNames) {
        assert.deepEqual(start.weights[name].shape, model.shapes[name], `${at}: weight "${name}" has shape [${start.weights[name].shape}], expected [${model.shapes[name]}]`);
        assert.equal(start.weights[name].dtype, 'float32', `${at}: weight "${name}" must be float32`);
      }
      assertOwnedTensors(at, 'weights', start.weights, ctx);
      if (start.optimizerState !== undefined) assertOwnedTensors(at, 'optimizerState', start.optimizerState, ctx);
      assert.ok(
        Number.isInteger(start.iteration) && start.iteration >= 0 && start.iteration <= totalIterations,
        `${at}: iteration ${start.iteration} is not a whole iteration in [0, ${totalIterations}]`,
      );
    });
    assert.equal(starts[1].iteration, starts[0].iteration, `${label}: two start() calls gave different iterations`);
    for (const name of model.weightNames) {
      assert.deepEqual(starts[1].weights[name].dataSync(), starts[0].weights[name].dataSync(), `${label}: two start() calls gave different "${name}"`);
    }
    assert.deepEqual(ctx.masks, masksBefore, `${label}: start() modified ctx.masks`);

    // The caller owns what start() returned: disposing it must leave the context usable and
    // bring the tensor count back to where it was.
    for (const start of starts) disposeStart(start);
    for (const t of contextTensors(ctx)) {
      assert.ok(!t.isDisposed, `${label}: a context tensor was disposed with the returned weights`);
      t.dataSync();
    }
    const leaked = tf.memory().numTensors - baseline;
    assert.equal(leaked, 0, `${label}: ${leaked} tensor(s) left behind after disposing what start() returned`);
  } finally {
    ctx.dispose();
  }
}
