import { API_VERSION, Type, tf, type BackendProvider } from '@lth/core';

import { loadAddon } from './addon.js';
import { registerNativeBackend } from './register.js';
import { VERSION } from './version.js';

/** The `native` backend plugin: tfjs' cpu backend with OpenBLAS/oneDNN kernels for training. */
export const nativeBackendProvider: BackendProvider = {
  meta: {
    name: 'native',
    version: VERSION,
    apiVersion: API_VERSION,
    description: 'TensorFlow.js backend with native kernels (OpenBLAS GEMM, oneDNN convolutions, fused optimizers)',
  },
  optionsSchema: Type.Object({}),
  defaults: {},
  priority: 50,
  async available() {
    const r = loadAddon();
    return 'error' in r ? { ok: false, reason: r.error } : { ok: true };
  },
  async activate() {
    registerNativeBackend();
    if (!(await tf.setBackend('native'))) throw new Error('@lth/backend-native: tfjs could not initialise the native backend');
  },
};
