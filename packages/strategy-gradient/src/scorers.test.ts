import { readFileSync } from 'node:fs';
import {
  type Batch,
  countKept,
  countToPrune,
  type DependencyContainer,
  type Masks,
  type ModelSpec,
  pruneLowest,
  rootContainer,
  type Scorer,
  type ScorerContext,
  type Scores,
  type TensorMap,
  tf,
  TOKENS,
  UserError,
} from '@lth/core';
import { checkScorer, fakeModel, fakeScorerContext, randomMasks } from '@lth/core/testing';
import { describe, expect, it } from 'vitest';
import {
  graspScorer,
  hessianGradientProduct,
  magnitudeIncreaseScorer,
  movementScorer,
  randomScorer,
  register,
  SCORERS,
  snipScorer,
  synflowScorer,
  taylorScorer,
  VERSION,
} from './index.js';
import { linearGradient, linearHessianVector, type Mat, maxDiff, type Net64, netGradients, netHessianGradient } from './test-utils/reference.js';

// A 3 → 2 → 2 net small enough to check by hand; every hidden unit is active on the batch below.
const NET: Net64 = {
  w1: [
    [0.5, -0.25],
    [-1, 0.75],
    [0.25, 0.5],
  ],
  b1: [0.1, 0.2],
  w2: [
    [1.5, -0.5],
    [-0.75, 1],
  ],
  b2: [0.05, -0.05],
};
const X: Mat = [
  [1, -0.5, 2],
  [0.5, -1, 1],
  [2, -0.25, 0.5],
];
const Y: Mat = [
  [1, 0],
  [0, 1],
  [1, 0],
];

const netWeights = (net: Net64): TensorMap => ({
  'dense1/kernel': tf.tensor(net.w1.flat(), [3, 2]),
  'dense1/bias': tf.tensor(net.b1),
  'dense2/kernel': tf.tensor(net.w2.flat(), [2, 2]),
  'dense2/bias': tf.tensor(net.b2),
});

/** A scorer context on the tiny net: `sampleBatch` returns X, Y; `init` is NET scaled by 1/2. */
function tinyContext(extra: Partial<ScorerContext> = {}) {
  const model = fakeModel({ inputSize: 3, hidden: 2, classes: 2 });
  const base = fakeScorerContext({ model, inputSize: 3, classes: 2 });
  const weights = netWeights(NET);
  const init = netWeights({ w1: NET.w1.map((r) => r.map((v) => v / 2)), b1: NET.b1, w2: NET.w2.map((r) => r.map((v) => -v / 2)), b2: NET.b2 });
  const ctx: ScorerContext & { dispose(): void } = {
    ...base,
    weights,
    init,
    sampleBatch: (): Batch => ({ x: tf.tensor(X.flat(), [3, 3]), y: tf.tensor(Y.flat(), [3, 2]) }),
    ...extra,
    dispose() {
      base.dispose();
      tf.dispose([...Object.values(weights), ...Object.values(init)]);
    },
  };
  return ctx;
}

const close = (actual: Float32Array, expected: number[], tol = 1e-5) => {
  const { diff, scale } = maxDiff(actual, expected);
  expect(diff).toBeLessThanOrEqual(tol * Math.max(1, scale));
};

async function scoreOf<O>(scorer: Scorer<O>, ctx: ScorerContext, options: Partial<O> = {}): Promise<Scores> {
  const before = tf.memory().numTensors;
  const s = await scorer.score(ctx, { ...scorer.defaults, ...options } as O);
  expect(tf.memory().numTensors).toBe(before);
  return s;
}

/** A global masker for tests (plugins never depend on each other): core's exact top-k over every weight. */
const globalMask = (model: ModelSpec) => (scores: Scores, masks: Masks, rate: number) => {
  const kept = model.prunable.reduce((a, n) => a + countKept(masks[n]), 0);
  return pruneLowest(scores, masks, model.prunable, countToPrune(rate, kept));
};

