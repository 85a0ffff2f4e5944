import { readFileSync } from 'node:fs';
import { API_VERSION, type ModelFactory, PluginRegistry, rootContainer, TOKENS } from '@lth/core';
import { describe, expect, it } from 'vitest';
import { register, VERSION } from './index.js';

describe('@lth/models register', () => {
  it('registers lenet under the model token, into the given container only', () => {
    const container = rootContainer.createChildContainer();
    register(container);
    const plugins = container.resolveAll<ModelFactory>(TOKENS.model);
    expect(plugins.map((p) => p.meta.name)).toEqual(['lenet', 'conv', 'resnet', 'vgg']);
    expect(rootContainer.isRegistered(TOKENS.model, false)).toBe(false);
  });

  it('is found by core\'s registry under lenet-N-M names', () => {
    const container = rootContainer.createChildContainer();
    register(container);
    const registry = new PluginRegistry();
    for (const plugin of container.resolveAll<ModelFactory>(TOKENS.model)) registry.add('model', plugin);
    const { plugin, implied } = registry.lookup<ModelFactory>('model', 'lenet-300-100');
    expect(plugin.meta.name).toBe('lenet');
    expect(implied).toEqual({ hidden: [300, 100] });
  });

  it('declares the package version, the core API version and a description for every option', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const container = rootContainer.createChildContainer();
    register(container);
    for (const plugin of container.resolveAll<ModelFactory>(TOKENS.model)) {
      expect(plugin.meta.version).toBe(pkg.version);
      expect(plugin.meta.apiVersion).toBe(API_VERSION);
      const schema = plugin.optionsSchema as { properties: Record<string, { description?: string }> };
      for (const [key, field] of Object.entries(schema.properties)) expect(field.description, key).toBeTruthy();
      expect(schema.properties).not.toHaveProperty('use');
    }
  });
});
