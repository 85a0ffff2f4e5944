/**
 * Injection tokens, one per plugin kind. `Symbol.for` makes them global, so a plugin compiled
 * against another copy of `@lth/core` still registers under the same token.
 */
export const TOKENS = {
  dataset: Symbol.for('lth.DatasetProvider'),
  model: Symbol.for('lth.ModelFactory'),
  scorer: Symbol.for('lth.Scorer'),
  masker: Symbol.for('lth.Masker'),
  schedule: Symbol.for('lth.PruningSchedule'),
  rewinder: Symbol.for('lth.Rewinder'),
  lrSchedule: Symbol.for('lth.LrSchedule'),
  warmup: Symbol.for('lth.Warmup'),
  optimizer: Symbol.for('lth.Optimizer'),
  branch: Symbol.for('lth.Branch'),
  backend: Symbol.for('lth.BackendProvider'),
  exporter: Symbol.for('lth.Exporter'),
  reporter: Symbol.for('lth.Reporter'),
  registry: Symbol.for('lth.PluginRegistry'),
} as const;

/** The kinds of plugin a config can name, with the token each is registered under. */
export const PLUGIN_KINDS = [
  'dataset',
  'model',
  'scorer',
  'masker',
  'schedule',
  'rewinder',
  'lrSchedule',
  'warmup',
  'optimizer',
  'branch',
  'backend',
  'exporter',
] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];
