import { API_VERSION, DURATION_PATTERN, parseDuration, type Rewinder, type Static, type TensorMap, tf, Type, UserError } from '@lth/core';
import { VERSION } from './version.js';

const AT_FIELD = '/pruning/rewind/at';

const optionsSchema = Type.Object(
  {
    at: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], {
        description:
          'The iteration k whose weights θk every pruned level restarts from: iterations (500 or "500it") or epochs ("2ep"). ' +
          '0 rewinds to the initialisation θ0 (the original lottery-ticket paper); a little later (late rewinding) helps deeper networks.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type IterationRewinderOptions = Static<typeof optionsSchema>;

/** The rewind iteration k, checked against the length of training. */
function rewindIteration(options: IterationRewinderOptions, ctx: { iterationsPerEpoch: number; totalIterations: number }): number {
  const k = parseDuration(options.at ?? 0, ctx.iterationsPerEpoch, AT_FIELD);
  // k = 0 is always valid: it needs no snapshot from the dense run.
  if (k > 0 && k >= ctx.totalIterations) {
    throw new UserError(`${AT_FIELD}: rewinding to iteration ${k} leaves nothing to train; training has ${ctx.totalIterations} iterations`, AT_FIELD);
  }
  return k;
}

function copyWeights(weights: TensorMap): TensorMap {
  return tf.tidy(() => Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, tf.clone(t)])));
}

/**
 * Weight rewinding: every pruned level restarts from θk, the dense run's weights at iteration k,
 * and trains from iteration k to the end with fresh optimizer state (as OpenLTH does).
 */
export const iterationRewinder: Rewinder<IterationRewinderOptions> = {
  meta: {
    name: 'iteration',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Rewind surviving weights to θk, the dense run at iteration k (k = 0: the original lottery ticket)',
  },
  optionsSchema,
  defaults: { at: 0 },
  captureAt(options, ctx) {
    return [rewindIteration(options, ctx)];
  },
  start(ctx, options) {
    const k = rewindIteration(options, ctx);
    const source = k === 0 ? ctx.init : ctx.snapshots.get(k);
    if (!source) {
      const have = [...ctx.snapshots.keys()].sort((a, b) => a - b);
      throw new Error(`rewinder "iteration": no snapshot of iteration ${k} (snapshots: ${have.length ? have.join(', ') : 'none'}); core should have captured it`);
    }
    return { weights: copyWeights(source), iteration: k, optimizerState: undefined };
  },
};
