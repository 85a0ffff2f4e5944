import type { AddCommand } from '../context.js';
import { configJsonSchema } from '../schema.js';

/** `lth schema`: a JSON Schema of run configs with the installed plugins. */
export const addSchemaCommand: AddCommand = (program, ctx) => {
  program
    .command('schema')
    .description('print a JSON Schema of run configs with the installed plugins (for "$schema" editor completion)')
    .action(async () => {
      const { registry } = await ctx.discover();
      ctx.out(JSON.stringify(configJsonSchema(registry), null, 2));
    });
};
