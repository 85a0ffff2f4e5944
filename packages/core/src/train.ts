import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients, and its own register_all_gradients module is not
// loadable by Node's ESM resolver (extensionless imports): the @tensorflow/tfjs bundle registers
// them all on the same (deduplicated) tfjs-core.
import '@tensorflow/tfjs';
import { type Batch, type EvalRecord, type Masks, type ModelSpec, type OptimizerInstance, stateNames, type TensorMap } from './contracts.js';
import type { BatchStream, EvalSet } from './data.js';
import { DivergedError } from './errors.js';

/** A variable holding `t`'s data; `t` is disposed (tf.variable shares the data and would leave it). */
export function ownedVariable(t: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

/** Mean softmax cross-entropy of a batch. */
export function batchLoss(model: ModelSpec, weights: TensorMap, batch: Batch, training: boolean): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(batch.y, model.forward(weights, batch.x, training)) as tf.Scalar;
}

/** Loss and accuracy over a fixed set, in chunks. */
export function evaluate(model: ModelSpec, weights: TensorMap, set: EvalSet): { loss: number; accuracy: number } {
  let lossSum = 0;
  let correct = 0;
  for (const chunk of set.chunks) {
    const [l, c] = scoreLogits(() => model.forward(weights, chunk.x, false), chunk.y);
    lossSum += l;
    correct += c;
  }
  return { loss: lossSum / set.count, accuracy: correct / set.count };
}

/** The summed cross-entropy and the number of correct predictions of one chunk's logits. */
export function scoreLogits(logits: () => tf.Tensor, y: tf.Tensor): [loss: number, correct: number] {
  const [l, c] = tf.tidy(() => {
    const z = logits();
    const losses = tf.losses.softmaxCrossEntropy(y, z, undefined, undefined, tf.Reduction.NONE);
    const hits = tf.equal(tf.argMax(z, 1), tf.argMax(y, 1));
    return [tf.sum(losses), tf.sum(tf.cast(hits, 'float32'))];
  });
  const out: [number, number] = [l.dataSync()[0]!, c.dataSync()[0]!];
  tf.dispose([l, c]);
  return out;
}

/** The name of the first tensor with a NaN or infinite entry, if any. */
export function nonFinite(weights: TensorMap): string | undefined {
  for (const [name, w] of Object.entries(weights)) {
    const ok = tf.tidy(() => tf.all(tf.isFinite(w)).dataSync()[0]);
    if (!ok) return name;
  }
  return undefined;
}

/** Float32 0/1 mask tensors for training, from host masks. */
export function maskTensors(masks: Masks): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, m] of Object.entries(masks)) out[name] = tf.tensor(Float32Array.from(m.data), m.shape, 'float32');
  return out;
}

/** `weights ⊙ masks` as new tensors (weights without a mask are copied). */
export function applyMasks(weights: TensorMap, masks: Record<string, tf.Tensor>): TensorMap {
  const out: TensorMap = {};
  for (const [name, w] of Object.entries(weights)) out[name] = masks[name] ? tf.mul(w, masks[name]) : w.clone();
  return out;
}

export interface TrainLoopOptions {
  model: ModelSpec;
  /** Starting weights (already masked); the loop copies them, the caller keeps ownership. */
  weights: TensorMap;
  masks: Masks;
  optimizer: OptimizerInstance;
  lr(iteration: number): number;
  batches: BatchStream;
  startIteration: number;
  totalIterations: number;
  evalEvery: number;
  evalSets: { train: EvalSet; validation: EvalSet; test: EvalSet };
  /** False for a replay (recomputing a snapshot): no evaluations, no records. Default true. */
  evaluate?: boolean;
  /** Iterations at which to hand out a weight snapshot (after that many steps). */
  captureAt?: number[];
  onSnapshot?(iteration: number, weights: TensorMap): void;
  onEval?(record: EvalRecord): void;
  /** Called every `progressEvery` iterations with the latest batch loss. */
  onProgress?(iteration: number, loss: number): void;
  progressEvery?: number;
  /** Called at every step with the weights and the (unmasked) gradients, before the update. */
  onStep?(weights: TensorMap, gradients: TensorMap, iteration: number): void;
}

/**
 * The masked training loop (our own, not `model.fit`): the learning rate is set per iteration,
 * gradients and weights are masked at every step (inside the optimizer) so pruned weights and
 * their optimizer moments stay exactly zero, and the model is evaluated every `evalEvery`
 * iterations on fixed train/validation/test sets.
 * Returns the final weights (owned by the caller) and the evaluation records.
 */
