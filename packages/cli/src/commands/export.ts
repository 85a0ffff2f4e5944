import { basename, join, resolve } from 'node:path';
import { type Config, type Exporter, loadDataset, type ModelFactory, resolveConfig, RunStore, UserError } from '@lth/core';
import { Option } from 'commander';
import type { AddCommand } from '../context.js';

interface ExportFlags {
  level?: string;
  best?: boolean;
  tolerance: string;
  replicate: string;
  format: string;
  values?: string;
  quantize?: string;
  option: Record<string, unknown>;
  out?: string;
  backend: string;
}

/** A non-negative integer flag, or exit 2 naming it. */
function count(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${flag} ${value}: give a whole number ≥ 0`, flag);
  return n;
}

/** `--option key=value`: the value as JSON where it parses (numbers, booleans), else the string. */
function parseOption(text: string, into: Record<string, unknown>): Record<string, unknown> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError(`--option ${text}: write key=value`, '--option');
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a plain string
  }
  return { ...into, [text.slice(0, eq)]: value };
}

/** `lth export <runDir>`: one level of a run as a model to use outside lth. */
export const addExportCommand: AddCommand = (program, ctx) => {
  program
    .command('export')
    .description('export a ticket (one level of a run) for use outside lth: the lth sparse format (@lth/sparse-runtime), a TensorFlow.js LayersModel or ONNX; re-checked on the test set')
    .argument('<runDir>', 'a run directory (with config.json)')
    .option('--level <L>', 'the level to export')
    .option('--best', 'the sparsest level whose early-stop test accuracy is within --tolerance of the dense level 0 (the default without --level)')
    .option('--tolerance <pp>', 'for --best: accuracy below dense allowed, in percentage points', '0.5')
    .option('--replicate <r>', 'the replicate', '0')
    .requiredOption('--format <format>', 'an exporter: sparse (model.lthsparse, kept weights only), tfjs (model.json + weights.bin), onnx (model.onnx, opset 13), or one a plugin adds (lth plugins lists them)')
    .option('--values <precision>', 'sparse: kernel values as float32 (default) or float16 (half the bytes; re-checked within 0.05 pp)')
    .option('--quantize <dtype>', "tfjs: the weights manifest's quantization, none (default), float16 (re-checked within 0.05 pp) or uint8 (within 0.5 pp)")
    .addOption(new Option('--option <key=value>', "an exporter's option (repeatable; a third-party exporter's options)").argParser(parseOption).default({}, 'none'))
    .option('--out <dir>', 'output directory (default: ./exports/<run>/replicate-<r>-level-<L>-<format>)')
    .addOption(ctx.backendOption())
    .action(async (dir: string, o: ExportFlags) => {
      // Loaded on use: only this command needs it.
      const { exportTicket, readTicket, selectLevel } = await import('@lth/export');
      const runDir = resolve(dir);
      const store = new RunStore(runDir);
      if (!store.hasConfig()) throw new UserError(`${dir} is not a run directory (it has no config.json)`, '<runDir>');
      if (o.level !== undefined && o.best) throw new UserError('give --level or --best, not both', '--level');
      const tolerance = Number(o.tolerance);
      if (!(tolerance >= 0 && tolerance <= 100)) throw new UserError(`--tolerance ${o.tolerance}: give percentage points between 0 and 100`, '--tolerance');
      const replicate = count(o.replicate, '--replicate');
      const summary = selectLevel(store, replicate, o.level !== undefined ? { level: count(o.level, '--level') } : { best: { tolerance: tolerance / 100 } });

      const { hash, canonical: _canonical, control: _control, branches: _branches, ...config } = store.readConfig<Config & { hash?: string; canonical?: unknown; control?: unknown }>();
      const { registry } = await ctx.discover();
      const exporter = registry.get<Exporter>('exporter', o.format, '--format');
      const options: Record<string, unknown> = { ...o.option };
      if (o.values !== undefined) options.values = o.values;
      if (o.quantize !== undefined) options.quantize = o.quantize;
      const resolved = resolveConfig(config, registry);
      if (hash && resolved.hash !== hash) {
        throw new UserError(`${dir}/config.json resolves to another run with the installed plugins (hash ${resolved.hash.slice(0, 12)}, not ${hash.slice(0, 12)})`, '<runDir>');
      }
      await ctx.selectBackend(registry, o.backend);
      const dataset = await loadDataset(resolved, runDir);
      const slot = resolved.slots.model!;
      const model = (slot.plugin as ModelFactory).create(slot.options as never, dataset);
      if (!model.describe) throw new UserError(`model "${slot.plugin.meta.name}" does not describe its architecture, so it cannot be exported (every model of lth's zoo does)`, '<runDir>');

      const outDir = resolve(o.out ?? join('exports', basename(runDir), `replicate-${replicate}-level-${summary.level}-${exporter.meta.name}`));
      const ticket = readTicket(store, summary, model.describe());
      const { files, record } = await exportTicket(ticket, { exporter, options, outDir, model, dataset });
      const { recheck } = record;
      const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
      const change = `${recheck.accuracyChange >= 0 ? '+' : '−'}${Math.abs(100 * recheck.accuracyChange).toFixed(2)} pp`;
      ctx.out(
        `replicate ${replicate} level ${summary.level}: ${pct(summary.fractionRemaining)} of weights remaining, test accuracy ${pct(recheck.accuracy)} ` +
          `(lth: ${pct(recheck.recordedAccuracy)}, change ${change}, tolerance ${(100 * recheck.tolerance).toFixed(2)} pp), max |logit difference| ${recheck.maxLogitDifference.toExponential(2)}, ${record.bytes} bytes`,
      );
      for (const f of files) ctx.out(f);
    });
};
