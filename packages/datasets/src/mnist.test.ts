import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, type DataSplit, UserError } from '@lth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mnist, mnistDataDir } from './mnist.js';

const ctx = { seed: 123, resolvePath: (p: string) => p };
const PIXELS = 784;

/** Byte equality: vitest's deep equality is far too slow for arrays of millions of floats. */
function same(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function histogram(split: DataSplit): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of split.y) counts[label]!++;
  return counts;
}

/** A hash of each image's pixels, to compare splits without keeping index maps. */
function imageKeys(split: DataSplit): Set<string> {
  const keys = new Set<string>();
  for (let i = 0; i < split.count; i++) {
    let h = 2166136261;
    const row = split.x.subarray(i * PIXELS, (i + 1) * PIXELS);
    for (const v of row) h = Math.imul(h ^ Math.round(v * 255), 16777619);
    keys.add(`${h >>> 0}:${split.y[i]}`);
  }
  return keys;
}

describe('mnist', () => {
  let data: Dataset;
  beforeAll(async () => {
    data = await mnist.load({ normalize: 'unit', splitSeed: 0, validation: 5000 }, ctx);
  });

  it('loads 55,000 / 5,000 / 10,000 images of shape 28×28×1 with labels 0–9', () => {
    expect(data.inputShape).toEqual([28, 28, 1]);
    expect(data.numClasses).toBe(10);
    for (const [split, count] of [
      [data.train, 55000],
      [data.validation, 5000],
      [data.test, 10000],
    ] as const) {
      expect(split.count).toBe(count);
      expect(split.x.length).toBe(count * PIXELS);
      expect(split.y).toBeInstanceOf(Int32Array);
      expect(split.y.length).toBe(count);
      const hist = histogram(split);
      for (const n of hist) {
        expect(n / count).toBeGreaterThan(0.05);
        expect(n / count).toBeLessThan(0.15);
      }
    }
  });

  it('scales pixels to [0, 1] and keeps the known first test label', () => {
    let min = Infinity;
    let max = -Infinity;
    for (const v of data.test.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // The first MNIST test digit is a 7, the first training digit a 5.
    expect(data.test.y[0]).toBe(7);
  });

  it('splits the 60,000 training images exactly, disjointly and the same way each time', async () => {
    const again = await mnist.load({ normalize: 'unit', splitSeed: 0, validation: 5000 }, { ...ctx, seed: 999 });
    expect(same(again.validation.y, data.validation.y)).toBe(true);
    expect(same(again.validation.x, data.validation.x)).toBe(true);
    expect(same(again.train.x, data.train.x)).toBe(true);
    expect(same(again.train.y, data.train.y)).toBe(true);

    const train = imageKeys(data.train);
    const validation = imageKeys(data.validation);
    let shared = 0;
    for (const k of validation) if (train.has(k)) shared++;
    // MNIST contains a handful of byte-identical duplicate images; a real overlap would be thousands.
    expect(shared).toBeLessThan(10);
    // Together the two splits hold every training label exactly once.
    const all = histogram(data.train).map((n, c) => n + histogram(data.validation)[c]!);
    expect(all.reduce((a, b) => a + b, 0)).toBe(60000);

    const other = await mnist.load({ normalize: 'unit', splitSeed: 1, validation: 5000 }, ctx);
    expect(same(other.validation.y, data.validation.y)).toBe(false);
  });

  it('standardises on request and takes subsets', async () => {
    const small = await mnist.load(
      { normalize: 'standard', splitSeed: 0, validation: 5000, trainSubset: 1000, testSubset: 200 },
      ctx,
    );
    expect(small.train.count).toBe(1000);
    expect(small.test.count).toBe(200);
    expect(small.validation.count).toBe(5000);
    expect(same(small.train.y, data.train.y.slice(0, 1000))).toBe(true);
    expect(same(small.validation.y, data.validation.y)).toBe(true);
    expect(small.test.x[0]).toBeCloseTo((0 - 0.1307) / 0.3081, 6);
    let sum = 0;
    for (const v of small.train.x) sum += v;
    expect(Math.abs(sum / small.train.x.length)).toBeLessThan(0.05);
  });

  it('rejects a validation split as large as the training set', async () => {
    await expect(mnist.load({ normalize: 'unit', splitSeed: 0, validation: 60000 }, ctx)).rejects.toThrow(
      /validation must be a whole number from 0 to 59999/,
    );
  });

  describe('with a damaged copy of the files', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'lth-mnist-'));
      for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
        copyFileSync(join(mnistDataDir(), f), join(dir, f));
      }
      const labels = readFileSync(join(dir, 't10k-labels-idx1-ubyte'));
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labels.subarray(0, labels.length - 100));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('fails with a UserError naming the truncated file', async () => {
      const attempt = mnist.load({ normalize: 'unit', splitSeed: 0, validation: 5000, dir }, ctx);
      await expect(attempt).rejects.toThrow(UserError);
      await expect(mnist.load({ normalize: 'unit', splitSeed: 0, validation: 5000, dir }, ctx)).rejects.toThrow(
        /t10k-labels-idx1-ubyte: not a valid idx file: truncated: 9908 bytes, expected 10008/,
      );
    });

    it('fails with a UserError naming a missing file', async () => {
      await expect(
        mnist.load({ normalize: 'unit', splitSeed: 0, validation: 5000, dir: join(dir, 'nowhere') }, ctx),
      ).rejects.toThrow(/Cannot read MNIST file .*nowhere.*ENOENT/);
    });
  });
});
