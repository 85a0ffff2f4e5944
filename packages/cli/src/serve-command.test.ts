/**
 * `lth serve` in-process: the user's errors (exit 2, naming what is wrong). Serving itself is
 * tested with the binary in a real browser (test/dashboard-browser.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

let dir: string;
let blocker: Server;
let port: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lth-serve-cli-'));
  blocker = createServer();
  await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
  port = (blocker.address() as { port: number }).port;
});
afterAll(() => {
  blocker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lth serve', () => {
  it('exits 2 naming the port when it is in use', async () => {
    const result = await lth('serve', dir, '--port', String(port));
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`lth: port ${port} on 127.0.0.1 is in use: stop what holds it, or pick another with --port <n> (0 picks a free one)\n`);
    expect(result.stdout).toBe('');
  });

  it('exits 2 for a runs directory that does not exist, and for a port that is not one', async () => {
    const missing = await lth('serve', join(dir, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/runs directory .*nope does not exist/);
    const bad = await lth('serve', dir, '--port', '70000');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--port 70000: give a port number from 0 to 65535/);
  });
});
