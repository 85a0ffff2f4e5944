import type { ModelFactory } from '@lth/core';
import type { AddCommand } from '../context.js';

type ModelRow = {
  name: string;
  plugin: string;
  package?: string;
  inputShape: number[] | null;
  numClasses: number | null;
  parameters: number | null;
  prunable: number | null;
  prunableLayers: number | null;
};

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** `lth models`: every model with its parameter counts. */
export const addModelsCommand: AddCommand = (program, ctx) => {
  program
    .command('models')
    .description('list every model (canonical names) with total and prunable parameter counts, from the shapes')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { registry } = await ctx.discover();
      // Counts come from ModelSpec.shapes: creating a spec allocates no tensors (init does).
      const rows = registry.all('model').flatMap((plugin): ModelRow[] => {
        const factory = plugin as ModelFactory;
        const examples = factory.examples ?? [];
        if (!examples.length) return [{ name: factory.meta.name, plugin: factory.meta.name, package: factory.meta.package, inputShape: null, numClasses: null, parameters: null, prunable: null, prunableLayers: null }];
        return examples.map((example) => {
          const { implied } = registry.lookup<ModelFactory>('model', example.name);
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
        ctx.out(JSON.stringify(rows, null, 2));
        return;
      }
      const fmt = (n: number | null) => (n === null ? '-' : n.toLocaleString('en-US'));
      const table: string[][] = [['model', 'input', 'parameters', 'prunable', 'layers', 'plugin'], ...rows.map((r) => [
        r.name, r.inputShape ? `${r.inputShape.join('x')}, ${r.numClasses} classes` : '-', fmt(r.parameters), fmt(r.prunable), fmt(r.prunableLayers), `${r.plugin} (${r.package ?? 'core'})`,
      ])];
      const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
      for (const row of table) ctx.out(row.map((cell, c) => (c >= 2 && c <= 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
      ctx.out('parameters: trainable weights (kernels, biases, batch-norm scale and shift); prunable: Dense and Conv2D kernels.');
    });
};
