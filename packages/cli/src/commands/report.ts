import { resolve } from 'node:path';
import type { AddCommand } from '../context.js';

/** `lth report <dir>`: charts and CSV for a run or sweep, from the files on disk. */
export const addReportCommand: AddCommand = (program, ctx) => {
  program
    .command('report')
    .description('write report.html (charts) for a run or sweep directory, and summary.csv across a sweep, from the files on disk')
    .argument('<dir>', 'a sweep directory (with sweep.json) or a run directory (with config.json)')
    .option('--png', 'also write each chart as report-<chart>.png (2x, for papers)')
    .action(async (dir: string, o: { png?: boolean }) => {
      // Loaded on use: vega and resvg are only needed here.
      const { writeReport } = await import('@lth/report');
      const written = await writeReport(resolve(dir), { png: o.png });
      for (const w of written.warnings) ctx.io.stderr.write(`lth: ${w}\n`);
      for (const file of [written.html, ...(written.csv ? [written.csv] : []), ...written.pngs]) ctx.out(file);
    });
};
