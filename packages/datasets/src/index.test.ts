import { readFileSync } from 'node:fs';
import { rootContainer, TOKENS, type DatasetProvider, API_VERSION } from '@lth/core';
import { describe, expect, it } from 'vitest';
import { register, VERSION } from './index.js';

describe('@lth/datasets register', () => {
  it('registers mnist and synthetic under the dataset token, into the given container only', () => {
    const container = rootContainer.createChildContainer();
    register(container);
    const names = container.resolveAll<DatasetProvider>(TOKENS.dataset).map((p) => p.meta.name);
    expect(names.sort()).toEqual(['cifar10', 'fashion-mnist', 'mnist', 'synthetic']);
    expect(rootContainer.isRegistered(TOKENS.dataset, false)).toBe(false);
  });

  it('declares the package version and the core API version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const container = rootContainer.createChildContainer();
    register(container);
    for (const plugin of container.resolveAll<DatasetProvider>(TOKENS.dataset)) {
      expect(plugin.meta.version).toBe(pkg.version);
      expect(plugin.meta.apiVersion).toBe(API_VERSION);
    }
  });

  it('describes every option', () => {
    const container = rootContainer.createChildContainer();
    register(container);
    for (const plugin of container.resolveAll<DatasetProvider>(TOKENS.dataset)) {
      const schema = plugin.optionsSchema as { properties: Record<string, { description?: string }> };
      for (const [key, field] of Object.entries(schema.properties)) {
        expect(field.description, `${plugin.meta.name}.${key}`).toBeTruthy();
      }
      expect(schema.properties).not.toHaveProperty('use');
    }
  });
});
