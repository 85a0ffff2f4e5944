import { type DependencyContainer, TOKENS } from '@lth/core';
import { landscape } from './landscape.js';
import { sharpness } from './sharpness.js';

export { type Direction, filterNormalise, gaussianDirection, landscapeDirection, movedWeights } from './directions.js';
export { landscape, type LandscapeOptions, summarise } from './landscape.js';
export { type Eigen, finiteDifferenceHvp, hutchinsonTrace, modelHvp, restrict, type Subspace, topEigenvalue, topEigenvalues } from './hessian.js';
export { sharpness, type SharpnessOptions } from './sharpness.js';
export { type Curves, type Line, linspace, type Surface } from './surface.js';
export { VERSION } from './version.js';

/** Adds this package's branches to `container` (called by the loader; importing registers nothing). */
export function register(container: DependencyContainer): void {
  for (const b of [landscape, sharpness]) container.register(TOKENS.branch, { useValue: b });
}
