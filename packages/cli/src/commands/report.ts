import { resolve } from 'node:path';
import type { AddCommand } from '../context.js';

/** `lth report <dir> [<dir> ... --out file]`: charts and CSV for runs and sweeps, from the files on disk. */
export const addReportCommand: AddCommand = (program, ctx) => {
  program
    .command('report')
    .description('write report.html (charts) for a run or sweep directory, and summary.csv across a sweep, from the files on disk')
    .argument('<dir...>', 'sweep directories (with sweep.json) or run directories (with config.json); several share one report')
    .option('--png', 'also write each chart as report-<chart>.png (2x, for papers)')
    .option('--out <file>', 'the HTML file to write (needed for several directories; default <dir>/report.html)')
    .action(async (dirs: string[], o: { png?: boolean; out?: string }) => {
      // Loaded on use: vega and resvg are only needed here.
      const { writeReport } = await import('@lth/report');
      const written = await writeReport(dirs.map((d) => resolve(d)), { png: o.png, out: o.out });
      for (const w of written.warnings) ctx.io.stderr.write(`lth: ${w}\n`);
      for (const file of [written.html, ...(written.csv ? [written.csv] : []), ...written.pngs]) ctx.out(file);
    });
};
