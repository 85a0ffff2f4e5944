/**
 * The dashboard's server without a browser: the API over run stores written through core's
 * RunStore, the live stream, path traversal, a port in use, and that it never writes.
 */
import { appendFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '@lth/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog, RunEntry, RunView, SweepEntry } from './catalog.js';
import { dashboardApp, startDashboard } from './server.js';
import { evalRecord, writeRun, writeSweep } from './test-utils/fixtures.js';

let base: string;
let root: string;
let app: FastifyInstance;

/** Every path under `dir` with its size and modification time: what "never writes" compares. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = lstatSync(p);
      out.push(`${p} ${s.size} ${s.mtimeMs}`);
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const get = async <T>(url: string) => {
  const res = await app.inject({ method: 'GET', url, headers: { host: '127.0.0.1' } });
  return { status: res.statusCode, body: res.headers['content-type']?.startsWith('application/json') ? (res.json() as T) : (res.body as unknown as T), type: res.headers['content-type'] };
};

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'lth-dashboard-'));
  root = join(base, 'runs');
  mkdirSync(root);
  writeRun(join(root, 'done-aaaaaaaaaaaa'), { name: 'done', levels: 3, complete: true });
  writeRun(join(root, 'killed-bbbbbbbbbbbb'), { name: 'killed', levels: 1, partial: 2 });
  writeSweep(join(root, 'sw-cccccccccccc'), 'sw', [
    { label: 'masker=global', id: '111111111111', levels: 2, complete: true },
    { label: 'masker=layerwise', id: '222222222222', levels: 2, complete: true },
  ]);
  // A corrupt line in the middle of a level's metrics: the rest of the run still shows.
  const damaged = writeRun(join(root, 'damaged-dddddddddddd'), { name: 'damaged', levels: 2, complete: true });
  const metrics = damaged.replicate(0).level(1).metricsFile;
  writeFileSync(metrics, `${JSON.stringify(evalRecord(1, 0))}\n{"iteration": 10, "trainLo\n${JSON.stringify(evalRecord(1, 20))}\n`);
  // A secret beside the runs directory, and a link from inside it pointing there.
  writeFileSync(join(base, 'secret.txt'), 'not yours');
  symlinkSync(join(base, 'secret.txt'), join(root, 'done-aaaaaaaaaaaa', 'link.txt'));
  app = dashboardApp({ root, pollMs: 50 });
});

afterAll(async () => {
  await app.close();
  rmSync(base, { recursive: true, force: true });
});

describe('dashboard API', () => {
  it('lists runs and sweeps with their status (complete, interrupted, running) and a sweep’s runs under it', async () => {
    const { body } = await get<Catalog>('/api/runs');
    const byId = new Map(body.entries.map((e) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual(['damaged-dddddddddddd', 'done-aaaaaaaaaaaa', 'killed-bbbbbbbbbbbb', 'sw-cccccccccccc']);
    const done = byId.get('done-aaaaaaaaaaaa') as RunEntry;
    expect(done).toMatchObject({ kind: 'run', name: 'done', status: 'complete', levelsComplete: 3, levelsStarted: 3, sparsest: 0.25 });
    expect(byId.get('killed-bbbbbbbbbbbb')).toMatchObject({ status: 'interrupted', levelsComplete: 1, levelsStarted: 2 });
    const sweep = byId.get('sw-cccccccccccc') as SweepEntry;
    expect(sweep.status).toBe('complete');
    expect(sweep.runs.map((r) => [r.label, r.id, r.status])).toEqual([
      ['masker=global', 'sw-cccccccccccc/runs/sw-111111111111', 'complete'],
      ['masker=layerwise', 'sw-cccccccccccc/runs/sw-222222222222', 'complete'],
    ]);
    // A run that trains holds its lock (here: this live process).
    const lock = join(root, 'killed-bbbbbbbbbbbb', '.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    try {
      const again = await get<Catalog>('/api/runs');
      expect(again.body.entries.find((e) => e.id === 'killed-bbbbbbbbbbbb')?.status).toBe('running');
    } finally {
      rmSync(lock);
    }
  });

  it('shows a run’s levels and results, and names a corrupt metrics.jsonl line while the rest still renders', async () => {
    const { status, body } = await get<RunView>('/api/run?id=damaged-dddddddddddd');
    expect(status).toBe(200);
    expect(body.levels.map((l) => [l.level, l.complete, l.evaluations])).toEqual([
      [0, true, 5],
      [1, true, 2],
    ]);
    expect(body.warnings).toEqual(['damaged-dddddddddddd/replicate-0/level-1/metrics.jsonl: line 2 is not an evaluation record (damaged); it is left out of the curves']);
    // The report's charts still come out of the damaged run.
    const charts = await get<{ charts: { id: string }[] }>('/api/charts?id=damaged-dddddddddddd');
    expect(charts.status).toBe(200);
    expect(charts.body.charts.map((c) => c.id)).toEqual(expect.arrayContaining(['accuracy-early-stop', 'learning-curves']));
  });

  it('draws the charts of a sweep, and of runs picked for comparison, each series named by its run', async () => {
    const sweep = await get<{ charts: { id: string; spec: object }[] }>('/api/charts?id=sw-cccccccccccc');
    expect(sweep.status).toBe(200);
    const spec = JSON.stringify(sweep.body.charts.find((c) => c.id === 'accuracy-early-stop')!.spec);
    expect(spec).toContain('"series":"masker=global"');
    expect(spec).toContain('"bind":"legend"');
    const compare = await get<{ name: string; charts: { id: string; spec: object }[] }>('/api/charts?id=done-aaaaaaaaaaaa&id=killed-bbbbbbbbbbbb');
    expect(compare.status).toBe(200);
    const both = JSON.stringify(compare.body.charts.find((c) => c.id === 'accuracy-early-stop')!.spec);
    expect(both).toContain('"series":"done-aaaaaaaaaaaa: done"');
    expect(both).toContain('"series":"killed-bbbbbbbbbbbb: killed"');
    expect((await get('/api/charts?id=nothing')).status).toBe(404);
  });

  it('serves the app and the vega builds from the installed packages (no network)', async () => {
    const page = await get<string>('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="/vendor/vega-embed.js"></script>');
    expect(page.body).not.toMatch(/(src|href)="https?:/);
    for (const name of ['vega', 'vega-lite', 'vega-embed', 'embed']) {
      const js = await get<string>(`/vendor/${name}.js`);
      expect(js.status, name).toBe(200);
      expect(js.type).toMatch(/javascript/);
    }
    expect((await get<string>('/vendor/vega.js')).body.length).toBeGreaterThan(100_000);
  });

  it('serves files of the runs directory, and nothing outside it (.., encoded or raw, links out, dot files)', async () => {
    const config = await get<{ name: string }>('/files/done-aaaaaaaaaaaa/config.json');
    expect(config.status).toBe(200);
    expect(config.body.name).toBe('done');
    for (const url of [
      '/files/..%2f..%2fetc/passwd',
      '/files/..%2Fsecret.txt',
      '/files/%2e%2e/secret.txt',
      '/files/done-aaaaaaaaaaaa/..%2f..%2fsecret.txt',
      '/files/%2Fetc%2Fpasswd',
      '/files/done-aaaaaaaaaaaa/link.txt',
      '/files/done-aaaaaaaaaaaa/.lock',
      '/files/done-aaaaaaaaaaaa/replicate-0',
      '/api/run?id=..%2F..',
      '/api/run?id=%2Fetc',
    ]) {
      const res = await get<string>(url);
      expect([400, 403, 404], url).toContain(res.status);
      expect(String(JSON.stringify(res.body))).not.toContain('not yours');
    }
  });

  it('refuses requests for another host name (DNS rebinding)', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/runs', headers: { host: 'attacker.example:8080' } });
    expect(res.statusCode).toBe(403);
  });
});

describe('a listening dashboard', () => {
  let server: Awaited<ReturnType<typeof startDashboard>>;
  beforeAll(async () => {
    server = await startDashboard({ root, port: 0, pollMs: 50 });
  });
  afterAll(() => server.close());

  /** A raw GET (node's http does not normalise `..` in the path). */
  const raw = (path: string) =>
    new Promise<{ status: number; body: string }>((done, fail) => {
      const req = request({ host: '127.0.0.1', port: server.port, path }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', fail);
      req.end();
    });

  it('listens on 127.0.0.1 and refuses raw ../ paths', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    for (const path of ['/files/../../etc/passwd', '/files/../secret.txt', '/files/done-aaaaaaaaaaaa/../../secret.txt', '/files/..%2f..%2fetc/passwd']) {
      const res = await raw(path);
      expect([400, 404], path).toContain(res.status);
      expect(res.body).not.toContain('not yours');
      expect(res.body).not.toContain('root:');
    }
  });

  it('streams a level’s evaluations as they are appended, warns about a damaged line, and reports the status', async () => {
    const dir = join(root, 'live-eeeeeeeeeeee');
    const store = writeRun(dir, { name: 'live', levels: 1, partial: 1 });
    const level = store.replicate(0).level(1);
    const events: { event: string; data: { level?: number; records?: { iteration: number }[]; message?: string; status?: string } }[] = [];
    const controller = new AbortController();
    const response = await fetch(`${server.url}api/stream?id=live-eeeeeeeeeeee&replicate=0`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    let buffer = '';
    const until = async (check: () => boolean) => {
      while (!check()) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += new TextDecoder().decode(value);
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          events.push({ event: /^event: (.*)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) });
        }
      }
    };
    const iterations = (L: number) => events.filter((e) => e.event === 'metrics' && e.data.level === L).flatMap((e) => e.data.records!.map((r) => r.iteration));
    await until(() => iterations(1).length === 1 && events.some((e) => e.event === 'status'));
    expect(iterations(0)).toEqual([0, 10, 20, 30, 40]);
    expect(events.find((e) => e.event === 'status')!.data.status).toBe('interrupted');
    level.appendMetrics(evalRecord(1, 10));
    await until(() => iterations(1).length === 2);
    // A half-written line is not sent until its newline arrives; a damaged one is named once.
    appendFileSync(level.metricsFile, '{"iteration": 20,');
    appendFileSync(level.metricsFile, ' garbage\n');
    level.appendMetrics(evalRecord(1, 30));
    await until(() => iterations(1).length === 3);
    expect(iterations(1)).toEqual([0, 10, 30]);
    await until(() => events.some((e) => e.event === 'warning'));
    expect(events.filter((e) => e.event === 'warning').map((e) => e.data.message)).toEqual([
      'live-eeeeeeeeeeee/replicate-0/level-1/metrics.jsonl: line 3 is not an evaluation record (damaged); it is left out of the curves',
    ]);
    controller.abort();
  });

  it('shows an empty runs directory as an empty list, and a missing one is the user’s error', async () => {
    const empty = mkdtempSync(join(base, 'empty-'));
    const other = await startDashboard({ root: empty, port: 0 });
    try {
      const res = await fetch(`${other.url}api/runs`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ root: empty, entries: [], warnings: [] });
    } finally {
      await other.close();
    }
    await expect(startDashboard({ root: join(base, 'no-such-dir') })).rejects.toThrow(/runs directory .*no-such-dir does not exist/);
  });

  it('given a run directory itself, shows that run', async () => {
    const one = dashboardApp({ root: join(root, 'done-aaaaaaaaaaaa') });
    try {
      const list = (await one.inject({ url: '/api/runs', headers: { host: 'localhost' } })).json() as Catalog;
      expect(list.entries.map((e) => [e.id, e.name, e.status])).toEqual([['', 'done', 'complete']]);
      const run = (await one.inject({ url: '/api/run?id=', headers: { host: 'localhost' } })).json() as RunView;
      expect(run.levels).toHaveLength(3);
    } finally {
      await one.close();
    }
  });

  it('a port in use is a UserError naming the port', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const port = (blocker.address() as { port: number }).port;
    try {
      const error = await startDashboard({ root, port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toMatch(new RegExp(`^port ${port} on 127\\.0\\.0\\.1 is in use`));
      expect((error as UserError).field).toBe('--port');
    } finally {
      blocker.close();
    }
  });
});

describe('read-only', () => {
  it('writes nothing into the runs directory, whatever it is asked', async () => {
    const before = snapshot(root);
    const fresh = dashboardApp({ root, pollMs: 20 });
    const urls = ['/', '/api/runs', '/api/run?id=done-aaaaaaaaaaaa', '/api/run?id=damaged-dddddddddddd', '/api/charts?id=sw-cccccccccccc', '/api/charts?id=done-aaaaaaaaaaaa&id=damaged-dddddddddddd', '/files/done-aaaaaaaaaaaa/config.json', '/api/curves-spec'];
    for (const url of urls) expect((await fresh.inject({ method: 'GET', url, headers: { host: 'localhost' } })).statusCode, url).toBe(200);
    await fresh.close();
    expect(snapshot(root)).toEqual(before);
  });
});
