import { type DependencyContainer, TOKENS } from '@lth/core';
import { iterationRewinder } from './iteration-rewinder.js';
import { reinitRewinder } from './reinit-rewinder.js';

export { iterationRewinder, type IterationRewinderOptions } from './iteration-rewinder.js';
export { reinitRewinder, reinitSeed, type ReinitRewinderOptions } from './reinit-rewinder.js';
export { VERSION } from './version.js';

/** Adds this package's rewinders to `container` (called by the loader; importing registers nothing). */
export function register(container: DependencyContainer): void {
  container.register(TOKENS.rewinder, { useValue: iterationRewinder });
  container.register(TOKENS.rewinder, { useValue: reinitRewinder });
}
