import { type DependencyContainer, TOKENS } from '@lth/core';
import { graspScorer } from './grasp.js';
import { magnitudeIncreaseScorer, movementScorer } from './movement.js';
import { randomScorer } from './random.js';
import { snipScorer } from './snip.js';
import { synflowScorer } from './synflow.js';
import { taylorScorer } from './taylor.js';

export { snipScorer, type SnipScorerOptions } from './snip.js';
export { graspScorer, hessianGradientProduct, type GraspScorerOptions } from './grasp.js';
export { synflowScorer, synflowRound, type SynflowScorerOptions } from './synflow.js';
export { movementScorer, magnitudeIncreaseScorer, type MovementScorerOptions } from './movement.js';
export { taylorScorer, type TaylorScorerOptions } from './taylor.js';
export { randomScorer, type RandomScorerOptions } from './random.js';
export { VERSION } from './version.js';

/** Every scorer of this package, in registration order. */
export const SCORERS = [snipScorer, graspScorer, synflowScorer, movementScorer, magnitudeIncreaseScorer, taylorScorer, randomScorer];

/** Adds this package's scorers to `container` (called by the loader; importing registers nothing). */
export function register(container: DependencyContainer): void {
  for (const scorer of SCORERS) container.register(TOKENS.scorer, { useValue: scorer });
}
