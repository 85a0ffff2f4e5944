import { type DependencyContainer, TOKENS } from '@lth/core';
import { lenet } from './lenet.js';

export { lenet, LenetOptions, lenetDefaults, lenetSpec } from './lenet.js';
export { initKernel, weightSeed, type KernelInit } from './init.js';
export { VERSION } from './version.js';

/** Every model factory this package provides. */
export const models = [lenet] as const;

/** Registers this package's models; called by the plugin loader, never on import. */
export function register(container: DependencyContainer): void {
  for (const plugin of models) container.register(TOKENS.model, { useValue: plugin });
}
