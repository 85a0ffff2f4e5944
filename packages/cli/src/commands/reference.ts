import type { AddCommand } from '../context.js';
import { configReference } from '../reference.js';

/** `lth reference`: the config reference (Markdown) for the installed plugins. */
export const addReferenceCommand: AddCommand = (program, ctx) => {
  program
    .command('reference')
    .description('print the config reference (Markdown) for the installed plugins')
    .action(async () => {
      const { registry } = await ctx.discover();
      ctx.io.stdout.write(configReference(registry));
    });
};
