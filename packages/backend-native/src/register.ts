import { findBackendFactory, getKernelsForBackend, registerBackend, registerKernel } from '@tensorflow/tfjs-core';

import { requireAddon } from './addon.js';
import { NativeBackend } from './backend.js';
import { nativeKernelConfigs } from './kernel_list.js';
import { BACKEND_NAME } from './kernels/shared.js';

let registered = false;

/**
 * Registers the `native` backend with tfjs: every cpu kernel under the name `native`, then the
 * native kernels over them. Idempotent; throws when the addon is not built. Called by the
 * provider's `activate()`, never on import.
 */
export function registerNativeBackend(): void {
  if (registered || findBackendFactory(BACKEND_NAME)) {
    registered = true;
    return;
  }
  const addon = requireAddon();
  // backend.ts imports @tensorflow/tfjs-backend-cpu, whose loading registered cpu's kernels.
  const cpuKernels = getKernelsForBackend('cpu');
  if (cpuKernels.length === 0) {
    throw new Error('@lth/backend-native: no cpu kernels are registered with this @tensorflow/tfjs-core; ' +
      'is there more than one copy of it installed? (npm ls @tensorflow/tfjs-core; npm dedupe)');
  }
  const overridden = new Set(nativeKernelConfigs.map((k) => k.kernelName));
  for (const config of cpuKernels) {
    if (!overridden.has(config.kernelName)) registerKernel({ ...config, backendName: BACKEND_NAME });
  }
  for (const config of nativeKernelConfigs) registerKernel(config);
  registerBackend(BACKEND_NAME, () => new NativeBackend(addon), 0);
  registered = true;
}
