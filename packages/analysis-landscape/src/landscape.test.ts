import { type Masks, type ModelSpec, type TensorMap, tf } from '@lth/core';
import { checkBranch, fakeModel, randomMasks } from '@lth/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { filterNormalise, gaussianDirection, landscapeDirection } from './directions.js';
import { checkLandscape, directionSeed, evalSets, landscape, summarise } from './landscape.js';
import { computeSurface, interpolate, linspace, Plane, type Surface } from './surface.js';
import { fakeBranchContext, memoryFiles } from './test-utils/context.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const norm = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0));

describe('filter normalisation', () => {
  it('gives each filter of a dense kernel the norm of θT’s surviving weights into that unit, and zeros where pruned', () => {
    // A dense kernel [in 3, out 2]: filter j is column j, entries j, j + 2, j + 4.
    const w = Float32Array.from([3, 1, 0, 2, 4, -2]);
    const mask = { shape: [3, 2], data: Uint8Array.from([1, 1, 0, 1, 1, 0]) };
    const d = filterNormalise({ shape: [3, 2], data: Float32Array.from([1, -2, 5, 1, 1, 3]) }, w, mask);
    expect([...d.data].filter((_, i) => !mask.data[i])).toEqual([0, 0]);
    // Column 0 keeps entries 0 and 4 (θT: 3, 4 → norm 5; direction 1, 1 → scaled by 5/√2).
    expect(d.data[0]).toBeCloseTo(5 / Math.SQRT2, 5);
    expect(d.data[4]).toBeCloseTo(5 / Math.SQRT2, 5);
    // Column 1 keeps entries 1 and 3 (θT: 1, 2 → norm √5; direction -2, 1 → scaled by 1).
    expect(d.data[1]).toBeCloseTo(-2, 5);
    expect(d.data[3]).toBeCloseTo(1, 5);
  });

  it('treats a conv kernel’s output channels as filters; a bias as one filter; an empty filter as zero', () => {
    const shape = [2, 1, 1, 3]; // h, w, in, out: filter c is entries c and c + 3
    const w = Float32Array.from([1, 0, 6, 2, 0, 8]);
    const raw = { shape, data: Float32Array.from([0.5, 1, -1, 0.5, 2, 1]) };
    const d = filterNormalise(raw, w);
    for (const c of [0, 2]) expect(norm([d.data[c]!, d.data[c + 3]!])).toBeCloseTo(norm([w[c]!, w[c + 3]!]), 5);
    expect([d.data[1], d.data[4]]).toEqual([0, 0]); // θT's filter 1 is all zero
    const bias = filterNormalise({ shape: [3], data: Float32Array.from([1, 2, 2]) }, Float32Array.from([0, 3, 4]));
    expect(norm([...bias.data])).toBeCloseTo(5, 5);
  });

  it('is proportional per filter to one seeded draw, identical at every level; masked and normalised at each', () => {
    const model = fakeModel();
    const levels = [0, 1, 2].map((level) => {
      const final = model.init(10 + level);
      const masks: Masks = level === 0 ? {} : randomMasks(model, 0.5 / level, level);
      const ctx = fakeBranchContext({ level, final, masks });
      const d = landscapeDirection(model, final, masks, directionSeed(ctx, 0), false);
      const out = { d, masks, final: Object.fromEntries(Object.entries(final).map(([n, t]) => [n, t.dataSync() as Float32Array])) };
      tf.dispose(Object.values(final));
      return out;
    });
    const raw = gaussianDirection(model.shapes, model.prunable, fakeBranchContext({ level: 5, final: {}, masks: {} }).deriveSeed('landscape', 'direction', 0));
    expect(Object.keys(levels[0]!.d).sort()).toEqual([...model.prunable].sort()); // biases stay put by default
    for (const { d, masks, final } of levels) {
      for (const name of model.prunable) {
        const out = model.shapes[name]!.at(-1)!;
        const kept = (i: number) => !masks[name] || masks[name]!.data[i] === 1;
        for (let f = 0; f < out; f++) {
          const idx = [...d[name]!.data.keys()].filter((i) => i % out === f);
          expect(norm(idx.map((i) => d[name]!.data[i]!))).toBeCloseTo(norm(idx.map((i) => (kept(i) ? final[name]![i]! : 0))), 4);
          const ratios = idx.filter(kept).map((i) => d[name]!.data[i]! / raw[name]!.data[i]!);
          for (const r of ratios) expect(r).toBeCloseTo(ratios[0]!, 4);
          for (const i of idx) if (!kept(i)) expect(d[name]!.data[i]).toBe(0);
        }
      }
    }
  });
});

