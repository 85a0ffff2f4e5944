import { describe, expect, it } from 'vitest';
import { fromFloat16, toFloat16 } from './float16.js';

describe('float16', () => {
  it('converts known values, rounding to nearest with ties to even', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff],
      [65520, 0x7c00], // halfway to the next (absent) half: ties to even → Infinity
      [2 ** -24, 0x0001], [2 ** -14, 0x0400], [2 ** -26, 0x0000],
      [1 + 2 ** -11, 0x3c00], // tie: to the even 1.0
      [1 + 3 * 2 ** -11, 0x3c02], // tie: to the even 1 + 2^-9
      [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [value, bits] of cases) expect([value, toFloat16(value)]).toEqual([value, bits]);
    expect(fromFloat16(toFloat16(Number.NaN))).toBeNaN();
  });

  it('round-trips every half value exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = fromFloat16(h);
      if (Number.isNaN(v)) continue;
      if (toFloat16(v) !== h) throw new Error(`0x${h.toString(16)} → ${v} → 0x${toFloat16(v).toString(16)}`);
    }
  });
});
