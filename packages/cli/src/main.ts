import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  expandSweep,
  type LoadedPlugins,
  loadPlugins,
  PLUGIN_KINDS,
  type Reporter,
  resolveConfig,
  runDirName,
  runExperiment,
  runSweep,
  selectBackend,
  UserError,
} from '@lth/core';
import { Command, CommanderError, Option } from 'commander';
import { exampleConfig } from './example-config.js';
import { configReference } from './reference.js';
import { configJsonSchema } from './schema.js';
import { ConsoleReporter, summaryTable } from './reporter.js';

const here = dirname(fileURLToPath(import.meta.url));
const version = (JSON.parse(readFileSync(resolve(here, '../package.json'), 'utf8')) as { version: string }).version;

/** Every installed plugin package: found from the working directory and from where lth is installed. */
export async function discover(stderr: NodeJS.WritableStream = process.stderr): Promise<LoadedPlugins> {
  const loaded = await loadPlugins({ from: [process.cwd(), here] });
  for (const f of loaded.failures) stderr.write(`lth: warning: skipped plugin package ${f.package.name}: ${f.error.message}\n`);
  return loaded;
}

/** A sweep file is a run config with `vary`, `variants` or `controls`. */
const isSweep = (raw: unknown) => typeof raw === 'object' && raw !== null && ['vary', 'variants', 'controls'].some((k) => k in raw);

