import { Type } from '@sinclair/typebox';
import * as tf from '@tensorflow/tfjs-core';
import { API_VERSION, type BackendProvider } from '../contracts.js';
import { CORE_VERSION } from './version.js';

const meta = (name: string, description: string) => ({ name, version: CORE_VERSION, apiVersion: API_VERSION, description });

async function canImport(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

/**
 * `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`, when the user installed one (optional
 * peers: their install downloads libtensorflow, so lth never installs them itself).
 */
export const tensorflowBackend: BackendProvider = {
  meta: meta('tensorflow', 'libtensorflow through @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (install one yourself)'),
  optionsSchema: Type.Object({}),
  defaults: {},
  priority: 100,
  async available() {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) if (await canImport(pkg)) return { ok: true };
    return { ok: false, reason: 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (npm install @tensorflow/tfjs-node-gpu@4.22.0 where you have CUDA and internet)' };
  },
  async activate() {
    // Importing registers the `tensorflow` backend with tfjs.
    if (!(await canImport('@tensorflow/tfjs-node-gpu'))) await canImport('@tensorflow/tfjs-node');
    await tf.setBackend('tensorflow');
  },
};

/** TensorFlow.js' WebAssembly backend (SIMD, one thread in Node). */
export const wasmBackend: BackendProvider = {
  meta: meta('wasm', 'TensorFlow.js WebAssembly backend (SIMD)'),
  optionsSchema: Type.Object({}),
  defaults: {},
  priority: 20,
  async available() {
    return (await canImport('@tensorflow/tfjs-backend-wasm')) ? { ok: true } : { ok: false, reason: '@tensorflow/tfjs-backend-wasm is not installed' };
  },
  async activate() {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  },
};

/** TensorFlow.js' plain JavaScript backend: always there, slowest. */
export const cpuBackend: BackendProvider = {
  meta: meta('cpu', 'TensorFlow.js pure-JavaScript backend (slow; always available)'),
  optionsSchema: Type.Object({}),
  defaults: {},
  priority: 10,
  async available() {
    return { ok: true };
  },
  async activate() {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
  },
};
