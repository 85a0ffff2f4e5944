/**
 * The loss landscape around a level's trained weights θT (Li et al. 2018, "Visualizing the Loss
 * Landscape of Neural Nets"), inside the level's mask, as a branch.
 *
 * Two seeded Gaussian directions are drawn once per replicate (the seed does not depend on the
 * level), then, at each level, zeroed on the pruned weights and filter-normalised to θT's surviving
 * weights. So the dense network and its tickets are drawn with the same random numbers, each at the
 * scale of its own filters, and every point of a ticket's surface is a network with the ticket's
 * mask. Loss and accuracy are measured on a 1D line (first direction) and a 2D grid.
 *
 * Batch normalisation: as in the paper's code, its scale and shift get a zero direction (like the
 * biases, unless `includeBiases`), and its running statistics are θT's, never moved; every point is
 * evaluated in inference mode with those statistics.
 */
import { API_VERSION, type Branch, type BranchContext, type BranchResult, type BranchRunInfo, EvalSet, type Static, type TensorMap, tf, Type } from '@lth/core';
import { directionTensors, landscapeDirection } from './directions.js';
import { computeSurface, type EvalSets, evaluatePoints, interpolate, type Line, linspace, Plane, type Surface } from './surface.js';
import { VERSION } from './version.js';

export const landscapeOptions = Type.Object(
  {
    steps: Type.Integer({ minimum: 3, description: 'Points of the 1D slice on [-range, range] along the first direction' }),
    grid: Type.Integer({ minimum: 0, description: 'Points per side of the 2D slice (grid × grid on [-range, range]²); 0 skips it' }),
    range: Type.Number({ exclusiveMinimum: 0, description: 'Half-width of the slices, in units of the filter-normalised directions' }),
    examples: Type.Integer({ minimum: 1, description: 'Examples evaluated per point: the first N of the training set and of the test set (at most the smaller split)' }),
    includeBiases: Type.Boolean({ description: 'Move biases and batch-norm scale/shift too (each a single filter); default: they keep θT’s values' }),
    plane: Type.Union([Type.Literal('random'), Type.Literal('solutions')], {
      description:
        "'random': two seeded, masked, filter-normalised directions (the same draw at every level); 'solutions': the plane through θT, θ0 ⊙ m (α = 1) and the previous level's θT ⊙ m (β = 1; the random second direction at level 0)",
    }),
  },
  { additionalProperties: false },
);
export type LandscapeOptions = Static<typeof landscapeOptions>;

/** Draw `index` of the landscape's directions: the same for every level of a replicate. */
export const directionSeed = (ctx: Pick<BranchContext, 'deriveSeed'>, index: number) => ctx.deriveSeed('landscape', 'direction', index);

/** The fixed evaluation subsets: the first `examples` of the training set and of the test set. */
export function evalSets(ctx: Pick<BranchContext, 'dataset'>, examples: number): EvalSets {
  return { train: new EvalSet(ctx.dataset, ctx.dataset.train, examples), test: new EvalSet(ctx.dataset, ctx.dataset.test, examples) };
}

/** Numbers that summarise a 1D line and a 2D surface: the loss at θT, its rise away from it. */
export function summarise(line: Line, surface: Surface | undefined): BranchResult {
  const centre = line.alphas.indexOf(0);
  const at = (ys: number[], x: number) => interpolate(line.alphas, ys, x);
  const trainLoss = at(line.trainLoss, 0);
  const rise = (ys: number[], r: number) => (at(ys, r) + at(ys, -r)) / 2 - at(ys, 0);
  const h = centre > 0 ? line.alphas[centre]! - line.alphas[centre - 1]! : NaN;
  const row: BranchResult = {
    trainLoss,
    trainAccuracy: at(line.trainAccuracy, 0),
    testLoss: at(line.testLoss, 0),
    testAccuracy: at(line.testAccuracy, 0),
    trainRiseAt05: rise(line.trainLoss, 0.5),
    trainRiseAt1: rise(line.trainLoss, 1),
    testRiseAt05: rise(line.testLoss, 0.5),
    testRiseAt1: rise(line.testLoss, 1),
    // Second difference at the centre: the curvature of the 1D slice per unit of direction².
    curvature: centre > 0 && centre < line.alphas.length - 1 ? (line.trainLoss[centre - 1]! + line.trainLoss[centre + 1]! - 2 * trainLoss) / (h * h) : null,
  };
  if (surface?.rows.every((r) => r)) {
    const losses = surface.rows.flatMap((r) => r!.trainLoss);
    row.surfaceMeanRise = losses.reduce((a, b) => a + b, 0) / losses.length - trainLoss;
    row.surfaceMaxLoss = Math.max(...losses);
  }
  return row;
}

