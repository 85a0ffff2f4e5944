// @ts-check
import { API_VERSION, tf, Type } from '@lth/core';

/** @typedef {{ split: 'train' | 'validation' | 'test' }} SupermaskOptions */

const optionsSchema = Type.Object(
  {
    split: Type.Union([Type.Literal('train'), Type.Literal('validation'), Type.Literal('test')], {
      description: 'The evaluation set the accuracies are measured on.',
    }),
  },
  { additionalProperties: false },
);

/**
 * A branch: how good is the ticket's mask on its own? Evaluates θ0 ⊙ m, the untrained weights
 * under the level's mask (a "supermask", Zhou et al. 2019), beside θT, the trained ticket.
 * It trains nothing, so it needs no resume logic of its own: core stores its result.
 * @type {import('@lth/core').Branch<SupermaskOptions>}
 */
export const supermaskBranch = {
  meta: {
    name: 'example-supermask',
    version: '1.0.0',
    apiVersion: API_VERSION,
    description: 'Example third-party branch: accuracy of θ0 under the mask (untrained) beside θT',
  },
  optionsSchema,
  defaults: { split: 'test' },
  defaultLevels: 'all',
  async run(ctx, { split }) {
    const masked = tf.tidy(() =>
      Object.fromEntries(
        Object.entries(ctx.init).map(([name, w]) => {
          const m = ctx.masks[name];
          return [name, m ? tf.mul(w, tf.tensor(m.data, m.shape, 'float32')) : tf.clone(w)];
        }),
      ),
    );
    try {
      return { supermaskAccuracy: ctx.evaluate(masked, split).accuracy, trainedAccuracy: ctx.evaluate(ctx.final, split).accuracy };
    } finally {
      tf.dispose(Object.values(masked));
    }
  },
};
