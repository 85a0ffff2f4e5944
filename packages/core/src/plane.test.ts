import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { FirstLayer, ModelSpec, TensorMap } from './contracts.js';
import { EvalSet } from './data.js';
import { displace, PlaneEvaluator } from './plane.js';
import { fakeDataset } from './testing/check-branch.js';
import { fakeModel } from './testing/fake-model.js';
import { evaluate } from './train.js';

/** fakeModel (split after dense1's product), counting the products its firstLayer takes. */
function splitModel(): { model: ModelSpec; applied: () => number } {
  const base = fakeModel();
  let applied = 0;
  const first = base.firstLayer!;
  const firstLayer: FirstLayer = { ...first, apply: (kernel, x) => (applied++, first.apply(kernel, x)) };
  return { model: { ...base, firstLayer }, applied: () => applied };
}

describe('PlaneEvaluator', () => {
  const dataset = fakeDataset(3);
  // Chunks of 16: several chunks, the last one short.
  const set = new EvalSet(dataset, dataset.train, 120, 16);
  const { model, applied } = splitModel();
  const center = model.init(2);
  const random = (seed: number, names: string[]): TensorMap => tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.randomNormal(model.shapes[n]!, 0, 0.5, 'float32', seed)])));
  // The first direction moves every weight, the second the kernels only.
  const directions = [random(1, model.weightNames), random(2, model.prunable)];
  afterAll(() => {
    tf.dispose([...Object.values(center), ...directions.flatMap((d) => Object.values(d))]);
    set.dispose();
  });

  it('gives exactly what evaluate gives at θ, and what it gives at θ + Σ cᵢ dᵢ up to rounding', () => {
    const plane = new PlaneEvaluator(model, center, directions, set);
    expect(plane.shortcut).toBe(true);
    expect(plane.at([0, 0])).toEqual(evaluate(model, center, set));
    for (const c of [[0.5, 0], [-1, 0.25], [0.3, -0.7]]) {
      const w = displace(center, directions, c);
      const expected = evaluate(model, w, set);
      const got = plane.at(c);
      expect(got.loss).toBeCloseTo(expected.loss, 5);
      expect(got.accuracy).toBe(expected.accuracy);
      tf.dispose(Object.values(w));
    }
    plane.dispose();
  });

  it("takes the first layer's products once per chunk and direction, not once per point", () => {
    const before = applied();
    const plane = new PlaneEvaluator(model, center, directions, set);
    for (let i = 0; i < 5; i++) plane.at([i / 5, -i / 5]);
    // 8 chunks × (θ and two directions).
    expect(applied() - before).toBe(8 * 3);
    plane.dispose();
  });

  it('evaluates a model without a firstLayer through its forward pass, exactly as evaluate', () => {
    const plain: ModelSpec = { ...model, firstLayer: undefined };
    const plane = new PlaneEvaluator(plain, center, directions, set);
    expect(plane.shortcut).toBe(false);
    const w = displace(center, directions, [0.4, -0.2]);
    expect(plane.at([0.4, -0.2])).toEqual(evaluate(plain, w, set));
    tf.dispose(Object.values(w));
    plane.dispose();
  });

  it('keeps no tensors per point', () => {
    const plane = new PlaneEvaluator(model, center, directions, set);
    plane.at([0.1, 0.1]);
    const held = tf.memory().numTensors;
    plane.at([0.2, -0.3]);
    expect(tf.memory().numTensors).toBe(held);
    plane.dispose();
  });

  it('refuses a coefficient list of the wrong length', () => {
    const plane = new PlaneEvaluator(model, center, directions, set);
    expect(() => plane.at([1])).toThrow(/1 coefficients for 2 directions/);
    plane.dispose();
  });
});