function readConfig(file: string): unknown {
  const path = resolve(file);
  if (!existsSync(path)) throw new UserError(`config file not found: ${file}`, '<config>');
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${file} is not valid JSON: ${(error as Error).message}`, '<config>');
  }
}

export interface MainIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  reporter?: Reporter;
}

/** Runs the CLI; returns the exit code: 0 success, 2 bad input (config, data, arguments), 1 internal failure. */
export async function main(argv: string[], io: MainIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const out = (s: string) => io.stdout.write(`${s}\n`);
  const program = new Command('lth')
    .description('Lottery-ticket pruning experiments on TensorFlow.js')
    .version(version)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const backendOption = () =>
    new Option('--backend <name>', 'TensorFlow.js backend: auto picks the fastest installed (tensorflow, native, wasm, cpu)').default('auto');

  program
    .command('run')
    .description('run a lottery-ticket experiment (resumes an interrupted run with the same config)')
    .argument('<config>', 'JSON config file')
    .option('--out <dir>', 'parent directory of run directories', 'runs')
    .addOption(backendOption())
    .action(async (file: string, o: { out: string; backend: string }) => {
      const raw = readConfig(file);
      const { registry } = await discover(io.stderr);
      const resolved = resolveConfig(raw, registry);
      const backend = await selectBackend(registry, o.backend);
      // Say once why a faster backend was passed over (tfjs-node is an optional extra: no noise).
      for (const s of backend.skipped) if (s.name !== 'tensorflow') io.stderr.write(`lth: backend ${s.name} unavailable: ${s.reason}\n`);
      const result = await runExperiment(resolved, {
        outDir: resolve(o.out),
        baseDir: dirname(resolve(file)),
        reporter: io.reporter ?? new ConsoleReporter(io.stderr),
      });
      out(summaryTable(result.summary));
    });

  program
    .command('sweep')
    .description('run an ablation study: every variant of a base config, with controls and replicates (resumes)')
    .argument('<sweep>', 'JSON sweep file: a run config plus "vary", "variants" and "controls"')
    .option('--out <dir>', 'parent directory of sweep directories', 'runs')
    .option('--png', 'also render the report charts as PNG')
    .addOption(backendOption())
    .action(async (file: string, o: { out: string; backend: string; png?: boolean }) => {
      const raw = readConfig(file);
      const { registry } = await discover(io.stderr);
      const { variants, controls } = expandSweep(raw, registry);
      io.stderr.write(`lth: sweep of ${variants.length} variant(s) × ${controls.length + 1} (variant + controls)\n`);
      const backend = await selectBackend(registry, o.backend);
      for (const s of backend.skipped) if (s.name !== 'tensorflow') io.stderr.write(`lth: backend ${s.name} unavailable: ${s.reason}\n`);
      const result = await runSweep(raw, registry, {
        outDir: resolve(o.out),
        baseDir: dirname(resolve(file)),
        reporter: io.reporter ?? new ConsoleReporter(io.stderr),
      });
      out(`sweep: ${result.sweepDir}`);
      for (const [i, run] of result.manifest.runs.entries()) {
        const rows = result.results.find((r) => r.runDir.endsWith(run.dir))?.summary ?? [];
        out(`\n[${i + 1}/${result.manifest.runs.length}] ${run.label}${run.control ? ` / ${run.control}` : ''}`);
        out(summaryTable(rows));
      }
      if (result.complete) {
        const { writeReport } = await import('@lth/report');
        const written = await writeReport(result.sweepDir, { png: o.png });
        for (const w of written.warnings) io.stderr.write(`lth: ${w}\n`);
        out(`\nreport: ${written.html}`);
      }
    });

  program
    .command('report')
    .description('write report.html (charts) for a run or sweep directory, and summary.csv across a sweep, from the files on disk')
    .argument('<dir>', 'a sweep directory (with sweep.json) or a run directory (with config.json)')
    .option('--png', 'also write each chart as report-<chart>.png (2x, for papers)')
    .action(async (dir: string, o: { png?: boolean }) => {
      // Loaded on use: vega and resvg are only needed here.
      const { writeReport } = await import('@lth/report');
      const written = await writeReport(resolve(dir), { png: o.png });
      for (const w of written.warnings) io.stderr.write(`lth: ${w}\n`);
      for (const file of [written.html, ...(written.csv ? [written.csv] : []), ...written.pngs]) out(file);
    });

  program
    .command('validate')
    .description('check a run or sweep config against core and plugin schemas; print the resolved config(s)')
    .argument('<config>', 'JSON config file')
    .action(async (file: string) => {
      const { registry } = await discover(io.stderr);
      const raw = readConfig(file);
      if (isSweep(raw)) {
        const { variants, controls } = expandSweep(raw, registry);
        const runs = variants.map((v) => ({ label: v.label, runDir: runDirName(v.resolved), hash: v.resolved.hash, config: v.resolved.config }));
        out(JSON.stringify({ sweep: true, variants: runs, controls }, null, 2));
        return;
      }
      const resolved = resolveConfig(raw, registry);
      out(JSON.stringify({ runDir: runDirName(resolved), hash: resolved.hash, config: resolved.config }, null, 2));
    });

  program
    .command('models')
    .description('list every model (canonical names) with total and prunable parameter counts, from the shapes')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { registry } = await discover(io.stderr);
      const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
      // Counts come from ModelSpec.shapes: creating a spec allocates no tensors (init does).
      type ModelRow = { name: string; plugin: string; package?: string; inputShape: number[] | null; numClasses: number | null; parameters: number | null; prunable: number | null; prunableLayers: number | null };
      const rows = registry.all('model').flatMap((plugin): ModelRow[] => {
        const factory = plugin as import('@lth/core').ModelFactory;
        const examples = factory.examples ?? [];
        if (!examples.length) return [{ name: factory.meta.name, plugin: factory.meta.name, package: factory.meta.package, inputShape: null, numClasses: null, parameters: null, prunable: null, prunableLayers: null }];
        return examples.map((example) => {
          const { implied } = registry.lookup<import('@lth/core').ModelFactory>('model', example.name);
          const spec = factory.create({ ...factory.defaults, ...implied }, example);
          return {
            name: example.name,
            plugin: factory.meta.name,
            package: factory.meta.package,
            inputShape: example.inputShape,
            numClasses: example.numClasses,
            parameters: spec.weightNames.reduce((n, w) => n + size(spec.shapes[w]!), 0),
            prunable: spec.prunable.reduce((n, w) => n + size(spec.shapes[w]!), 0),
            prunableLayers: new Set(spec.prunable.map((w) => spec.layerOf[w])).size,
          };
        });
      });
      if (o.json) {
        out(JSON.stringify(rows, null, 2));
        return;
      }
      const fmt = (n: number | null) => (n === null ? '-' : n.toLocaleString('en-US'));
      const table: string[][] = [['model', 'input', 'parameters', 'prunable', 'layers', 'plugin'], ...rows.map((r) => [
        r.name, r.inputShape ? `${r.inputShape.join('x')}, ${r.numClasses} classes` : '-', fmt(r.parameters), fmt(r.prunable), fmt(r.prunableLayers), `${r.plugin} (${r.package ?? 'core'})`,
      ])];
      const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
      for (const row of table) out(row.map((cell, c) => (c >= 2 && c <= 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
      out('parameters: trainable weights (kernels, biases, batch-norm scale and shift); prunable: Dense and Conv2D kernels.');
    });

  program
    .command('plugins')
    .description('list discovered plugins by kind, with package and version')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { registry } = await discover(io.stderr);
      const rows = PLUGIN_KINDS.flatMap((kind) =>
        registry.all(kind).map((p) => ({ kind, name: p.meta.name, package: p.meta.package, version: p.meta.version, description: p.meta.description ?? '' })),
      );
      if (o.json) {
        out(JSON.stringify(rows, null, 2));
        return;
      }
      for (const kind of PLUGIN_KINDS) {
        const ofKind = rows.filter((r) => r.kind === kind).sort((a, b) => a.name.localeCompare(b.name));
        if (!ofKind.length) continue;
        out(`${kind}:`);
        for (const r of ofKind) out(`  ${r.name.padEnd(16)} ${`${r.package}@${r.version}`.padEnd(34)} ${r.description}`);
      }
    });

  program
    .command('reference')
    .description('print the config reference (Markdown) for the installed plugins')
    .action(async () => {
      const { registry } = await discover(io.stderr);
      io.stdout.write(configReference(registry));
    });

  program
    .command('schema')
    .description('print a JSON Schema of run configs with the installed plugins (for "$schema" editor completion)')
    .action(async () => {
      const { registry } = await discover(io.stderr);
      out(JSON.stringify(configJsonSchema(registry), null, 2));
    });

  program
    .command('init')
    .description('write an example config (LeNet-300-100 on MNIST)')
    .argument('[file]', 'where to write it', 'lth.json')
    .option('--force', 'overwrite an existing file')
    .action(async (file: string, o: { force?: boolean }) => {
      if (existsSync(file) && !o.force) throw new UserError(`${file} exists; pass --force to overwrite it`, '[file]');
      // The schema beside the config gives editors completion and inline errors.
      const { registry } = await discover(io.stderr);
      const schemaFile = join(dirname(file), 'lth.schema.json');
      writeFileSync(schemaFile, `${JSON.stringify(configJsonSchema(registry), null, 2)}\n`);
      writeFileSync(file, `${JSON.stringify({ $schema: './lth.schema.json', ...exampleConfig }, null, 2)}\n`);
      out(`wrote ${file} (and ${schemaFile} for editor completion); run it with: lth run ${file}`);
    });

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UserError) {
      io.stderr.write(`lth: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`lth: internal error: ${(error as Error).stack ?? error}\n`);
    return 1;
  }
}
