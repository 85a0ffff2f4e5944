import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '@lth/core';
import type { AddCommand } from '../context.js';
import { exampleConfig } from '../example-config.js';
import { configJsonSchema } from '../schema.js';

/** `lth init [file]`: an example config, with a JSON Schema beside it. */
export const addInitCommand: AddCommand = (program, ctx) => {
  program
    .command('init')
    .description('write an example config (LeNet-300-100 on MNIST)')
    .argument('[file]', 'where to write it', 'lth.json')
    .option('--force', 'overwrite an existing file')
    .action(async (file: string, o: { force?: boolean }) => {
      if (existsSync(file) && statSync(file).isDirectory()) {
        throw new UserError(`${file} is a directory; name the config file to write, e.g. lth init ${join(file, 'lth.json')}`, '[file]');
      }
      if (existsSync(file) && !o.force) throw new UserError(`${file} exists; pass --force to overwrite it`, '[file]');
      // The schema beside the config gives editors completion and inline errors.
      const { registry } = await ctx.discover();
      const dir = dirname(file);
      try {
        mkdirSync(dir, { recursive: true });
      } catch (error) {
        throw new UserError(`cannot create the folder ${dir} for ${file}: ${(error as Error).message}; choose another path`, '[file]');
      }
      const schemaFile = join(dir, 'lth.schema.json');
      writeFileSync(schemaFile, `${JSON.stringify(configJsonSchema(registry), null, 2)}\n`);
      writeFileSync(file, `${JSON.stringify({ $schema: './lth.schema.json', ...exampleConfig }, null, 2)}\n`);
      ctx.out(`wrote ${file} (and ${schemaFile} for editor completion); run it with: lth run ${file}`);
    });
};
