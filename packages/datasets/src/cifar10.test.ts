import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchStream, EvalSet, rng, UserError } from '@lth/core';
import '@lth/core/testing'; // registers tfjs's CPU backend
import { afterAll, describe, expect, it } from 'vitest';
import {
  augmentCifar,
  blackLevel,
  CIFAR_MEAN,
  CIFAR_RECORD_BYTES,
  CIFAR_STD,
  CIFAR_TEST_FILE,
  CIFAR_TRAIN_FILES,
  cifar10,
  cifar10Defaults,
  parseCifarBatch,
} from './cifar10.js';

/** `count` records in the binary format: label (start + n) % 10; channel c of pixel p is (n + 3p + c) % 256. */
function records(count: number, start = 0): Uint8Array {
  const bytes = new Uint8Array(count * CIFAR_RECORD_BYTES);
  for (let n = 0; n < count; n++) {
    const r = n * CIFAR_RECORD_BYTES;
    bytes[r] = (start + n) % 10;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) bytes[r + 1 + c * 1024 + p] = (start + n + 3 * p + c) % 256;
  }
  return bytes;
}

const dirs: string[] = [];
/** A directory of the six batch files with `perFile` records each. */
function cifarDir(perFile: number, skip?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lth-cifar-'));
  dirs.push(dir);
  CIFAR_TRAIN_FILES.forEach((f, i) => f !== skip && writeFileSync(join(dir, f), records(perFile, 100 * i)));
  if (skip !== CIFAR_TEST_FILE) writeFileSync(join(dir, CIFAR_TEST_FILE), records(perFile, 1000));
  return dir;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const ctx = (dir: string) => ({ seed: 0, resolvePath: (p: string) => (p.startsWith('/') ? p : join(dir, p)) });

describe('CIFAR-10 binary reader', () => {
  it('decodes channel-planar records into NHWC floats with the per-channel normalisation', () => {
    const split = parseCifarBatch(records(3), 'x.bin', 'unit');
    expect(split.count).toBe(3);
    expect([...split.y]).toEqual([0, 1, 2]);
    // Image 1, pixel (row 2, column 5) = p 69, channel 2: (1 + 207 + 2) % 256 = 210.
    const p = 2 * 32 + 5;
    expect(split.x[3072 + p * 3 + 2]).toBeCloseTo(210 / 255, 6);
    const standard = parseCifarBatch(records(1), 'x.bin', 'standard');
    expect(standard.x[1]).toBeCloseTo((1 / 255 - CIFAR_MEAN[1]) / CIFAR_STD[1], 5); // pixel 0, green: (0 + 0 + 1)
  });

  it('a truncated file is a UserError that names it and the record size', () => {
    const bytes = records(2).subarray(0, 2 * CIFAR_RECORD_BYTES - 100);
    expect(() => parseCifarBatch(bytes, '/data/data_batch_3.bin')).toThrow(UserError);
    expect(() => parseCifarBatch(bytes, '/data/data_batch_3.bin')).toThrow(
      /\/data\/data_batch_3\.bin: not a CIFAR-10 binary batch: 6046 bytes is not a whole number of 3073-byte records \(1 records and 2973 bytes left over/,
    );
    expect(() => parseCifarBatch(new Uint8Array(0), 'empty.bin')).toThrow(/empty\.bin: .*0 bytes/);
    const bad = records(1);
    bad[0] = 57;
    expect(() => parseCifarBatch(bad, 'c100.bin')).toThrow(/record 0 has label 57.*CIFAR-100/);
  });

  it('loads the five training batches and the test batch from dataset.dir, carving validation', async () => {
    const dir = cifarDir(4);
    const data = await cifar10.load({ ...cifar10Defaults, dir: '.', validation: 5 }, ctx(dir));
    expect(data.inputShape).toEqual([32, 32, 3]);
    expect(data.numClasses).toBe(10);
    expect(data.train.count + data.validation.count).toBe(20);
    expect(data.validation.count).toBe(5);
    expect(data.test.count).toBe(4);
    expect([...data.test.y]).toEqual([0, 1, 2, 3]);
    expect(data.augment).toBeTypeOf('function');
    const plain = await cifar10.load({ ...cifar10Defaults, dir, validation: 0, augment: false, testSubset: 2 }, ctx('/'));
    expect(plain.augment).toBeUndefined();
    expect(plain.test.count).toBe(2);
  });

  it('missing files: a UserError naming /dataset/dir, the files and where to get them', async () => {
    const dir = cifarDir(1, 'data_batch_4.bin');
    const error = await cifar10.load({ ...cifar10Defaults, dir, validation: 0 }, ctx('/')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).field).toBe('/dataset/dir');
    expect((error as Error).message).toMatch(/lacks data_batch_4\.bin\. Download the CIFAR-10 binary version from https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar\.html/);
    expect((error as Error).message).toMatch(/cifar-10-batches-bin/);
  });
});

describe('CIFAR augmentation', () => {
  /** Image 0 of a batch: value = 1000·row + col for channel 0 (and +0.1, +0.2 for the others). */
  function ramp(count = 1): Float32Array {
    const x = new Float32Array(count * 3072);
    for (let n = 0; n < count; n++) for (let r = 0; r < 32; r++) for (let c = 0; c < 32; c++) for (let k = 0; k < 3; k++) x[n * 3072 + (r * 32 + c) * 3 + k] = 1000 * r + c + k / 10 + n * 1e5;
    return x;
  }
  const at = (x: Float32Array, r: number, c: number, k = 0) => x[(r * 32 + c) * 3 + k];
  /** A generator that returns `values` in turn. */
  const scripted = (values: number[]) => () => values.shift()!;

  it('crops at offset (dy, dx) ∈ [−4, 4]², filling outside pixels with black, and flips', () => {
    // flip no (0.9), dy = floor(0.0·9) − 4 = −4, dx = floor(0.99·9) − 4 = +4.
    const x = ramp();
    augmentCifar(x, 1, scripted([0.9, 0, 0.99]), [-7, -8, -9]);
    expect(at(x, 0, 0)).toBe(-7); // row −4: padding
    expect(at(x, 3, 27, 2)).toBe(-9);
    expect(at(x, 4, 0)).toBe(4); // row 0, column 4
    expect(at(x, 31, 27)).toBe(27_031);
    expect(at(x, 31, 28, 1)).toBe(-8); // column 32: padding
    // flip yes (0.1), no shift (0.5 → 4 − 4 = 0): column c shows column 31 − c.
    const y = ramp();
    augmentCifar(y, 1, scripted([0.1, 0.5, 0.5]), [0, 0, 0]);
    expect(at(y, 5, 0)).toBe(5031);
    expect(at(y, 5, 31, 2)).toBeCloseTo(5000.2, 3);
  });

  it('is a pure function of the generator state: same seed, same batch; another seed, another batch', () => {
    const fill = blackLevel('standard');
    const [a, b, c] = [ramp(8), ramp(8), ramp(8)];
    augmentCifar(a, 8, rng(42), fill);
    augmentCifar(b, 8, rng(42), fill);
    augmentCifar(c, 8, rng(43), fill);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    expect(fill[0]).toBeCloseTo(-CIFAR_MEAN[0] / CIFAR_STD[0], 6);
  });

  it('training batches are augmented reproducibly per iteration; evaluation sets never are', async () => {
    const dir = cifarDir(6);
    const data = await cifar10.load({ ...cifar10Defaults, dir, validation: 6 }, ctx('/'));
    const plain = await cifar10.load({ ...cifar10Defaults, dir, validation: 6, augment: false }, ctx('/'));
    const first = new BatchStream(data, data.train, 4, 7).batchAt(3);
    const again = new BatchStream(data, data.train, 4, 7).batchAt(3);
    const unaugmented = new BatchStream(plain, plain.train, 4, 7).batchAt(3);
    expect([...first.x.dataSync()]).toEqual([...again.x.dataSync()]);
    expect([...first.y.dataSync()]).toEqual([...unaugmented.y.dataSync()]);
    expect([...first.x.dataSync()]).not.toEqual([...unaugmented.x.dataSync()]);
    const evalSet = new EvalSet(data, data.test);
    expect(Float32Array.from(evalSet.chunks[0]!.x.dataSync())).toEqual(data.test.x);
    evalSet.dispose();
    for (const b of [first, again, unaugmented]) b.x.dispose(), b.y.dispose();
  });
});
