import { API_VERSION, DURATION_PATTERN, parseDuration, type Rewinder, type Static, type TensorMap, tf, Type, UserError } from '@lth/core';
import { VERSION } from './version.js';

const AT_FIELD = '/pruning/rewind/at';

const optionsSchema = Type.Object(
  {
    at: Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], {
      description:
        'The iteration k from which the learning-rate schedule is replayed: iterations (500 or "500it") or epochs ("2ep"). ' +
        'Each pruned level keeps the trained weights θT and trains from iteration k to the end (Renda et al. 2020 rewind k to 0 or to where weight rewinding would).',
    }),
  },
  { additionalProperties: false },
);
export type LrRewinderOptions = Static<typeof optionsSchema>;

/** Copies of every tensor of `weights`, owned by the caller. */
export function copyWeights(weights: TensorMap): TensorMap {
  return tf.tidy(() => Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, tf.clone(t)])));
}

function replayFrom(options: LrRewinderOptions, ctx: { iterationsPerEpoch: number; totalIterations: number }): number {
  const k = parseDuration(options.at, ctx.iterationsPerEpoch, AT_FIELD);
  if (k >= ctx.totalIterations) {
    throw new UserError(`${AT_FIELD}: replaying the schedule from iteration ${k} leaves nothing to train; training has ${ctx.totalIterations} iterations`, AT_FIELD);
  }
  return k;
}

/**
 * Learning-rate rewinding (Renda, Frankle & Carbin 2020): the weights are not rewound; each pruned
 * level starts from the previous level's trained weights θT (masked by core) and replays the
 * learning-rate schedule from iteration k to the end, with fresh optimizer state. Needs no
 * snapshots of the dense run.
 */
export const lrRewinder: Rewinder<LrRewinderOptions> = {
  meta: {
    name: 'lr-rewind',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Keep the trained weights θT; replay the learning-rate schedule from iteration k (Renda et al. 2020)',
  },
  optionsSchema,
  defaults: { at: 0 },
  captureAt() {
    return [];
  },
  start(ctx, options) {
    return { weights: copyWeights(ctx.final), iteration: replayFrom(options, ctx), optimizerState: undefined };
  },
};
