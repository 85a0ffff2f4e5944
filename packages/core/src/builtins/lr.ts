import { Type } from '@sinclair/typebox';
import { API_VERSION, type LrSchedule, type Warmup } from '../contracts.js';
import { type Duration, parseDuration } from '../duration.js';
import { DurationSchema } from '../config.js';
import { CORE_VERSION } from './version.js';

const meta = (name: string, description: string) => ({ name, version: CORE_VERSION, apiVersion: API_VERSION, description });

export const constantLr: LrSchedule<Record<string, never>> = {
  meta: meta('constant', 'the base learning rate throughout'),
  optionsSchema: Type.Object({}),
  defaults: {},
  lr: (_it, base) => base,
};

export interface StepLrOptions {
  milestones: Duration[];
  gamma: number;
}

/** Multiply the rate by `gamma` at each milestone (e.g. ×0.1 at epochs 80 and 120). */
export const stepLr: LrSchedule<StepLrOptions> = {
  meta: meta('step', 'multiply the learning rate by gamma at each milestone'),
  optionsSchema: Type.Object({
    milestones: Type.Array(DurationSchema, { description: 'Iterations or epochs ("80ep") at which the rate drops.' }),
    gamma: Type.Number({ exclusiveMinimum: 0, description: 'Factor applied at each milestone.' }),
  }),
  defaults: { milestones: [], gamma: 0.1 },
  lr(iteration, base, o, ctx) {
    let lr = base;
    o.milestones.forEach((m, i) => {
      if (iteration >= parseDuration(m, ctx.iterationsPerEpoch, `/training/lrSchedule/milestones/${i}`)) lr *= o.gamma;
    });
    return lr;
  },
};

export interface CosineLrOptions {
  final: number;
}

/**
 * Cosine annealing over the whole of training (Loshchilov & Hutter's SGDR without restarts):
 * lr(t) = base·(f + (1 − f)·(1 + cos(π·t / T)) / 2), from `base` at t = 0 down to f·base at
 * t = T, the total number of iterations.
 */
export const cosineLr: LrSchedule<CosineLrOptions> = {
  meta: meta('cosine', 'anneal the learning rate along a half cosine to final × lr at the end of training'),
  optionsSchema: Type.Object({
    final: Type.Number({ minimum: 0, maximum: 1, description: 'The rate at the end of training as a fraction of the base rate (0 anneals to zero).' }),
  }),
  defaults: { final: 0 },
  lr(iteration, base, o, ctx) {
    const progress = Math.min(1, Math.max(0, iteration / Math.max(1, ctx.totalIterations)));
    return base * (o.final + ((1 - o.final) * (1 + Math.cos(Math.PI * progress))) / 2);
  },
};

export const noWarmup: Warmup<Record<string, never>> = {
  meta: meta('none', 'no warmup'),
  optionsSchema: Type.Object({}),
  defaults: {},
  factor: () => 1,
};

export interface LinearWarmupOptions {
  iterations: Duration;
}

/** Ramp the rate linearly from lr/W to lr over the first W iterations (Frankle & Carbin's warmup). */
export const linearWarmup: Warmup<LinearWarmupOptions> = {
  meta: meta('linear', 'ramp the learning rate linearly over the first iterations'),
  optionsSchema: Type.Object({
    iterations: { ...DurationSchema, description: 'Warmup length W; 0 disables warmup.' },
  }),
  defaults: { iterations: 0 },
  factor(iteration, o, ctx) {
    const w = parseDuration(o.iterations, ctx.iterationsPerEpoch, '/training/warmup/iterations');
    return w === 0 ? 1 : Math.min(1, (iteration + 1) / w);
  },
};
