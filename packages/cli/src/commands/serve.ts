import { resolve } from 'node:path';
import { UserError } from '@lth/core';
import type { AddCommand } from '../context.js';

/** `lth serve [dir]`: a local, read-only web dashboard over a runs directory, until Ctrl-C. */
export const addServeCommand: AddCommand = (program, ctx) => {
  program
    .command('serve')
    .description('a local web dashboard over a runs directory: runs and sweeps, live learning curves, interactive charts (read-only)')
    .argument('[dir]', 'the runs directory (what lth run / lth sweep --out wrote)', 'runs')
    .option('--port <n>', 'the port to listen on (0 picks a free one)', '8080')
    .option('--host <address>', 'the address to listen on; anything but loopback exposes your runs to the network', '127.0.0.1')
    .action(async (dir: string, o: { port: string; host: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port ${o.port}: give a port number from 0 to 65535`, '--port');
      // Loaded on use: fastify and vega are only needed here.
      const { startDashboard } = await import('@lth/dashboard');
      const dashboard = await startDashboard({ root: resolve(dir), port, host: o.host });
      ctx.out(`lth serve: ${dashboard.url} (runs directory ${resolve(dir)}); Ctrl-C to stop`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          done();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await dashboard.close();
    });
};
