/**
 * The dashboard's HTTP server (fastify): the client app, the vega builds it runs on (from the
 * installed packages, so it works offline), a JSON API over the run store, live evaluations as
 * server-sent events, and the files of the runs directory. It only reads.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunStatus, runStatus, UserError } from '@lth/core';
import { allCharts, EMBED_SCRIPT, levelCurvesChart, loadReportDataMany, reportKind, VEGA_PACKAGES, vegaBrowserBuild } from '@lth/report';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { corruptWarning, levelMetrics, readCatalog, readRun, resolveInside } from './catalog.js';

export interface DashboardOptions {
  /** The runs directory. */
  root: string;
  /** Default 127.0.0.1: only this machine can connect. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** How often live streams look for new evaluations (ms). */
  pollMs?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

const STATIC = fileURLToPath(new URL('../static/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const ids = (q: unknown): string[] => (Array.isArray(q) ? q : q === undefined ? [] : [q]).map(String);

/** A run directory named by a request, or null (404) for anything else. */
function runDirOf(root: string, id: string): string | null {
  const dir = resolveInside(root, id);
  return dir && reportKind(dir) === 'run' ? dir : null;
}

/**
 * Streams one replicate's evaluations as they are appended: every record once (`metrics`; a level
 * whose file shrank, because it restarted, is sent afresh with `reset`), damaged lines as
 * `warning`, and the run's `status` when it changes.
 */
function stream(root: string, dir: string, replicate: number, pollMs: number, res: ServerResponse): () => void {
  const seen = new Map<number, { size: number; count: number; corrupt: Set<number> }>();
  let status: RunStatus | undefined;
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const tick = () => {
    for (const level of levelMetrics(dir, replicate)) {
      const size = existsSync(level.file) ? statSync(level.file).size : 0;
      const before = seen.get(level.level) ?? { size: -1, count: 0, corrupt: new Set<number>() };
      if (size === before.size) continue;
      const { records, corrupt } = level.read();
      const reset = records.length < before.count;
      if (reset || records.length > before.count) send('metrics', { replicate, level: level.level, reset, records: reset ? records : records.slice(before.count) });
      for (const c of corrupt) if (!before.corrupt.has(c.line)) send('warning', { message: corruptWarning(root, level.file, c.line) });
      seen.set(level.level, { size, count: records.length, corrupt: new Set(corrupt.map((c) => c.line)) });
    }
    const now = runStatus(dir);
    if (now !== status) send('status', { status: (status = now) });
  };
  tick();
  const timer = setInterval(() => {
    try {
      tick();
    } catch (error) {
      send('warning', { message: (error as Error).message });
    }
  }, pollMs);
  return () => clearInterval(timer);
}

function sendFile(reply: FastifyReply, file: string) {
  return reply.type(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream').send(readFileSync(file));
}

/** The client page, its script and style, and the vega builds it runs on. */
function clientRoutes(app: FastifyInstance): void {
  app.get('/', (_req, reply) => sendFile(reply, resolve(STATIC, 'index.html')));
  for (const name of ['app.js', 'style.css']) app.get(`/${name}`, (_req, reply) => sendFile(reply, resolve(STATIC, name)));
  for (const name of VEGA_PACKAGES) app.get(`/vendor/${name}.js`, (_req, reply) => sendFile(reply, vegaBrowserBuild(name)));
  app.get('/vendor/embed.js', (_req, reply) => reply.type(TYPES['.js']!).send(EMBED_SCRIPT));
}

/** The JSON API: the list, a run, the charts of runs and sweeps, the live curves' spec. */
function apiRoutes(app: FastifyInstance, root: string): void {
  app.get('/api/runs', async () => readCatalog(root));

  app.get<{ Querystring: { id?: string } }>('/api/run', async (req, reply) => {
    const dir = runDirOf(root, String(req.query.id ?? ''));
    if (!dir) return reply.code(404).send({ error: `no run ${req.query.id ?? '(no id)'} in ${root}` });
    return readRun(root, dir);
  });

  // The live curves' spec, without data: the stream fills it.
  app.get('/api/curves-spec', async () => levelCurvesChart([], { title: 'Learning curves (live)', width: 300 }).spec);

  app.get<{ Querystring: { id?: string | string[] } }>('/api/charts', async (req, reply) => {
    const dirs = ids(req.query.id).map((id) => resolveInside(root, id));
    if (!dirs.length || dirs.some((d) => !d || reportKind(d) === null)) return reply.code(404).send({ error: 'name runs or sweeps of the runs directory: ?id=<id>&id=<id>' });
    try {
      const data = loadReportDataMany(dirs as string[]);
      return { name: data.name, charts: allCharts(data), incomplete: data.incomplete.length, failed: data.failed };
    } catch (error) {
      return reply.code(422).send({ error: (error as Error).message });
    }
  });
}

/** `/api/stream`: a replicate's evaluations as server-sent events; open streams end when the app closes. */
function streamRoute(app: FastifyInstance, root: string, pollMs: number): void {
  const open = new Set<() => void>();
  app.get<{ Querystring: { id?: string; replicate?: string } }>('/api/stream', (req, reply) => {
    const dir = runDirOf(root, String(req.query.id ?? ''));
    const replicate = Number(req.query.replicate ?? 0);
    if (!dir || !Number.isInteger(replicate) || replicate < 0) return reply.code(404).send({ error: `no run ${req.query.id ?? '(no id)'} in ${root}` });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const stop = stream(root, dir, replicate, pollMs, reply.raw);
    const end = () => {
      stop();
      open.delete(end);
      reply.raw.end();
    };
    open.add(end);
    req.raw.on('close', end);
  });
  app.addHook('onClose', async () => {
    for (const end of [...open]) end();
  });
}

/** Builds the app (without listening): for `startDashboard` and for tests that inject requests. */
export function dashboardApp(options: Required<Pick<DashboardOptions, 'root'>> & DashboardOptions): FastifyInstance {
  const root = resolve(options.root);
  const app = Fastify({ logger: false });
  // A page elsewhere that resolves its own name to 127.0.0.1 (DNS rebinding) sends its own Host: refused.
  app.addHook('onRequest', async (req, reply) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (LOOPBACK.has(options.host ?? '127.0.0.1') && !LOOPBACK.has(host)) await reply.code(403).send({ error: `host ${host} is not this machine` });
  });
  clientRoutes(app);
  apiRoutes(app, root);
  streamRoute(app, root, options.pollMs ?? 500);
  // Files of the runs directory only: ids that leave it (.., absolute, links out) are refused.
  app.get<{ Params: { '*': string } }>('/files/*', (req, reply) => {
    const file = resolveInside(root, req.params['*']);
    if (!file || !statSync(file).isFile()) return reply.code(404).send({ error: 'not a file of the runs directory' });
    return sendFile(reply, file);
  });
  return app;
}

/** Starts the dashboard over `root`; a port in use is the user's error, naming it. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const root = resolve(options.root);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new UserError(`runs directory ${options.root} does not exist: give the directory that lth run --out wrote (default ./runs)`, '[dir]');
  }
  const host = options.host ?? '127.0.0.1';
  const app = dashboardApp({ ...options, root, host });
  try {
    await app.listen({ host, port: options.port ?? 0 });
  } catch (error) {
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`port ${options.port} on ${host} is in use: stop what holds it, or pick another with --port <n> (0 picks a free one)`, '--port');
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`cannot listen on ${host}: it is not an address of this machine (--host)`, '--host');
    if (code === 'EACCES') throw new UserError(`port ${options.port} needs privileges: pick one above 1023 with --port <n>`, '--port');
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : Number(options.port);
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${port}/`, port, close: () => app.close() };
}
