import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A loopback port nobody listens on now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/**
 * A real `redis-server` (Debian's package) of its own for a test: a free loopback port, a
 * temporary directory, append-only persistence on (so a restart keeps the queue).
 */
export class RedisServer {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'lth-redis-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private ping(): boolean {
    return spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG';
  }

  /** Starts the server (again), on the same port and data directory, and waits until it answers. */
  async restart(): Promise<void> {
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !this.ping(); i++) await sleep(50);
    if (!this.ping()) throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Stops it (SHUTDOWN writes the append-only file first) and waits for the process to exit. */
  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((done) => p.once('exit', done));
    spawnSync('redis-cli', ['-p', String(this.port), 'shutdown']);
    await exited;
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
