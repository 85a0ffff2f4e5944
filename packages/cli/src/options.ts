import { UserError } from '@lth/core';

/** A whole number ≥ `min` given to `flag`, or the user's error naming the flag (exit 2). */
export function wholeNumber(flag: string, value: string, min = 0): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new UserError(`${flag} ${value}: give a whole number ≥ ${min}, e.g. ${flag} ${Math.max(min, 2)}`, flag);
  return n;
}

/** `wholeNumber` as a commander option parser. */
export const wholeNumberOption = (flag: string, min = 0) => (value: string) => wholeNumber(flag, value, min);

/** `--jobs` of `lth run` and `lth branch`: a branch's simultaneous trainings in worker processes. */
export const BRANCH_JOBS_HELP = "train a branch's independent trainings (instability's two copies) in up to n worker processes at once (same results as 1)";
