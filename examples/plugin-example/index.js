// @ts-check
import { TOKENS } from '@lth/core';
import { magnitudePowerScorer } from './magnitude-power-scorer.js';
import { supermaskBranch } from './supermask-branch.js';

export { magnitudePowerScorer, supermaskBranch };

/**
 * Adds this package's plugins to `container`. lth's loader calls it once per run on a child
 * container; importing this module registers nothing.
 * @param {import('@lth/core').DependencyContainer} container
 */
export function register(container) {
  container.register(TOKENS.scorer, { useValue: magnitudePowerScorer });
  container.register(TOKENS.branch, { useValue: supermaskBranch });
}
