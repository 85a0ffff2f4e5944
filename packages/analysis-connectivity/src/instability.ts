/**
 * Branch `instability`: is a level's subnetwork stable to SGD noise? (Frankle, Dziugaite, Roy &
 * Carbin, ICML 2020.) For each rewind iteration k, two copies of the subnetwork start from θk ⊙ m
 * and train to the end with different data orders; the error along the straight line between
 * them, θ(α) = (1 − α)·θ₁ + α·θ₂, rises above the ends' mean by the error barrier. A subnetwork
 * is stable at k when that barrier is below a threshold: the copies ended in one linearly
 * connected valley, which is when the paper finds tickets that train to full accuracy.
 *
 * Files (the branch's directory, one level): `replay-<k>.*` (θk replayed where the run saved no
 * snapshot), `copy-k<k>-<i>-s<seed>.*` (each trained copy, through core's resumable `train`), and
 * `curve-k<k>.json` (the path, saved after every α, so a killed branch resumes at the next α).
 */
import { API_VERSION, type Branch, type BranchContext, type BranchResult, type BranchRunInfo, deriveSeed, type Masks, randomPruneMasks, type Static, type TensorMap, tf, Type } from '@lth/core';
import { alphas, barrier, pathPoint, pathSides } from './path.js';
import { VERSION } from './version.js';

export const instabilityOptions = Type.Object(
  {
    rewindAt: Type.Array(Type.Integer({ minimum: 0 }), {
      minItems: 1,
      uniqueItems: true,
      description: 'Rewind iterations k: the copies start from θk ⊙ m (the dense run\'s snapshot, replayed from θ0 where the run saved none)',
    }),
    points: Type.Integer({ minimum: 3, description: 'Evenly spaced α in [0, 1] at which the path between the two copies is evaluated (the ends included)' }),
    threshold: Type.Number({ minimum: 0, maximum: 1, description: 'A subnetwork is stable at k when its test error barrier is below this (a fraction: 0.02 = 2 points)' }),
    copies: Type.Array(Type.Integer({ minimum: 0 }), {
      minItems: 2,
      maxItems: 2,
      description: 'The two copies\' data-order seed labels (each copy trains with deriveSeed(seed, "instability", k, label)); equal labels give identical copies',
    }),
    random: Type.Boolean({
      description: 'Also measure random pruning at the same sparsity: the same k and copies with the masks of the random-prune control of the level (each layer keeps the ticket\'s count at random positions); results prefixed "random"',
    }),
  },
  { additionalProperties: false },
);
export type InstabilityOptions = Static<typeof instabilityOptions>;

/** One evaluated point of the path: error = 1 − accuracy. */
export interface PathPoint {
  alpha: number;
  trainLoss: number;
  trainError: number;
  testLoss: number;
  testError: number;
}

/** `curve-k<k>.json`: the path between the two copies trained from θk. */
export interface Curve {
  k: number;
  copies: number[];
  points: PathPoint[];
}

/** Which subnetwork a path is of: the level's ticket, or random pruning at its per-layer sparsity. */
interface Subnetwork {
  /** '' for the ticket, 'random' for random pruning: prefixes its files and result keys. */
  prefix: '' | 'random';
  masks: Masks;
}

const tagged = (prefix: string, name: string) => (prefix ? `${prefix}-${name}` : name);
export const curveFile = (k: number, prefix = '') => tagged(prefix, `curve-k${k}.json`);

/** Every prunable weight kept: the dense network, for replaying θk. */
function denseMasks(masks: Masks): Masks {
  return Object.fromEntries(Object.entries(masks).map(([n, m]) => [n, { shape: [...m.shape], data: new Uint8Array(m.data.length).fill(1) }]));
}

/**
 * θk of the dense run: its snapshot, or a deterministic replay (dense masks, the replicate's data
 * order, θ0 to k), which gives the snapshot the run would have saved.
 */
async function rewindPoint(ctx: BranchContext, k: number): Promise<TensorMap> {
  const saved = ctx.snapshot(k);
  if (saved) return saved;
  ctx.report(`replaying the dense run to iteration ${k} (no snapshot θ${k})`);
  const replay = await ctx.train({ key: `replay-${k}`, weights: ctx.init, masks: denseMasks(ctx.masks), endIteration: k, evaluate: false });
  return replay.final;
}

/** The two copies trained from θk ⊙ m to the end, each with its own data order (resumable). */
async function trainCopies(ctx: BranchContext, k: number, copies: number[], sub: Subnetwork): Promise<[TensorMap, TensorMap]> {
  const start = await rewindPoint(ctx, k);
  try {
    // Keyed by position as well as seed: equal labels train twice (a determinism check, barrier 0).
    // Both at once: in two worker processes where the run has them (--jobs 2).
    const trained = await ctx.trainAll(
      copies.map((label, i) => ({ key: tagged(sub.prefix, `copy-k${k}-${i}-s${label}`), weights: start, masks: sub.masks, startIteration: k, dataSeed: ctx.deriveSeed('instability', k, label), evaluate: false })),
    );
    return [trained[0]!.final, trained[1]!.final];
  } finally {
    tf.dispose(Object.values(start));
  }
}