describe('snip', () => {
  it('is |g ⊙ θ| with g from a float64 reference of the net', async () => {
    const ctx = tinyContext();
    const g = netGradients(NET, X, Y);
    const s = await scoreOf(snipScorer, ctx);
    close(s['dense1/kernel'].data, NET.w1.flat().map((w, i) => Math.abs(w * g.w1.flat()[i])));
    close(s['dense2/kernel'].data, NET.w2.flat().map((w, i) => Math.abs(w * g.w2.flat()[i])));
    ctx.dispose();
  });

  it('averages the gradient over `batches` batches before |g ⊙ θ|', async () => {
    // Batches alternate between (X, Y) and (X, 1 − Y): the mean gradient is that of the two.
    let drawn = 0;
    const ctx = tinyContext({
      sampleBatch: () => ({ x: tf.tensor(X.flat(), [3, 3]), y: tf.tensor((drawn++ % 2 ? Y.map((r) => r.map((v) => 1 - v)) : Y).flat(), [3, 2]) }),
    });
    const a = netGradients(NET, X, Y);
    const b = netGradients(NET, X, Y.map((r) => r.map((v) => 1 - v)));
    const s = await scoreOf(snipScorer, ctx, { batches: 2 });
    close(s['dense2/kernel'].data, NET.w2.flat().map((w, i) => Math.abs((w * (a.w2.flat()[i] + b.w2.flat()[i])) / 2)));
    ctx.dispose();
  });
});

describe('grasp', () => {
  it('Hg is the exact Hessian-vector product of a linear-softmax model (double backward)', () => {
    const w: Mat = [
      [0.3, -0.2, 0.1],
      [-0.4, 0.5, 0.2],
      [0.1, 0.1, -0.3],
      [0.25, -0.1, 0.05],
    ];
    const x: Mat = [
      [1, 0.5, -1, 2],
      [-0.5, 1, 0.25, 0],
      [0.3, -0.7, 1.5, -1],
      [2, 1, 0, 0.5],
    ];
    const y: Mat = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [0, 1, 0],
    ];
    const model: ModelSpec = {
      weightNames: ['w'],
      prunable: ['w'],
      layerOf: { w: 'linear' },
      outputLayer: 'linear',
      shapes: { w: [4, 3] },
      init: () => ({ w: tf.zeros([4, 3]) }),
      forward: (ws, input) => tf.matMul(input as tf.Tensor2D, ws.w as tf.Tensor2D),
    };
    const batch = () => ({ x: tf.tensor(x.flat(), [4, 4]), y: tf.tensor(y.flat(), [4, 3]) });
    const ctx = {
      model,
      weights: { w: tf.tensor(w.flat(), [4, 3]) },
      init: {},
      masks: { w: { shape: [4, 3], data: new Uint8Array(12).fill(1) } },
      level: 0,
      seed: 0,
      sampleBatch: batch,
      gradients: (ws: TensorMap, b: Batch) => {
        const [g] = tf.grads((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(b.y, model.forward({ w: v }, b.x, true)))([ws.w]);
        return { w: g };
      },
    } satisfies ScorerContext;
    const g = linearGradient(w, x, y);
    const hg = linearHessianVector(w, x, g);
    const b = batch();
    const out = hessianGradientProduct(ctx, ctx.weights, [b], 1e-3);
    close(out.g.w.dataSync() as Float32Array, g.flat(), 1e-6);
    // Exact, not a float32 finite difference (which agreed to ~1e-3 of the largest entry).
    expect(out.exact).toBe(true);
    const { diff, scale } = maxDiff(out.hg.w.dataSync() as Float32Array, hg.flat());
    expect(scale).toBeGreaterThan(1e-3);
    expect(diff / scale).toBeLessThan(1e-5);
    const s = graspScorer.score(ctx, { batches: 1, epsilon: 1e-3 }) as Scores;
    close(s.w.data, w.flat().map((v, i) => v * hg.flat()[i]), 1e-5);
    tf.dispose([b.x, b.y, ctx.weights.w, ...Object.values(out.g), ...Object.values(out.hg)]);
  });

  it('is θ ⊙ Hg (signed; the lowest pruned) on the two-layer net, against a float64 reference', async () => {
    const ctx = tinyContext();
    const { hg } = netHessianGradient(NET, X, Y);
    const s = await scoreOf(graspScorer, ctx);
    const expected1 = NET.w1.flat().map((w, i) => w * hg.w1.flat()[i]);
    const expected2 = NET.w2.flat().map((w, i) => w * hg.w2.flat()[i]);
    const { diff, scale } = maxDiff([...s['dense1/kernel'].data, ...s['dense2/kernel'].data], [...expected1, ...expected2]);
    expect(diff / scale).toBeLessThan(1e-4);
    // Signed scores: some negative (those go first), so it is not |θ ⊙ Hg|.
    expect([...expected1, ...expected2].some((v) => v < 0)).toBe(true);
    ctx.dispose();
  });
});

