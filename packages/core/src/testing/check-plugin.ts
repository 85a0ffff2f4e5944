import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import type { TObject } from '@sinclair/typebox';
import { API_VERSION, type Plugin } from '../contracts.js';

/** `kind "name"`: every failure message starts with it, so a failing suite names the plugin. */
export function pluginLabel<O>(kind: string, plugin: Plugin<O>): string {
  return `${kind} "${plugin?.meta?.name ?? '(no name)'}"`;
}

/**
 * The parts every plugin shares: meta, an object options schema whose fields all have a
 * description and which leaves `use` to core, and defaults that the schema accepts.
 */
export function checkPluginShape<O>(kind: string, plugin: Plugin<O>): void {
  const label = pluginLabel(kind, plugin);
  const { meta } = plugin;
  assert.ok(meta && typeof meta.name === 'string' && meta.name.length > 0, `${label}: meta.name must be a non-empty string`);
  assert.ok(typeof meta.version === 'string' && /^\d+\.\d+\.\d+/.test(meta.version), `${label}: meta.version must be a semver string, got ${meta.version}`);
  assert.equal(meta.apiVersion, API_VERSION, `${label}: meta.apiVersion must be core's API_VERSION (${API_VERSION})`);

  const schema = plugin.optionsSchema as TObject;
  assert.equal(schema?.type, 'object', `${label}: optionsSchema must be an object schema (Type.Object)`);
  const properties = schema.properties ?? {};
  assert.ok(!('use' in properties), `${label}: optionsSchema must not declare "use": core adds it`);
  for (const [key, field] of Object.entries(properties)) {
    assert.ok(typeof field.description === 'string' && field.description.length > 0, `${label}: option "${key}" has no description`);
  }
  const defaults = (plugin.defaults ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(defaults)) {
    assert.ok(key in properties, `${label}: default "${key}" is not an option in optionsSchema`);
    assert.ok(Value.Check(properties[key], value), `${label}: default ${key} = ${JSON.stringify(value)} does not match its schema`);
  }
}