/** Loss and error of θ(α) on the train subset and the test set, for every α of a path (core's plane evaluation). */
function pathEvaluator(ctx: BranchContext, a: TensorMap, b: TensorMap, masks: Masks): { at(alpha: number): PathPoint; dispose(): void } {
  const sides = pathSides(a, b, masks);
  const planes = (['train', 'test'] as const).map((split) => sides.map((s) => ctx.plane(s.center, [s.direction], split)));
  return {
    at(alpha) {
      const { side, coefficient } = pathPoint(alpha);
      const [train, test] = planes.map((p) => p[side]!.at([coefficient]));
      return { alpha, trainLoss: train!.loss, trainError: 1 - train!.accuracy, testLoss: test!.loss, testError: 1 - test!.accuracy };
    },
    dispose() {
      for (const p of planes.flat()) p.dispose();
      tf.dispose(sides.flatMap((s) => [...Object.values(s.center), ...Object.values(s.direction)]));
    },
  };
}

/** The path at every α for rewind point k, reusing the points already saved (resumes at α granularity). */
async function pathAt(ctx: BranchContext, k: number, o: InstabilityOptions, sub: Subnetwork): Promise<Curve> {
  const file = curveFile(k, sub.prefix);
  const stored = ctx.files.has(file) ? ctx.files.readJson<Curve>(file) : undefined;
  const curve: Curve = { k, copies: o.copies, points: stored && stored.copies.join() === o.copies.join() ? stored.points : [] };
  const todo = alphas(o.points).filter((alpha) => !curve.points.some((p) => p.alpha === alpha));
  if (!todo.length) return curve;
  const [a, b] = await trainCopies(ctx, k, o.copies, sub);
  const path = pathEvaluator(ctx, a, b, sub.masks);
  try {
    for (const alpha of todo) {
      curve.points = [...curve.points, path.at(alpha)].sort((p, q) => p.alpha - q.alpha);
      ctx.files.writeJson(file, curve);
    }
    ctx.report(`k=${k}${sub.prefix ? ` (${sub.prefix} pruning)` : ''}: path evaluated at ${o.points} points`);
    return curve;
  } finally {
    path.dispose();
    tf.dispose([...Object.values(a), ...Object.values(b)]);
  }
}

/** The numbers of one curve, named for the result row (suffix `_k<k>`; `random` paths: `randomErrorBarrier_k<k>`, ...). */
export function curveResult(curve: Curve, threshold: number, prefix = ''): BranchResult {
  const s = `_k${curve.k}`;
  const name = (key: string) => (prefix ? `${prefix}${key[0]!.toUpperCase()}${key.slice(1)}` : key);
  const pick = (key: keyof PathPoint) => curve.points.map((p) => p[key]);
  const errorBarrier = barrier(pick('testError'));
  const ends = [curve.points[0], curve.points[curve.points.length - 1]];
  return {
    [name(`errorBarrier${s}`)]: errorBarrier,
    [name(`lossBarrier${s}`)]: barrier(pick('testLoss')),
    [name(`trainErrorBarrier${s}`)]: barrier(pick('trainError')),
    [name(`trainLossBarrier${s}`)]: barrier(pick('trainLoss')),
    [name(`testError${s}`)]: (ends[0].testError + ends[1].testError) / 2,
    [name(`stable${s}`)]: errorBarrier < threshold,
  };
}

/** Rewind points the run cannot train from: k at or beyond the end of training. */
export function checkInstability(run: BranchRunInfo, o: InstabilityOptions): string[] {
  return o.rewindAt
    .filter((k) => k >= run.totalIterations)
    .map((k) => `instability: rewindAt ${k} is not before the end of training (iteration ${run.totalIterations}): the copies would not train`);
}

export const instability: Branch<InstabilityOptions> = {
  meta: {
    name: 'instability',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Linear mode connectivity: the error barrier between two copies trained from θk ⊙ m with different data orders',
  },
  optionsSchema: instabilityOptions,
  defaults: { rewindAt: [0], points: 31, threshold: 0.02, copies: [0, 1], random: false },
  check: checkInstability,
  async run(ctx, o) {
    let row: BranchResult = { fractionRemaining: ctx.summary.fractionRemaining };
    const subnetworks: Subnetwork[] = [{ prefix: '', masks: ctx.masks }];
    // The seeds of the random-prune control (@lth/controls): these are the masks it trains.
    const controlSeed = ctx.deriveSeed('control', ctx.level);
    if (o.random) subnetworks.push({ prefix: 'random', masks: randomPruneMasks(ctx.masks, (name) => deriveSeed(controlSeed, 'random-prune', name)) });
    for (const sub of subnetworks) {
      for (const k of [...o.rewindAt].sort((a, b) => a - b)) row = { ...row, ...curveResult(await pathAt(ctx, k, o, sub), o.threshold, sub.prefix) };
    }
    return row;
  },
};
