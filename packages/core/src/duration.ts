import { UserError } from './errors.js';

/**
 * A duration in a config: iterations as a number (`2000`) or string (`"2000it"`), or epochs
 * (`"2ep"`, `"0.5ep"`). Returns whole iterations.
 */
export type Duration = number | string;

/** The longest duration lth accepts: 10⁹ iterations (a typo like 1e15 is rejected, not started). */
export const MAX_ITERATIONS = 1_000_000_000;

export function parseDuration(value: Duration, iterationsPerEpoch: number, field = 'duration'): number {
  const bounded = (n: number) => {
    if (n > MAX_ITERATIONS) throw new UserError(`${field}: ${value} is more than ${MAX_ITERATIONS.toLocaleString('en-US')} iterations; is it a typo?`, field);
    return n;
  };
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new UserError(`${field}: must be a whole number of iterations ≥ 0, got ${value}`, field);
    return bounded(value);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(it|ep)\s*$/.exec(value);
  if (!m) throw new UserError(`${field}: "${value}" is not a duration; write iterations (2000 or "2000it") or epochs ("2ep")`, field);
  const n = Number(m[1]);
  if (m[2] === 'it') {
    if (!Number.isInteger(n)) throw new UserError(`${field}: "${value}" must be a whole number of iterations`, field);
    return bounded(n);
  }
  return bounded(Math.round(n * iterationsPerEpoch));
}

/** JSON Schema fragment for a duration (use in TypeBox as `Type.Union([...])`). */
export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(it|ep)\\s*$';
