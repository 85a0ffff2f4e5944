import { PLUGIN_KINDS } from '@lth/core';
import type { AddCommand } from '../context.js';

/** `lth plugins`: every discovered plugin by kind. */
export const addPluginsCommand: AddCommand = (program, ctx) => {
  program
    .command('plugins')
    .description('list discovered plugins by kind, with package and version')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { registry } = await ctx.discover();
      const rows = PLUGIN_KINDS.flatMap((kind) =>
        registry.all(kind).map((p) => ({ kind, name: p.meta.name, package: p.meta.package, version: p.meta.version, description: p.meta.description ?? '' })),
      );
      if (o.json) {
        ctx.out(JSON.stringify(rows, null, 2));
        return;
      }
      for (const kind of PLUGIN_KINDS) {
        const ofKind = rows.filter((r) => r.kind === kind).sort((a, b) => a.name.localeCompare(b.name));
        if (!ofKind.length) continue;
        ctx.out(`${kind}:`);
        for (const r of ofKind) ctx.out(`  ${r.name.padEnd(16)} ${`${r.package}@${r.version}`.padEnd(34)} ${r.description}`);
      }
    });
};
