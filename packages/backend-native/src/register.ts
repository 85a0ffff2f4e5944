import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
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
  // `MathBackendCPU` is referenced so the cpu package (which registers cpu's kernels) is loaded.
  void MathBackendCPU;
  const overridden = new Set(nativeKernelConfigs.map((k) => k.kernelName));
  for (const config of getKernelsForBackend('cpu')) {
    if (!overridden.has(config.kernelName)) registerKernel({ ...config, backendName: BACKEND_NAME });
  }
  for (const config of nativeKernelConfigs) registerKernel(config);
  registerBackend(BACKEND_NAME, () => new NativeBackend(addon), 0);
  registered = true;
}
