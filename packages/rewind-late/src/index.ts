import { type DependencyContainer, TOKENS } from '@lth/core';
import { finetuneRewinder } from './finetune-rewinder.js';
import { iterationRewinder } from './iteration-rewinder.js';
import { lrRewinder } from './lr-rewinder.js';
import { reinitRewinder } from './reinit-rewinder.js';

export { iterationRewinder, type IterationRewinderOptions } from './iteration-rewinder.js';
export { lrRewinder, type LrRewinderOptions } from './lr-rewinder.js';
export { finetuneRewinder, type FinetuneRewinderOptions } from './finetune-rewinder.js';
export { reinitRewinder, reinitSeed, type ReinitRewinderOptions } from './reinit-rewinder.js';
export { VERSION } from './version.js';

/** Adds this package's rewinders to `container` (called by the loader; importing registers nothing). */
export function register(container: DependencyContainer): void {
  container.register(TOKENS.rewinder, { useValue: iterationRewinder });
  container.register(TOKENS.rewinder, { useValue: lrRewinder });
  container.register(TOKENS.rewinder, { useValue: finetuneRewinder });
  container.register(TOKENS.rewinder, { useValue: reinitRewinder });
}
