import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BufferPool } from './buffer_pool.js';
import { setupNative, skipReason, values } from './test-utils/parity.js';

describe('BufferPool', () => {
  it('recycles a buffer only after its owner is released', () => {
    const pool = new BufferPool(1 << 20, 4);
    const a = pool.acquire(16);
    pool.adopt(a);
    pool.release(a);
    expect(pool.acquire(16)).toBe(a);
    expect(pool.hits).toBe(1);
  });
  it('never recycles a pinned buffer or one aliased by a view', () => {
    const pool = new BufferPool(1 << 20, 4);
    const a = pool.acquire(16);
    pool.adopt(a);
    pool.pin(a);
    pool.release(a);
    expect(pool.acquire(16)).not.toBe(a);
    const b = pool.acquire(32);
    pool.adopt(b);
    pool.adopt(b.subarray(4, 8)); // another tensor over part of b
    pool.release(b);
    expect(pool.acquire(32)).not.toBe(b);
  });
  it('keeps at most maxBytes in free lists', () => {
    const pool = new BufferPool(64 * 4, 4);
    const a = pool.acquire(64);
    const b = pool.acquire(64);
    for (const x of [a, b]) { pool.adopt(x); pool.release(x); }
    expect(pool.bytes).toBe(256);
  });
});

describe.skipIf(skipReason !== undefined)('the native backend with its buffer pool', () => {
  beforeAll(async () => {
    setupNative();
    await tf.setBackend('native');
  });
  afterAll(() => void tf.setBackend('cpu'));

  it('arrays handed out by dataSync are never reused for later outputs', () => {
    const x = tf.tensor2d(values(64 * 64), [64, 64]);
    const y = tf.matMul(x, x);
    const seen = y.dataSync();
    const copy = Float32Array.from(seen);
    y.dispose();
    for (let i = 0; i < 5; i++) tf.matMul(x, tf.add(x, i)).dispose();
    expect(seen).toEqual(copy);
    x.dispose();
  });

  it('a slice viewing a pooled output survives the disposal of its source', () => {
    const x = tf.tensor2d(values(64 * 64, 3), [64, 64]);
    const y = tf.relu(x);
    const s = tf.slice(y, [0, 0], [2, 64]); // cpu's simple slice is a subarray view
    const expected = Float32Array.from(tf.relu(tf.slice(x, [0, 0], [2, 64])).dataSync());
    y.dispose();
    for (let i = 0; i < 5; i++) tf.relu(tf.neg(x)).dispose();
    expect(s.dataSync()).toEqual(expected);
    tf.dispose([x, s]);
  });

  it('reuses buffers across a training-like loop and leaks no tensors', () => {
    const x = tf.tensor2d(values(60 * 784), [60, 784]);
    const w = tf.variable(tf.tensor2d(values(784 * 300, 2), [784, 300]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.tidy(() => { w.assign(tf.add(w, tf.mul(tf.matMul(x, tf.relu(tf.matMul(x, w)), true), 1e-3))); });
    expect(tf.memory().numTensors).toBe(before);
    const backend = tf.backend() as unknown as { pool: BufferPool };
    expect(backend.pool.hits).toBeGreaterThan(0);
    tf.dispose([x, w]);
  });
});