/**
 * The plane through θT and two other solutions under this level's mask: δ = θ0 ⊙ m − θT (α = 1 is
 * the rewound ticket at k = 0) and η = θT(previous level) ⊙ m − θT (β = 1), over every trainable
 * weight (biases too, so that the corners are exactly those networks); `fallback` as η at level 0.
 */
export function solutionDirections(ctx: Pick<BranchContext, 'model' | 'masks' | 'final' | 'init' | 'previousFinal'>, fallback: TensorMap): [TensorMap, TensorMap] {
  const toward = (other: TensorMap): TensorMap =>
    tf.tidy(() =>
      Object.fromEntries(
        ctx.model.weightNames.map((n) => {
          const m = ctx.masks[n];
          return [n, tf.sub(m ? tf.mul(other[n]!, tf.tensor(m.data, m.shape, 'float32')) : other[n]!, ctx.final[n]!)];
        }),
      ),
    );
  return [toward(ctx.init), ctx.previousFinal ? toward(ctx.previousFinal) : fallback];
}

async function run(ctx: BranchContext, o: LandscapeOptions): Promise<BranchResult> {
  const sets = evalSets(ctx, o.examples);
  const random = [0, 1].map((i) => directionTensors(landscapeDirection(ctx.model, ctx.final, ctx.masks, directionSeed(ctx, i), o.includeBiases)));
  const dirs = o.plane === 'solutions' ? solutionDirections(ctx, random[1]!) : random;
  // The line is the plane's points (α, 0): the same evaluators serve both slices.
  const plane = new Plane(ctx.model, ctx.final, [dirs[0]!, dirs[1]!], sets);
  try {
    const alphas = linspace(o.steps, o.range);
    const line: Line = ctx.files.has('line.json')
      ? ctx.files.readJson<Line>('line.json')
      : { plane: o.plane, alphas, ...evaluatePoints(plane, alphas.map((a) => [a, 0])) };
    ctx.files.writeJson('line.json', line);
    ctx.report(`1D slice of ${o.steps} points done`);
    const surface = o.grid > 0 ? computeSurface(plane, linspace(o.grid, o.range), ctx.files, (r) => ctx.report(`2D row ${r + 1}/${o.grid}`)) : undefined;
    return { ...summarise(line, surface), plane: o.plane, examplesTrain: sets.train.count, examplesTest: sets.test.count };
  } finally {
    plane.dispose();
    for (const d of new Set([...random, ...dirs])) tf.dispose(Object.values(d));
    sets.train.dispose();
    sets.test.dispose();
  }
}

/**
 * Both slices must pass through θT itself (odd point counts, a 2D grid of at least 3 × 3), and the
 * subsets must fit in the splits they are taken from.
 */
export function checkLandscape(run: Pick<BranchRunInfo, 'examples'>, o: LandscapeOptions): string[] {
  const problems: string[] = [];
  for (const split of ['train', 'test'] as const) {
    const count = run.examples?.[split];
    if (count !== undefined && o.examples > count) problems.push(`examples: ${o.examples} is more than the ${count} ${split} examples; use at most ${count}`);
  }
  if (o.steps % 2 === 0) problems.push(`steps: ${o.steps} is even; use an odd count so that the 1D slice passes through θT (e.g. ${o.steps + 1})`);
  if (o.grid !== 0 && (o.grid < 3 || o.grid % 2 === 0)) problems.push(`grid: ${o.grid} must be 0 (no 2D slice) or odd and at least 3, so that the grid passes through θT`);
  return problems;
}

export const landscape: Branch<LandscapeOptions> = {
  meta: {
    name: 'landscape',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Loss and accuracy on filter-normalised 1D and 2D slices around θT, inside the mask (same directions for every level)',
  },
  optionsSchema: landscapeOptions,
  defaults: { steps: 21, grid: 31, range: 1, examples: 10_000, includeBiases: false, plane: 'random' },
  defaultLevels: 'all',
  check: checkLandscape,
  run,
};
