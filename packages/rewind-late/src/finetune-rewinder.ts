import { API_VERSION, DURATION_PATTERN, parseDuration, type Rewinder, type Static, Type, UserError } from '@lth/core';
import { copyWeights } from './lr-rewinder.js';
import { VERSION } from './version.js';

const ITERATIONS_FIELD = '/pruning/rewind/iterations';

const optionsSchema = Type.Object(
  {
    lr: Type.Number({
      exclusiveMinimum: 0,
      description:
        'The constant learning rate of every pruned level, replacing the schedule and warmup. Renda et al. fine-tune at the final rate of the original schedule (e.g. 0.001 after SGD 0.1 dropped twice by 10).',
    }),
    iterations: Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: DURATION_PATTERN })], {
      description:
        'How long each pruned level fine-tunes: iterations (2000, "2000it") or epochs ("10ep"). The level runs the last t iterations of training, so it sees the same batches as the dense run did there.',
    }),
  },
  { additionalProperties: false },
);
export type FinetuneRewinderOptions = Static<typeof optionsSchema>;

/**
 * Fine-tuning (the baseline of Renda et al. 2020 and of Han et al. 2015): each pruned level keeps
 * the previous level's trained weights θT and trains on for `iterations` at the constant rate
 * `lr`, with fresh optimizer state. The level starts at iteration T − t so that it ends where
 * training ends.
 */
export const finetuneRewinder: Rewinder<FinetuneRewinderOptions> = {
  meta: {
    name: 'finetune',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'Keep the trained weights θT and train on at a small constant learning rate (the fine-tuning baseline)',
  },
  optionsSchema,
  defaults: { lr: 0.0001, iterations: '10ep' },
  captureAt() {
    return [];
  },
  start(ctx, options) {
    const t = parseDuration(options.iterations, ctx.iterationsPerEpoch, ITERATIONS_FIELD);
    if (t < 1 || t > ctx.totalIterations) {
      throw new UserError(`${ITERATIONS_FIELD}: fine-tuning for ${t} iterations does not fit in training of ${ctx.totalIterations} iterations`, ITERATIONS_FIELD);
    }
    return { weights: copyWeights(ctx.final), iteration: ctx.totalIterations - t, optimizerState: undefined, lr: options.lr };
  },
};
