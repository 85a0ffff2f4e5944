import type { AddCommand } from '../context.js';
import { wholeNumberOption } from '../options.js';
import { checkReachable } from '../queue/redis.js';
import { startWorker } from '../queue/worker.js';

/** `lth worker <redis-url>`: trains queued runs of any sweep (`lth sweep --queue`) until stopped. */
export const addWorkerCommand: AddCommand = (program, ctx) => {
  program
    .command('worker')
    .description('train runs queued by `lth sweep --queue` (start any number, on machines that share the sweep directory); Ctrl-C stops it')
    .argument('<redis-url>', 'the queue: redis://host:port[/db]')
    .option('--concurrency <n>', 'runs trained at once, each in a process of its own', wholeNumberOption('--concurrency', 1), 1)
    .option('--lease <seconds>', 'how long a run stays claimed without a sign of life: a killed worker\'s run is taken over this long after', wholeNumberOption('--lease', 2), 30)
    .addOption(ctx.backendOption())
    .action(async (url: string, o: { concurrency: number; lease: number; backend: string }) => {
      await checkReachable(url); // before plugins load: a wrong URL fails in a few seconds
      const { registry } = await ctx.discover();
      await ctx.selectBackend(registry, o.backend);
      const worker = await startWorker({
        url,
        concurrency: o.concurrency,
        leaseSeconds: o.lease,
        backend: o.backend,
        registry,
        log: (line) => ctx.io.stderr.write(`lth worker: ${line}\n`),
      });
      await new Promise<void>((stopped) => {
        const stop = (signal: NodeJS.Signals) => {
          ctx.io.stderr.write(`lth worker: ${signal}: stopping; runs in progress resume on another worker (or this one, restarted)\n`);
          void worker.close(true).finally(() => {
            process.exitCode = signal === 'SIGINT' ? 130 : 143;
            stopped();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
};