export function trainLoop(o: TrainLoopOptions): TrainLoopResult {
  const steps = trainSteps(o);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * `trainLoop` that gives the event loop a turn at every progress update (signal handlers, lease
 * timers, servers run meanwhile) and stops there, throwing `signal.reason`, once `signal` is
 * aborted. The weights it owned are disposed either way; what was written stays (a stopped level
 * has no summary, so it is trained again on resume).
 */
export async function trainLoopAsync(o: TrainLoopOptions & { signal?: AbortSignal }): Promise<TrainLoopResult> {
  o.signal?.throwIfAborted();
  const steps = trainSteps(o);
  try {
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
      await new Promise((resolve) => setImmediate(resolve));
      o.signal?.throwIfAborted();
    }
  } finally {
    // Runs the loop's own cleanup when it stopped between chunks (a no-op when it finished or threw).
    steps.return(undefined as never);
  }
}

export interface TrainLoopResult {
  final: TensorMap;
  records: EvalRecord[];
}

/** The loop itself, paused (`yield`) after each progress update; the two drivers above run it. */
/** The evaluation of `weights` at `iteration` on the three sets (a divergence if they are not finite). */
function evalRecord(o: TrainLoopOptions, weights: TensorMap, iteration: number): EvalRecord {
  const bad = nonFinite(weights);
  if (bad) throw new DivergedError(iteration, `weights of ${bad} are not finite`);
  const train = evaluate(o.model, weights, o.evalSets.train);
  const validation = evaluate(o.model, weights, o.evalSets.validation);
  const test = evaluate(o.model, weights, o.evalSets.test);
  return {
    iteration,
    lr: o.lr(Math.min(iteration, o.totalIterations - 1)),
    trainLoss: train.loss,
    trainAccuracy: train.accuracy,
    validationLoss: validation.loss,
    validationAccuracy: validation.accuracy,
    testLoss: test.loss,
    testAccuracy: test.accuracy,
  };
}

function* trainSteps(o: TrainLoopOptions): Generator<void, TrainLoopResult, void> {
  const names = stateNames(o.model);
  const trainable = o.model.weightNames;
  const buffers = o.model.buffers ?? [];
  if (buffers.length && !o.model.forwardTrain) throw new Error('a model with buffers must implement forwardTrain');
  const vars: Record<string, tf.Variable> = {};
  for (const name of names) vars[name] = ownedVariable(o.weights[name].clone(), trainable.includes(name));
  const trainableVars = Object.fromEntries(trainable.map((n) => [n, vars[n]]));
  const byVarName = new Map(trainable.map((n) => [vars[n].name, n]));
  const varList = trainable.map((n) => vars[n]);
  const masks = maskTensors(o.masks);
  const captures = new Set(o.captureAt ?? []);
  const records: EvalRecord[] = [];
  const progressEvery = o.progressEvery ?? 25;
  let lastLoss = Number.NaN;

  const evalNow = (iteration: number) => {
    if (o.evaluate === false) return;
    const record = evalRecord(o, vars, iteration);
    records.push(record);
    o.onEval?.(record);
  };
  const snapshot = (iteration: number) => {
    if (!captures.has(iteration) || !o.onSnapshot) return;
    const copy: TensorMap = {};
    for (const name of names) copy[name] = vars[name].clone();
    o.onSnapshot(iteration, copy);
    tf.dispose(Object.values(copy));
  };

  try {
    for (let it = o.startIteration; it < o.totalIterations; it++) {
      snapshot(it);
      if (it === o.startIteration || it % o.evalEvery === 0) evalNow(it);
      const batch = o.batches.batchAt(it);
      let newBuffers: TensorMap = {};
      const { value, grads } = tf.variableGrads(() => {
        if (!buffers.length) return batchLoss(o.model, vars, batch, true);
        const out = o.model.forwardTrain!(vars, batch.x);
        newBuffers = Object.fromEntries(buffers.map((n) => [n, tf.keep(out.buffers[n])]));
        return tf.losses.softmaxCrossEntropy(batch.y, out.logits) as tf.Scalar;
      }, varList);
      const named: TensorMap = {};
      for (const [varName, g] of Object.entries(grads)) named[byVarName.get(varName)!] = g;
      o.onStep?.(vars, named, it);
      o.optimizer.step(trainableVars, named, o.lr(it), masks);
      for (const [n, t] of Object.entries(newBuffers)) {
        vars[n].assign(t);
        t.dispose();
      }
      // One scalar read a step: the cheapest way to stop at the first non-finite loss.
      lastLoss = value.dataSync()[0];
      tf.dispose([value, batch.x, batch.y, ...Object.values(grads)]);
      if (!Number.isFinite(lastLoss)) throw new DivergedError(it, `loss ${lastLoss}`);
      if ((it + 1) % progressEvery === 0 || it + 1 === o.totalIterations) {
        o.onProgress?.(it + 1, lastLoss);
        yield;
      }
    }
    snapshot(o.totalIterations);
    evalNow(o.totalIterations);
    const final: TensorMap = {};
    for (const name of names) final[name] = vars[name].clone();
    return { final, records };
  } finally {
    tf.dispose(Object.values(vars));
    tf.dispose(Object.values(masks));
  }
}
