import { API_VERSION, type Scorer, type ScorerContext, type Static, type TensorMap, tf, Type, UserError } from '@lth/core';
import { hostScores, requireTrained, weightOf } from './common.js';
import { VERSION } from './version.js';

const optionsSchema = Type.Object(
  {
    from: Type.String({
      enum: ['init', 'rewind'],
      description: 'The reference weights θ_ref: "init" (θ0, as in Zhou et al.) or "rewind" (θk, the rewinder\'s starting point).',
    }),
  },
  { additionalProperties: false },
);
export type MovementScorerOptions = Omit<Static<typeof optionsSchema>, 'from'> & { from: 'init' | 'rewind' };

function reference(ctx: ScorerContext, from: 'init' | 'rewind', scorer: string): TensorMap {
  if (from === 'init') return ctx.init;
  if (!ctx.rewind) throw new UserError(`/pruning/scorer/from: scorer "${scorer}": the rewinder provides no θk; use "from": "init"`, '/pruning/scorer/from');
  return ctx.rewind;
}

function scoreBy(scorer: string, f: (now: tf.Tensor, ref: tf.Tensor) => tf.Tensor) {
  return (ctx: ScorerContext, { from }: MovementScorerOptions) => {
    requireTrained(ctx, scorer);
    const ref = reference(ctx, from, scorer);
    const t = tf.tidy(() => Object.fromEntries(ctx.model.prunable.map((n) => [n, f(weightOf(ctx.weights, n, scorer), weightOf(ref, n, scorer, from))])));
    try {
      return hostScores(ctx, t, scorer);
    } finally {
      tf.dispose(Object.values(t));
    }
  };
}

/** Movement (Zhou et al., NeurIPS 2019): |θT − θ_ref|, keep the weights training moved most. No extra passes. */
export const movementScorer: Scorer<MovementScorerOptions> = {
  meta: { name: 'movement', version: VERSION, apiVersion: API_VERSION, description: 'How far training moved each weight, |θT − θ0| (Zhou et al. 2019)' },
  optionsSchema,
  defaults: { from: 'init' },
  requires: ({ from }) => (from === 'rewind' ? ['training', 'rewind'] : ['training']),
  score: scoreBy('movement', (now, ref) => tf.abs(tf.sub(now, ref))),
};

/** Magnitude increase (Zhou et al., NeurIPS 2019): |θT| − |θ_ref|, keep the weights that grew most. No extra passes. */
export const magnitudeIncreaseScorer: Scorer<MovementScorerOptions> = {
  meta: {
    name: 'magnitude-increase',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'How much training grew each weight, |θT| − |θ0| (Zhou et al. 2019)',
  },
  optionsSchema,
  defaults: { from: 'init' },
  requires: ({ from }) => (from === 'rewind' ? ['training', 'rewind'] : ['training']),
  score: scoreBy('magnitude-increase', (now, ref) => tf.sub(tf.abs(now), tf.abs(ref))),
};