describe('slices', () => {
  it('linspace includes both ends and the centre; interpolation is linear', () => {
    expect(linspace(5, 1)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(linspace(21, 1)[10]).toBe(0);
    expect(interpolate([-1, 0, 1], [4, 0, 2], 0.5)).toBe(1);
  });

  it('summarises a quadratic slice exactly: rises a², curvature 2, the grid’s mean and max', () => {
    const alphas = [-1, -0.5, 0, 0.5, 1];
    const q = alphas.map((a) => 0.1 + a * a);
    const curves = { trainLoss: q, trainAccuracy: q.map(() => 0.9), testLoss: q.map((v) => 2 * v), testAccuracy: q.map(() => 0.8) };
    const surface = { axis: [-1, 0, 1], rows: [-1, 0, 1].map((b) => ({ ...curves, trainLoss: [-1, 0, 1].map((a) => 0.1 + a * a + b * b) })) };
    const row = summarise({ alphas, ...curves }, surface);
    expect(row.trainLoss).toBeCloseTo(0.1, 12);
    expect(row.testLoss).toBeCloseTo(0.2, 12);
    expect(row.trainRiseAt05).toBeCloseTo(0.25, 12);
    expect(row.trainRiseAt1).toBeCloseTo(1, 12);
    expect(row.testRiseAt1).toBeCloseTo(2, 12);
    expect(row.curvature).toBeCloseTo(2, 12);
    expect(row.surfaceMeanRise).toBeCloseTo(12 / 9, 12); // Σ (a² + b²) over {-1, 0, 1}² = 12
    expect(row.surfaceMaxLoss).toBeCloseTo(2.1, 12);
    expect(summarise({ alphas, ...curves }, { axis: [0], rows: [null] })).not.toHaveProperty('surfaceMeanRise');
  });

  it('reproduces the level’s loss and accuracy at the centre', async () => {
    const model = fakeModel();
    const final = model.init(4);
    const ctx = fakeBranchContext({ level: 1, final, masks: {} });
    const result = await landscape.run(ctx, { steps: 3, grid: 0, range: 1, examples: 1000, includeBiases: false, plane: 'random' });
    expect(result.testLoss).toBe(ctx.evaluate(final, 'test').loss);
    expect(result.testAccuracy).toBe(ctx.evaluate(final, 'test').accuracy);
    expect(result.trainLoss).toBe(ctx.evaluate(final, 'train').loss);
    tf.dispose(Object.values(final));
  });

  it('resumes a 2D grid at the first missing row and gives the same numbers', () => {
    const base = fakeModel();
    let forwards = 0;
    // Without firstLayer, so that every point is a counted forward pass.
    const model: ModelSpec = { ...base, firstLayer: undefined, forward: (w, x, t) => (forwards++, base.forward(w, x, t)) };
    const final = model.init(5);
    const ctx = fakeBranchContext({ level: 0, final, masks: {}, model });
    const sets = evalSets(ctx, 1000);
    const dirs = [0, 1].map((i) => tf.tidy(() => Object.fromEntries(model.prunable.map((n) => [n, tf.randomNormal(model.shapes[n]!, 0, 1, 'float32', i)])) as TensorMap));
    const axis = linspace(4, 1);
    const files = memoryFiles();
    const rows: number[] = [];
    const plane = new Plane(model, final, [dirs[0]!, dirs[1]!], sets);
    const full = computeSurface(plane, axis, files, (r) => rows.push(r));
    expect(rows).toEqual([0, 1, 2, 3]);
    const perPoint = forwards / 16;
    // A run killed after row 1: rows 2 and 3 are missing from the file.
    const killed: Surface = { axis, rows: [full.rows[0]!, full.rows[1]!, null, null] };
    files.writeJson('surface.json', killed);
    forwards = 0;
    rows.length = 0;
    const resumed = computeSurface(plane, axis, files, (r) => rows.push(r));
    expect(rows).toEqual([2, 3]);
    expect(forwards).toBe(8 * perPoint);
    expect(resumed).toEqual(full);
    expect(files.readJson<Surface>('surface.json')).toEqual(full);
    plane.dispose();
    for (const d of dirs) tf.dispose(Object.values(d));
    tf.dispose(Object.values(final));
    sets.train.dispose();
    sets.test.dispose();
  });
});

describe('known answer: softmax regression', () => {
  it('every point of the 2D surface is the float64 cross-entropy of θT + αδ + βη, with pruned weights at 0', async () => {
    const [d, c] = [6, 3];
    const model: ModelSpec = {
      weightNames: ['w', 'b'],
      prunable: ['w'],
      layerOf: { w: 'linear', b: 'linear' },
      outputLayer: 'linear',
      shapes: { w: [d, c], b: [c] },
      init: (seed) => ({ w: tf.randomNormal([d, c], 0, 0.5, 'float32', seed), b: tf.randomNormal([c], 0, 0.5, 'float32', seed + 1) }),
      forward: (weights, x) => tf.add(tf.matMul(x as tf.Tensor2D, weights.w as tf.Tensor2D), weights.b!),
    };
    const masks = randomMasks(model, 0.4, 2);
    const raw = model.init(8);
    const final = { w: tf.mul(raw.w!, tf.tensor(masks.w!.data, [d, c], 'float32')), b: raw.b! };
    const ctx = fakeBranchContext({ level: 3, final, masks, model });
    const o = { steps: 5, grid: 5, range: 1, examples: 40, includeBiases: false, plane: 'random' as const };
    await landscape.run(ctx, o);
    const surface = ctx.files.readJson<Surface>('surface.json');
    const [dir1, dir2] = [0, 1].map((i) => landscapeDirection(model, final, masks, directionSeed(ctx, i), false).w!.data);
    const w = Array.from(final.w.dataSync());
    const b = Array.from(final.b.dataSync());
    const { x, y } = ctx.dataset.train;
    const loss = (alpha: number, beta: number) => {
      const wp = w.map((v, i) => v + alpha * dir1![i]! + beta * dir2![i]!);
      wp.forEach((v, i) => masks.w!.data[i] === 0 && expect(Math.abs(v)).toBe(0));
      let sum = 0;
      for (let n = 0; n < o.examples; n++) {
        const z = Array.from({ length: c }, (_, k) => b[k]! + Array.from({ length: d }, (_, i) => x[n * d + i]! * wp[i * c + k]!).reduce((p, q) => p + q, 0));
        const m = Math.max(...z);
        sum += m + Math.log(z.reduce((p, zk) => p + Math.exp(zk - m), 0)) - z[y[n]!]!;
      }
      return sum / o.examples;
    };
    surface.axis.forEach((beta, r) =>
      surface.axis.forEach((alpha, col) => expect(surface.rows[r]!.trainLoss[col]! / loss(alpha, beta)).toBeCloseTo(1, 4)),
    );
    tf.dispose([...Object.values(raw), final.w]);
  });
});

describe('the plane through solutions', () => {
  it('passes through θ0 ⊙ m at (1, 0) and the previous level’s θT ⊙ m at (0, 1)', async () => {
    const model = fakeModel();
    const masks = randomMasks(model, 0.5, 4);
    const [init, previous, trained] = [1, 2, 3].map((seed) => model.init(seed));
    const masked = (w: TensorMap) =>
      tf.tidy(() => Object.fromEntries(Object.entries(w).map(([n, t]) => [n, masks[n] ? tf.mul(t, tf.tensor(masks[n]!.data, masks[n]!.shape, 'float32')) : t.clone()])) as TensorMap);
    const final = masked(trained!);
    const ctx = fakeBranchContext({ level: 2, final, masks, init, previousFinal: previous });
    const result = await landscape.run(ctx, { steps: 3, grid: 3, range: 1, examples: 1000, includeBiases: false, plane: 'solutions' });
    expect(result.plane).toBe('solutions');
    const surface = ctx.files.readJson<Surface>('surface.json');
    const [m0, mPrev] = [masked(init!), masked(previous!)];
    expect(surface.rows[1]!.trainLoss[2]).toBeCloseTo(ctx.evaluate(m0, 'train').loss, 5);
    expect(surface.rows[2]!.trainLoss[1]).toBeCloseTo(ctx.evaluate(mPrev, 'train').loss, 5);
    expect(surface.rows[1]!.trainLoss[1]).toBe(ctx.evaluate(final, 'train').loss);
    tf.dispose([...[init!, previous!, trained!, final, m0, mPrev].flatMap((m) => Object.values(m))]);
  });
});

describe('options', () => {
  it('rejects slices that miss θT: an even count, a grid of 1 or 2', () => {
    const o = landscape.defaults as Required<typeof landscape.defaults>;
    expect(checkLandscape({}, { ...o, steps: 21, grid: 31 })).toEqual([]);
    expect(checkLandscape({}, { ...o, grid: 0 })).toEqual([]);
    expect(checkLandscape({}, { ...o, steps: 20 })).toEqual([expect.stringMatching(/^steps: 20 is even/)]);
    expect(checkLandscape({}, { ...o, grid: 2 })).toEqual([expect.stringMatching(/^grid: 2 must be 0/)]);
    expect(checkLandscape({}, { ...o, grid: 30 })).toHaveLength(1);
  });
});

describe('conformance', () => {
  it('landscape passes checkBranch', async () => {
    await checkBranch(landscape, { options: { steps: 5, grid: 3, examples: 30 } });
  }, 120_000);
  it('landscape passes checkBranch in the plane through solutions', async () => {
    await checkBranch(landscape, { options: { steps: 3, grid: 3, examples: 30, plane: 'solutions' } });
  }, 120_000);
});
