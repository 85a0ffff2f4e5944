import * as tf from '@tensorflow/tfjs-core';
import type { BackendProvider } from './contracts.js';
import { UserError } from './errors.js';
import type { PluginRegistry } from './registry.js';

export interface BackendChoice {
  name: string;
  /** Why faster backends were passed over (shown once by the CLI). */
  skipped: { name: string; reason: string }[];
}

/**
 * Activates the backend `requested`, or with `auto` the available one of highest priority.
 * Backends come from plugins (core's tensorflow/wasm/cpu, or a package such as a native one).
 */
export async function selectBackend(registry: PluginRegistry, requested = 'auto'): Promise<BackendChoice> {
  // Production mode: no "install tfjs-node" banner (lth chooses backends itself) and no debug checks.
  tf.env().set('PROD', true);
  const providers = (registry.all('backend') as BackendProvider[]).sort((a, b) => b.priority - a.priority);
  if (requested !== 'auto') {
    const provider = registry.get<BackendProvider>('backend', requested, '--backend');
    const status = await provider.available();
    if (!status.ok) throw new UserError(`--backend ${requested}: not available here: ${status.reason}`, '--backend');
    await provider.activate();
    return { name: tf.getBackend(), skipped: [] };
  }
  const skipped: BackendChoice['skipped'] = [];
  for (const provider of providers) {
    const status = await provider.available();
    if (!status.ok) {
      skipped.push({ name: provider.meta.name, reason: status.reason });
      continue;
    }
    try {
      await provider.activate();
      return { name: tf.getBackend(), skipped };
    } catch (error) {
      skipped.push({ name: provider.meta.name, reason: (error as Error).message });
    }
  }
  throw new Error(`no TensorFlow.js backend could be activated: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
