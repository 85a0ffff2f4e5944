import { type DependencyContainer, TOKENS } from '@lth/core';
import { randomPrune, reinit, shuffle } from './controls.js';

export { randomPrune, reinit, shuffle, shuffledMasks } from './controls.js';
export { VERSION } from './version.js';

/** Adds this package's branches to `container` (called by the loader; importing registers nothing). */
export function register(container: DependencyContainer): void {
  for (const b of [reinit, randomPrune, shuffle]) container.register(TOKENS.branch, { useValue: b });
}
