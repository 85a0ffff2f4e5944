import { readFileSync } from 'node:fs';

import { API_VERSION, rootContainer, TOKENS, type BackendProvider } from '@lth/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { nativeBackendProvider, register, VERSION } from './index.js';
import { skipReason } from './test-utils/parity.js';

describe('@lth/backend-native register', () => {
  it('registers the native provider under the backend token, into the given container only', () => {
    const container = rootContainer.createChildContainer();
    register(container);
    const providers = container.resolveAll<BackendProvider>(TOKENS.backend);
    expect(providers.map((p) => p.meta.name)).toEqual(['native']);
    expect(providers[0]!.priority).toBe(50);
    expect(rootContainer.isRegistered(TOKENS.backend, false)).toBe(false);
  });

  it('declares the package version and the core API version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(nativeBackendProvider.meta.version).toBe(pkg.version);
    expect(nativeBackendProvider.meta.apiVersion).toBe(API_VERSION);
  });

  it('registers nothing with tfjs on import', () => {
    // Other test files in this worker may have activated it; a fresh import alone must not.
    if (tf.findBackendFactory('native') !== undefined) return;
    expect(tf.getKernel('LthAdamUpdate', 'native')).toBeUndefined();
  });

  it('says whether the addon is available, and why not', async () => {
    const r = await nativeBackendProvider.available();
    if (skipReason) {
      expect(r).toEqual({ ok: false, reason: expect.stringContaining('npm rebuild @lth/backend-native') });
    } else {
      expect(r).toEqual({ ok: true });
    }
  });

  it.skipIf(skipReason !== undefined)('activate() selects the native backend', async () => {
    await nativeBackendProvider.activate();
    expect(tf.getBackend()).toBe('native');
    expect(tf.getKernel('LthAdamUpdate', 'native')).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropFilter', 'native')).toBeDefined(); // inherited from cpu
    await tf.setBackend('cpu');
  });
});
