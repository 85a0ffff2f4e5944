import { UserError } from '@lth/core';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * The connection options of a queue URL: `redis://[user:password@]host[:port][/db]` (or
 * `rediss://` for TLS). A malformed URL is a UserError naming it.
 */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`--queue ${url}: not a Redis URL; write redis://host:port[/db], e.g. redis://127.0.0.1:6379`, '--queue');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new UserError(`--queue ${url}: the URL must start with redis:// (or rediss:// for TLS), e.g. redis://127.0.0.1:6379`, '--queue');
  }
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new UserError(`--queue ${url}: the database must be a number (redis://host:port/0)`, '--queue');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db: db ? Number(db) : 0,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // BullMQ's blocking commands must wait through reconnections (a restarted server) rather than fail.
    maxRetriesPerRequest: null,
  };
}

/** The URL as shown in messages: without its password. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Checks that the server answers within `timeoutMs`, once, before anything is queued or any
 * worker waits on it: a wrong URL must fail fast with a clear message, not retry forever.
 */
export async function checkReachable(url: string, timeoutMs = 3000): Promise<void> {
  const client = new Redis({
    ...redisOptions(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The first socket error says most (ECONNREFUSED, ENOTFOUND); connect() only says "closed".
  let cause: Error | undefined;
  client.on('error', (error: Error) => {
    cause ??= error;
  });
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, fail) => setTimeout(() => fail(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs).unref()),
    ]);
  } catch (error) {
    const why = (cause ?? (error as Error)).message.replace(/\.$/, '');
    throw new UserError(
      `cannot reach Redis at ${shownUrl(url)}: ${why}. ` +
        'Start a server (apt-get install redis-server, or a redis container) and check the host, port and database of --queue.',
      '--queue',
    );
  } finally {
    client.disconnect();
  }
}
