/**
 * Sharpness of a level's trained weights θT in the mask's subspace, as a branch: the top
 * eigenvalue of the Hessian of the training loss (power iteration) and its trace (Hutchinson),
 * with every Hessian-vector product restricted to the surviving weights, (H (v ⊙ m)) ⊙ m. Biases
 * and batch-norm parameters are outside the subspace unless `includeBiases`; batch norm uses its
 * running statistics, as the landscape does. The loss is the mean cross-entropy over the first
 * `examples` training examples.
 */
import { API_VERSION, type Branch, type BranchContext, type BranchResult, type BranchRunInfo, EvalSet, type Static, Type } from '@lth/core';
import { movedWeights } from './directions.js';
import { hutchinsonTrace, modelHvp, restrict, type Subspace, topEigenvalues } from './hessian.js';
import { VERSION } from './version.js';

export const sharpnessOptions = Type.Object(
  {
    examples: Type.Integer({ minimum: 1, description: 'Training examples the loss is averaged over (the first N of the training set)' }),
    eigenvalues: Type.Integer({ minimum: 1, maximum: 20, description: 'How many of the largest eigenvalues (power iteration with deflation): lambdaMax, lambda2, ...' }),
    iterations: Type.Integer({ minimum: 1, description: 'Most power iterations for each eigenvalue' }),
    tolerance: Type.Number({ exclusiveMinimum: 0, description: 'Stop when the eigenvalue estimate changes by less than this (relative)' }),
    traceSamples: Type.Integer({ minimum: 0, description: 'Rademacher vectors of the Hutchinson trace estimate (0 skips it)' }),
    includeBiases: Type.Boolean({ description: 'Take the Hessian over biases and batch-norm scale/shift too' }),
  },
  { additionalProperties: false },
);
export type SharpnessOptions = Static<typeof sharpnessOptions>;

async function run(ctx: BranchContext, o: SharpnessOptions): Promise<BranchResult> {
  const names = movedWeights(ctx.model, o.includeBiases);
  const subspace: Subspace = { names, shapes: ctx.model.shapes, masks: ctx.masks };
  const set = new EvalSet(ctx.dataset, ctx.dataset.train, o.examples);
  try {
    const { hvp, exact } = modelHvp(ctx.model, ctx.final, names, { chunks: set.chunks, count: set.count });
    const product = restrict(subspace, hvp);
    // Seeds without the level: every level starts from the same vectors.
    const eigen = topEigenvalues(product, subspace, (k) => ctx.deriveSeed('sharpness', 'power', ...(k ? [k] : [])), { ...o, count: o.eigenvalues });
    const top = eigen[0]!;
    ctx.report(`λmax ${top.value.toPrecision(4)} after ${top.iterations} products`);
    const trace = o.traceSamples > 0 ? hutchinsonTrace(product, subspace, (i) => ctx.deriveSeed('sharpness', 'trace', i), o.traceSamples) : undefined;
    return {
      lambdaMax: top.value,
      powerIterations: top.iterations,
      converged: top.converged,
      ...Object.fromEntries(eigen.slice(1).map((e, k) => [`lambda${k + 2}`, e.value])),
      trace: trace?.value ?? null,
      traceStandardError: trace && Number.isFinite(trace.standardError) ? trace.standardError : null,
      hessianVectorProduct: exact ? 'exact' : 'finite-difference',
      examples: set.count,
    };
  } finally {
    set.dispose();
  }
}

/** The loss's subset must fit in the training split. */
export function checkSharpness(run: Pick<BranchRunInfo, 'examples'>, o: SharpnessOptions): string[] {
  const count = run.examples?.train;
  return count !== undefined && o.examples > count ? [`examples: ${o.examples} is more than the ${count} training examples; use at most ${count}`] : [];
}

export const sharpness: Branch<SharpnessOptions> = {
  meta: {
    name: 'sharpness',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Top Hessian eigenvalue and Hessian trace of the training loss at θT, restricted to the surviving weights',
  },
  optionsSchema: sharpnessOptions,
  defaults: { examples: 2000, eigenvalues: 1, iterations: 20, tolerance: 1e-3, traceSamples: 10, includeBiases: false },
  defaultLevels: 'all',
  check: checkSharpness,
  run,
};
