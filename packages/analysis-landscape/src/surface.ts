import { type BranchFiles, type EvalSet, type ModelSpec, PlaneEvaluator, type TensorMap } from '@lth/core';

/** Loss and accuracy at a list of points, on the training subset and the test set. */
export interface Curves {
  trainLoss: number[];
  trainAccuracy: number[];
  testLoss: number[];
  testAccuracy: number[];
}

/** The 1D slice: `line.json`. */
export interface Line extends Curves {
  /** The plane the slices lie in: seeded random directions, or through other solutions. */
  plane?: 'random' | 'solutions';
  /** The coefficient of the first direction at each point. */
  alphas: number[];
}

/** The 2D slice: `surface.json`, rows along the second direction, columns along the first. */
export interface Surface {
  /** The coefficients along each axis (the same for both). */
  axis: number[];
  /** One entry per row; null where the row is not computed yet (a killed run resumes there). */
  rows: (Curves | null)[];
}

export interface EvalSets {
  train: EvalSet;
  test: EvalSet;
}

/** `count` evenly spaced points on [-range, range] (both ends included). */
export function linspace(count: number, range: number): number[] {
  if (count === 1) return [0];
  return Array.from({ length: count }, (_, i) => Number((-range + (2 * range * i) / (count - 1)).toFixed(12)));
}

const emptyCurves = (): Curves => ({ trainLoss: [], trainAccuracy: [], testLoss: [], testAccuracy: [] });

/** θ + Σ cᵢ dᵢ on the training subset and on the test set (core's PlaneEvaluator on each). */
export class Plane {
  readonly train: PlaneEvaluator;
  readonly test: PlaneEvaluator;

  constructor(model: ModelSpec, center: TensorMap, directions: TensorMap[], sets: EvalSets) {
    this.train = new PlaneEvaluator(model, center, directions, sets.train);
    this.test = new PlaneEvaluator(model, center, directions, sets.test);
  }

  dispose(): void {
    this.train.dispose();
    this.test.dispose();
  }
}

/** Evaluates θ + Σ cᵢ dᵢ for each list of coefficients, appending to `into`. */
export function evaluatePoints(plane: Plane, points: number[][], into = emptyCurves()): Curves {
  for (const coefficients of points) {
    const train = plane.train.at(coefficients);
    const test = plane.test.at(coefficients);
    into.trainLoss.push(train.loss);
    into.trainAccuracy.push(train.accuracy);
    into.testLoss.push(test.loss);
    into.testAccuracy.push(test.accuracy);
  }
  return into;
}

/**
 * The 2D grid, one row at a time: each finished row is written to `surface.json` (atomically)
 * before the next starts, and rows already there are not computed again.
 */
export function computeSurface(plane: Plane, axis: number[], files: BranchFiles, progress: (row: number) => void): Surface {
  const file = 'surface.json';
  const stored = files.has(file) ? files.readJson<Surface>(file) : undefined;
  const surface: Surface =
    stored && JSON.stringify(stored.axis) === JSON.stringify(axis) ? stored : { axis, rows: axis.map(() => null) };
  axis.forEach((beta, r) => {
    if (surface.rows[r]) return;
    surface.rows[r] = evaluatePoints(plane, axis.map((alpha) => [alpha, beta]));
    files.writeJson(file, surface);
    progress(r);
  });
  return surface;
}

/** The value of a sampled curve at `x` by linear interpolation (clamped to the ends). */
export function interpolate(xs: number[], ys: number[], x: number): number {
  if (x <= xs[0]!) return ys[0]!;
  for (let i = 1; i < xs.length; i++) {
    if (x <= xs[i]!) {
      const t = (x - xs[i - 1]!) / (xs[i]! - xs[i - 1]!);
      return ys[i - 1]! + t * (ys[i]! - ys[i - 1]!);
    }
  }
  return ys[ys.length - 1]!;
}
