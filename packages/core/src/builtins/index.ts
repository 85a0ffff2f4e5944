import type { DependencyContainer } from 'tsyringe';
import { TOKENS } from '../tokens.js';
import { cpuBackend, tensorflowBackend, wasmBackend } from './backends.js';
import { constantLr, cosineLr, linearWarmup, noWarmup, stepLr } from './lr.js';
import { adam, sgd } from './optimizers.js';
import { iterativeSchedule, oneShotSchedule } from './schedules.js';

export * from './backends.js';
export * from './lr.js';
export * from './optimizers.js';
export * from './schedules.js';
export { CORE_VERSION } from './version.js';

/** Core's built-in plugins, registered exactly like any plugin package's. */
export function registerBuiltins(container: DependencyContainer): void {
  for (const p of [iterativeSchedule, oneShotSchedule]) container.register(TOKENS.schedule, { useValue: p });
  for (const p of [constantLr, stepLr, cosineLr]) container.register(TOKENS.lrSchedule, { useValue: p });
  for (const p of [noWarmup, linearWarmup]) container.register(TOKENS.warmup, { useValue: p });
  for (const p of [adam, sgd]) container.register(TOKENS.optimizer, { useValue: p });
  for (const p of [tensorflowBackend, wasmBackend, cpuBackend]) container.register(TOKENS.backend, { useValue: p });
}
