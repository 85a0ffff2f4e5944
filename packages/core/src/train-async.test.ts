import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adam } from './builtins/optimizers.js';
import type { EvalRecord, TensorMap } from './contracts.js';
import { BatchStream, EvalSet } from './data.js';
import { denseMasks } from './pruning.js';
import { fakeDataset } from './testing/check-branch.js';
import { fakeModel } from './testing/fake-model.js';
import { trainLoop, trainLoopAsync, type TrainLoopOptions } from './train.js';

describe('trainLoopAsync: the same loop, yielding at each progress update and stopping when aborted', () => {
  const dataset = fakeDataset(2);
  const model = fakeModel();
  let init: TensorMap;
  let evalSets: TrainLoopOptions['evalSets'];
  beforeAll(async () => {
    await tf.setBackend('cpu');
    init = model.init(4);
    evalSets = { train: new EvalSet(dataset, dataset.train), validation: new EvalSet(dataset, dataset.validation), test: new EvalSet(dataset, dataset.test) };
  });
  afterAll(() => {
    tf.dispose(Object.values(init));
    for (const s of Object.values(evalSets)) s.dispose();
  });

  const options = (progress: number[], records: EvalRecord[]): TrainLoopOptions => ({
    model,
    weights: init,
    masks: denseMasks(model),
    optimizer: adam.create({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }),
    lr: () => 0.01,
    batches: new BatchStream(dataset, dataset.train, 10, 3),
    startIteration: 0,
    totalIterations: 100,
    evalEvery: 50,
    evalSets,
    onProgress: (it) => progress.push(it),
    onEval: (r) => records.push(r),
  });

  it('gives the same weights and records as trainLoop, and lets the event loop run between chunks', async () => {
    const sync = trainLoop(options([], []));
    const progress: number[] = [];
    const records: EvalRecord[] = [];
    // An immediate queued before the loop starts runs at its first yield, not after the loop.
    let ranAt: number | undefined;
    setImmediate(() => (ranAt = progress.at(-1)));
    const async = await trainLoopAsync(options(progress, records));
    expect(ranAt).toBe(25);
    expect(progress).toEqual([25, 50, 75, 100]);
    expect(records.map((r) => r.iteration)).toEqual(sync.records.map((r) => r.iteration));
    for (const name of Object.keys(sync.final)) expect(Array.from(async.final[name].dataSync())).toEqual(Array.from(sync.final[name].dataSync()));
    tf.dispose([...Object.values(sync.final), ...Object.values(async.final)]);
  });

  it('stops at the first progress update after the signal is aborted, with its reason, leaking no tensor', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const progress: number[] = [];
    const o = { ...options(progress, []), signal: controller.signal };
    const reason = new Error('interrupted');
    o.onProgress = (it) => {
      progress.push(it);
      if (it === 50) setImmediate(() => controller.abort(reason));
    };
    await expect(trainLoopAsync(o)).rejects.toBe(reason);
    expect(progress).toEqual([25, 50]);
    o.optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already'));
    const progress: number[] = [];
    await expect(trainLoopAsync({ ...options(progress, []), signal: controller.signal })).rejects.toThrow('already');
    expect(progress).toEqual([]);
  });
});
