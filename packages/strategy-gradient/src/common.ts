import { type Batch, type ScorerContext, type Scores, type TensorMap, tf, Type, UserError } from '@lth/core';

/** The `batches` option of the data-driven scorers. */
export const batchesOption = (what: string) =>
  Type.Integer({ minimum: 1, description: `Training batches (of the configured batch size) ${what}.` });

/** Scores on the host from one tensor per prunable weight (the tensors are left to the caller). */
export function hostScores(ctx: Pick<ScorerContext, 'model'>, tensors: TensorMap, scorer: string): Scores {
  const scores: Scores = {};
  for (const name of ctx.model.prunable) {
    const t = tensors[name];
    if (!t) throw new Error(`scorer "${scorer}": no score tensor for "${name}"`);
    scores[name] = { shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
  }
  return scores;
}

/** The weight `name` of a map, or an error naming the scorer and what is missing. */
export function weightOf(map: TensorMap | undefined, name: string, scorer: string, what = 'weights'): tf.Tensor {
  const t = map?.[name];
  if (!t) throw new Error(`scorer "${scorer}": the context's ${what} have no "${name}"`);
  return t;
}

/** Runs `fn` on `count` fresh batches from the context's sampler, disposing them afterwards. */
export function withBatches<T>(ctx: ScorerContext, count: number, fn: (batches: Batch[]) => T): T {
  const batches: Batch[] = [];
  try {
    for (let i = 0; i < count; i++) batches.push(ctx.sampleBatch());
    return fn(batches);
  } finally {
    for (const b of batches) tf.dispose([b.x, b.y]);
  }
}

/** Mean over `batches` of ∂loss/∂w at `weights`, for every trainable weight (tensors the caller owns). */
export function meanGradients(ctx: ScorerContext, weights: TensorMap, batches: Batch[]): TensorMap {
  let sum: TensorMap | undefined;
  for (const batch of batches) {
    const g = ctx.gradients(weights, batch);
    if (!sum) sum = g;
    else {
      const next = tf.tidy(() => Object.fromEntries(Object.keys(sum!).map((n) => [n, tf.add(sum![n], g[n])])));
      tf.dispose([...Object.values(sum), ...Object.values(g)]);
      sum = next;
    }
  }
  if (!sum) throw new Error('meanGradients: no batches');
  const mean = tf.tidy(() => Object.fromEntries(Object.entries(sum!).map(([n, t]) => [n, tf.div(t, batches.length)])));
  tf.dispose(Object.values(sum));
  return mean;
}

/** Throws a UserError for scorers that measure training when asked to prune before any (level 0). */
export function requireTrained(ctx: ScorerContext, scorer: string): void {
  if (ctx.level === 0) {
    throw new UserError(
      `/pruning/scorer/use: scorer "${scorer}" measures what training did to the weights, so it cannot prune at ` +
        'initialisation (atInit): use snip, grasp, synflow, random or magnitude there',
      '/pruning/scorer/use',
    );
  }
}
