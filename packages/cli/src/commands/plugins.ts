import { type BackendProvider, PLUGIN_KINDS, type PluginRegistry } from '@lth/core';
import type { AddCommand } from '../context.js';

/** The distribution's fast backend: an optional dependency of @lth/cli (it compiles at install). */
const NATIVE_PACKAGE = '@lth/backend-native';
const NATIVE_NOT_INSTALLED =
  `${NATIVE_PACKAGE} is not installed: npm install ${NATIVE_PACKAGE} (it compiles at install: needs g++, make, python3 and ` +
  'libopenblas-dev; libdnnl-dev for fast convolutions)';

/** Each backend, in the order `--backend auto` tries them, whether it can run here, and why not. */
export async function backendStatus(registry: PluginRegistry): Promise<{ name: string; available: boolean; reason?: string; auto: boolean }[]> {
  const providers = (registry.all('backend') as BackendProvider[]).sort((a, b) => b.priority - a.priority);
  let chosen = false;
  const rows = [];
  for (const p of providers) {
    const status = await p.available();
    const auto = status.ok && !chosen;
    chosen ||= status.ok;
    rows.push({ name: p.meta.name, available: status.ok, ...(status.ok ? {} : { reason: status.reason }), auto });
  }
  return rows;
}

/**
 * The backends section of `lth plugins`: each backend, whether it can run here and why not, the
 * one `--backend auto` uses marked; the native backend named with how to install it when its
 * package is not there at all.
 */
export function backendLines(backends: { name: string; available: boolean; reason?: string; auto: boolean }[]): string[] {
  const status = backends.map((b) => [b.name, b.available ? `available${b.auto ? ' (--backend auto uses this one)' : ''}` : `unavailable: ${b.reason}`]);
  if (!backends.some((b) => b.name === 'native')) {
    const wasm = status.findIndex((s) => s[0] === 'wasm');
    status.splice(wasm < 0 ? status.length : wasm, 0, ['native', `unavailable: ${NATIVE_NOT_INSTALLED}`]);
  }
  return ['backends, in the order --backend auto tries them:', ...columns(status)];
}

/** Left-aligned columns as wide as their widest cell; the last column is not padded. */
function columns(rows: string[][], indent = '  '): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]!.length))) ?? [];
  return rows.map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

/** `lth plugins`: every discovered plugin by kind, and which backend `--backend auto` will use. */
export const addPluginsCommand: AddCommand = (program, ctx) => {
  program
    .command('plugins')
    .description('list discovered plugins by kind, with package and version, and the backends that can run here')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { registry } = await ctx.discover();
      const backends = new Map((await backendStatus(registry)).map((b) => [b.name, b]));
      const rows = PLUGIN_KINDS.flatMap((kind) =>
        registry.all(kind).map((p) => {
          const row = { kind, name: p.meta.name, package: p.meta.package, version: p.meta.version, description: p.meta.description ?? '' };
          const backend = kind === 'backend' ? backends.get(p.meta.name) : undefined;
          return backend ? { ...row, available: backend.available, ...(backend.reason ? { reason: backend.reason } : {}), auto: backend.auto } : row;
        }),
      );
      if (o.json) {
        ctx.out(JSON.stringify(rows, null, 2));
        return;
      }
      // One table for every kind, so names and packages line up however long they are.
      const table: string[][] = [];
      const kindOfRow: string[] = [];
      for (const kind of PLUGIN_KINDS) {
        for (const r of rows.filter((r) => r.kind === kind).sort((a, b) => a.name.localeCompare(b.name))) {
          table.push([r.name, `${r.package}@${r.version}`, r.description]);
          kindOfRow.push(kind);
        }
      }
      const lines = columns(table);
      lines.forEach((line, i) => {
        if (kindOfRow[i] !== kindOfRow[i - 1]) ctx.out(`${kindOfRow[i]}:`);
        ctx.out(line);
      });

      ctx.out('');
      for (const line of backendLines([...backends.values()])) ctx.out(line);
    });
};
