import { TOKENS, type DependencyContainer } from '@lth/core';

import { nativeBackendProvider } from './provider.js';

export { nativeBackendProvider } from './provider.js';
export { registerNativeBackend } from './register.js';
export { loadAddon, type NativeAddon } from './addon.js';
export { NativeBackend } from './backend.js';
export { BufferPool } from './buffer_pool.js';
export {
  DEFAULT_MAX_DENSITY,
  SparseKernels,
  patternFromMask,
  sparseOptionsFromEnv,
  type SparseKernelOptions,
  type SparsePattern,
  type SparseUsage,
} from './sparse.js';
export { LthAdamUpdate, type LthAdamUpdateAttrs } from './kernels/LthAdamUpdate.js';
export { LthSgdUpdate, type LthSgdUpdateAttrs } from './kernels/LthSgdUpdate.js';
export { VERSION } from './version.js';

/** Plugin entry: registers the `native` backend provider (nothing touches tfjs until activate()). */
export function register(container: DependencyContainer): void {
  container.register(TOKENS.backend, { useValue: nativeBackendProvider });
}
