import { type DependencyContainer, TOKENS } from '@lth/core';
import { instability } from './instability.js';

export { checkInstability, type Curve, curveFile, curveResult, instability, instabilityOptions, type InstabilityOptions, type PathPoint } from './instability.js';
export { type MaskOverlap, maskOverlap, type MasksOverlap, masksOverlap, topMagnitudeMasks } from './overlap.js';
export { alphas, barrier, interpolate, pathPoint, type PathSide, pathSides } from './path.js';
export { VERSION } from './version.js';

/** Adds this package's branch to `container` (called by the loader; importing registers nothing). */
export function register(container: DependencyContainer): void {
  container.register(TOKENS.branch, { useValue: instability });
}