describe('synflow', () => {
  it('one round is |θ ⊙ ∂R/∂θ| of the |θ| net on an all-ones input, by hand', async () => {
    const ctx = tinyContext();
    const abs = (m: Mat) => m.map((r) => r.map(Math.abs));
    const w1 = abs(NET.w1);
    const w2 = abs(NET.w2);
    // h_j = Σ_i |w1_ij| + |b1_j|; R = Σ_c Σ_j h_j |w2_jc| + Σ_c |b2_c|.
    const h = [0, 1].map((j) => w1.reduce((a, r) => a + r[j], 0) + Math.abs(NET.b1[j]));
    const out = [0, 1].map((j) => w2[j][0] + w2[j][1]); // ∂R/∂h_j
    const s = await scoreOf(synflowScorer, ctx); // no ctx.rate: a single round
    close(s['dense1/kernel'].data, w1.flatMap((r) => r.map((v, j) => v * out[j])));
    close(s['dense2/kernel'].data, w2.flatMap((r, j) => r.map((v) => v * h[j])));
    ctx.dispose();
  });

  it('prunes over an exponential schedule of rounds; core’s final masking reproduces the last round', async () => {
    const model = fakeModel({ inputSize: 12, hidden: 10, classes: 4 });
    const mask = globalMask(model);
    const start = randomMasks(model, 0.3, 5);
    const base = fakeScorerContext({ model, masks: start, seed: 7 });
    const rounds: Masks[] = [];
    const ctx: ScorerContext = {
      ...base,
      rate: 0.8,
      mask: (s, m, r) => {
        const next = mask(s, m, r);
        rounds.push(next);
        return next;
      },
    };
    const scores = await scoreOf(synflowScorer, ctx, { rounds: 5 });
    const final = mask(scores, start, 0.8);
    expect(rounds).toHaveLength(4);
    const kept = (m: Masks) => model.prunable.reduce((a, n) => a + countKept(m[n]), 0);
    const remaining = kept(start);
    // Round j keeps round((1 − 0.8)^(j/5) · remaining) of the level's weights, nested.
    rounds.forEach((m, j) => expect(kept(m)).toBe(remaining - countToPrune(1 - 0.2 ** ((j + 1) / 5), remaining)));
    expect(kept(final)).toBe(remaining - countToPrune(0.8, remaining));
    for (const [a, b] of [...rounds.slice(1).map((m, j) => [rounds[j], m]), [rounds[3], final]]) {
      for (const n of model.prunable) for (let i = 0; i < a[n].data.length; i++) expect(b[n].data[i] <= a[n].data[i]).toBe(true);
    }
    // The final mask equals one more explicit round on the survivors of round 4.
    const survivors = Object.fromEntries(model.prunable.map((n) => [n, { ...scores[n], data: scores[n].data.map((v, i) => (rounds[3][n].data[i] ? v : -1)) }]));
    expect(mask(survivors, start, 0.8)).toEqual(final);
    base.dispose();
  });
});

describe('movement and magnitude-increase', () => {
  it('score |θT − θ0| and |θT| − |θ0| by hand', async () => {
    const ctx = tinyContext();
    // init = NET with w1 halved and w2 negated and halved.
    const m = await scoreOf(movementScorer, ctx);
    close(m['dense1/kernel'].data, NET.w1.flat().map((v) => Math.abs(v / 2)));
    close(m['dense2/kernel'].data, NET.w2.flat().map((v) => Math.abs(1.5 * v)));
    const inc = await scoreOf(magnitudeIncreaseScorer, ctx);
    close(inc['dense1/kernel'].data, NET.w1.flat().map((v) => Math.abs(v) / 2));
    close(inc['dense2/kernel'].data, NET.w2.flat().map((v) => Math.abs(v) / 2));
    ctx.dispose();
  });

  it('can measure from θk, and refuse to prune at initialisation', async () => {
    const ctx = tinyContext();
    const rewind = netWeights({ ...NET, w1: NET.w1.map((r) => r.map((v) => v + 1)) });
    const s = await scoreOf(movementScorer, { ...ctx, rewind }, { from: 'rewind' });
    close(s['dense1/kernel'].data, new Array(6).fill(1));
    expect(() => movementScorer.score({ ...ctx, rewind: undefined }, { from: 'rewind' })).toThrow(UserError);
    expect(() => magnitudeIncreaseScorer.score({ ...ctx, level: 0 }, { from: 'init' })).toThrow(/cannot prune at initialisation/);
    tf.dispose(Object.values(rewind));
    ctx.dispose();
  });
});

