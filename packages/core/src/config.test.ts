import { beforeAll, describe, expect, it } from 'vitest';
import { fixturePlugins, toyConfig } from './__fixtures__/plugins.js';
import { resolveConfig, runDirName } from './config.js';
import { UserError } from './errors.js';
import { loadPlugins } from './loader.js';
import type { PluginRegistry } from './registry.js';

let registry: PluginRegistry;
beforeAll(async () => {
  ({ registry } = await loadPlugins({ modules: { fixtures: fixturePlugins } }));
});

const errorOf = (raw: unknown): UserError => {
  try {
    resolveConfig(raw, registry);
  } catch (error) {
    return error as UserError;
  }
  throw new Error('expected the config to be rejected');
};

describe('resolveConfig', () => {
  it('fills core and plugin defaults', () => {
    const { config } = resolveConfig(toyConfig(), registry);
    expect(config.replicates).toBe(1);
    expect(config.training.optimizer).toEqual({ use: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
    expect(config.training.lrSchedule).toEqual({ use: 'constant' });
    expect(config.model).toEqual({ use: 'mlp', hidden: 16 });
  });

  it('pins the hash of a known config', () => {
    const resolved = resolveConfig(toyConfig(), registry);
    expect(resolved.hash.slice(0, 12)).toBe('2803cb44b55e');
    expect(runDirName(resolved)).toBe(`toy-${resolved.hash.slice(0, 12)}`);
  });

  it('hashes what changes results, and nothing else', () => {
    const base = resolveConfig(toyConfig(), registry).hash;
    // Name, replicates and spelled-out defaults do not change results.
    expect(resolveConfig(toyConfig({ name: 'other', replicates: 3 }), registry).hash).toBe(base);
    expect(resolveConfig(toyConfig({ model: { use: 'mlp', hidden: 16 } }), registry).hash).toBe(base);
    expect(resolveConfig({ ...toyConfig(), training: { ...toyConfig().training, optimizer: { use: 'adam', lr: 0.01, beta1: 0.9 } } }, registry).hash).toBe(base);
    // Anything that trains differently does.
    expect(resolveConfig(toyConfig({ seed: 4 }), registry).hash).not.toBe(base);
    expect(resolveConfig(toyConfig({ model: { use: 'mlp', hidden: 8 } }), registry).hash).not.toBe(base);
  });

  it('names the bad field and the allowed fields', () => {
    const e = errorOf({ ...toyConfig(), training: { ...toyConfig().training, batchSize: 0 } });
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toContain('/training/batchSize');
    const typo = errorOf({ ...toyConfig(), trainng: {} });
    expect(typo.message).toMatch(/\/trainng: unknown field "trainng" \(allowed: .*training/);
  });

  it('validates plugin options against the plugin schema, with the slot path', () => {
    const e = errorOf(toyConfig({ model: { use: 'mlp', hidden: -1 } }));
    expect(e.message).toContain('/model/hidden');
    expect(e.message).toContain('model "mlp"');
    const extra = errorOf(toyConfig({ model: { use: 'mlp', hiden: 3 } }));
    expect(extra.message).toContain('/model/hiden: unknown field "hiden" (allowed: use, hidden)');
  });

  it('lists the known names for an unknown plugin', () => {
    const e = errorOf(toyConfig({ model: { use: 'resnet-9000' } }));
    expect(e.message).toContain('/model/use: unknown model "resnet-9000". Known models: centred-mlp, mlp.');
  });

  it('requires the learning rate and accepts durations in epochs', () => {
    const e = errorOf({ ...toyConfig(), training: { ...toyConfig().training, optimizer: { use: 'adam' } } });
    expect(e.message).toContain('/training/optimizer/lr: required field is missing');
    expect(() => resolveConfig({ ...toyConfig(), training: { ...toyConfig().training, iterations: '2ep' } }, registry)).not.toThrow();
    expect(errorOf({ ...toyConfig(), training: { ...toyConfig().training, iterations: '2 epochs' } }).message).toContain('/training/iterations');
  });
});
