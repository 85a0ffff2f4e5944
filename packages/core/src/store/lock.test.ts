import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseLostError, type LockHolder, RunLock, RunLockedError } from './lock.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lth-lock-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

const holderOf = (): LockHolder => JSON.parse(readFileSync(join(dir, '.lock'), 'utf8'));
const otherHost = (fields: Partial<LockHolder> = {}) =>
  writeFileSync(join(dir, '.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', since: '2026-01-01T00:00:00.000Z', ...fields }));

describe('RunLock leases', () => {
  it('refuses a lock held by another host without a lease, and one whose lease has not expired', () => {
    otherHost();
    expect(() => new RunLock(dir, { leaseMs: 1000 }).lock()).toThrow(RunLockedError);
    otherHost({ expires: new Date(Date.now() + 60_000).toISOString() });
    expect(() => new RunLock(dir).lock()).toThrow(/pid 1 on host elsewhere .*lease until/);
  });

  it('takes over an expired lease of another host', () => {
    otherHost({ expires: new Date(Date.now() - 1).toISOString() });
    const lock = new RunLock(dir, { leaseMs: 5000 });
    lock.lock();
    const me = holderOf();
    expect(me).toMatchObject({ pid: process.pid, host: hostname() });
    expect(Date.parse(me.expires!) - Date.now()).toBeGreaterThan(4000);
    lock.unlock();
  });

  it('renews a lease once a third of it has passed, and stops a holder whose lease was taken over', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-02T00:00:00Z'), toFake: ['Date'] });
    const lock = new RunLock(dir, { leaseMs: 3000 });
    lock.lock();
    expect(holderOf().expires).toBe('2026-12-02T00:00:03.000Z');
    vi.setSystemTime(Date.parse('2026-12-02T00:00:00.500Z'));
    lock.renew(); // too early: unchanged
    expect(holderOf().expires).toBe('2026-12-02T00:00:03.000Z');
    vi.setSystemTime(Date.parse('2026-12-02T00:00:01.500Z'));
    lock.renew();
    expect(holderOf().expires).toBe('2026-12-02T00:00:04.500Z');
    // Expired (this holder stalled), so another worker took it over.
    vi.setSystemTime(Date.parse('2026-12-02T00:00:05.000Z'));
    otherHost({ since: '2026-12-02T00:00:05.000Z', expires: '2026-12-02T00:00:35.000Z' });
    expect(() => lock.renew()).toThrow(LeaseLostError);
    lock.unlock(); // not ours any more: left alone
    expect(holderOf().host).toBe('elsewhere');
  });

  it('a plain lock is never renewed and never expires', () => {
    const lock = new RunLock(dir);
    lock.lock();
    expect(holderOf().expires).toBeUndefined();
    lock.renew();
    expect(holderOf().expires).toBeUndefined();
    lock.unlock();
  });
});