describe('taylor', () => {
  it('accumulates Σ_t |θ_t ⊙ g_t| over training steps and scores with it', async () => {
    const model = fakeModel({ inputSize: 3, hidden: 2, classes: 2 });
    const acc = taylorScorer.accumulator!;
    let state = acc.init(model, { batches: 1 });
    const expected1 = new Array(6).fill(0);
    for (let t = 0; t < 3; t++) {
      const net = { ...NET, w1: NET.w1.map((r) => r.map((v) => v * (1 + t))) };
      const g = netGradients(net, X, Y);
      net.w1.flat().forEach((v, i) => (expected1[i] += Math.abs(v * g.w1.flat()[i])));
      const weights = netWeights(net);
      const grads = netWeights(g);
      const next = tf.tidy(() => acc.step(state, { weights, gradients: grads, iteration: t }, { batches: 1 }));
      tf.dispose([...Object.values(state), ...Object.values(weights), ...Object.values(grads)]);
      state = next;
    }
    const ctx = tinyContext({ accumulated: state });
    const s = await scoreOf(taylorScorer, ctx);
    close(s['dense1/kernel'].data, expected1);
    tf.dispose(Object.values(state));
    ctx.dispose();
  });

  it('without training to accumulate over (at init), sums |θ ⊙ g| over sampled batches', async () => {
    const ctx = tinyContext({ level: 0 });
    const g = netGradients(NET, X, Y);
    const s = await scoreOf(taylorScorer, ctx, { batches: 2 });
    close(s['dense2/kernel'].data, NET.w2.flat().map((w, i) => 2 * Math.abs(w * g.w2.flat()[i])));
    ctx.dispose();
  });
});

describe('random', () => {
  it('gives seeded uniform scores in [0, 1), different per seed and per weight', async () => {
    const ctx = fakeScorerContext({ seed: 4 });
    const a = await scoreOf(randomScorer, ctx);
    const b = await scoreOf(randomScorer, { ...ctx, seed: 5 });
    const all = [...a['dense1/kernel'].data, ...a['dense2/kernel'].data];
    expect(all.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    expect(a).toEqual(await scoreOf(randomScorer, ctx));
    expect(b['dense1/kernel'].data).not.toEqual(a['dense1/kernel'].data);
    ctx.dispose();
  });
});

describe('conformance', () => {
  for (const scorer of SCORERS) {
    it(`${scorer.meta.name} passes core’s scorer suite`, () => checkScorer(scorer as Scorer, { options: scorer === synflowScorer ? { rounds: 3 } : {} }));
  }
  it('synflow passes it with rounds (a context with rate and masker)', () =>
    checkScorer(synflowScorer, {
      options: { rounds: 4 },
      context: ({ sparse }) => {
        const model = fakeModel();
        const ctx = fakeScorerContext({ model, seed: 3, masks: sparse ? randomMasks(model, 0.5, 11) : undefined });
        return Object.assign(ctx, { rate: 0.9, mask: globalMask(model) });
      },
    }));
  it('taylor passes it scoring an accumulated statistic', () =>
    checkScorer(taylorScorer, {
      context: () => {
        const ctx = fakeScorerContext({ seed: 3 });
        const accumulated = tf.tidy(() => Object.fromEntries(ctx.model.prunable.map((n) => [n, tf.abs(ctx.weights[n])])));
        return Object.assign(ctx, {
          accumulated,
          dispose: ((d) => () => {
            d();
            tf.dispose(Object.values(accumulated));
          })(ctx.dispose),
        });
      },
    }));
});

describe('package', () => {
  it('VERSION matches package.json, and every plugin carries it', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    for (const s of SCORERS) expect(s.meta.version).toBe(pkg.version);
    expect(pkg.lth.plugin).toBe('./dist/index.js');
  });

  it('register() adds the seven scorers to the container it is given, and nothing to others', () => {
    const child: DependencyContainer = rootContainer.createChildContainer();
    register(child);
    expect(child.resolveAll<Scorer>(TOKENS.scorer).map((s) => s.meta.name)).toEqual([
      'snip',
      'grasp',
      'synflow',
      'movement',
      'magnitude-increase',
      'taylor',
      'random',
    ]);
    expect(rootContainer.isRegistered(TOKENS.scorer, true)).toBe(false);
  });
});
