/**
 * IEEE 754 half precision (binary16) from and to float32, for F16 value buffers. Rounds to the
 * nearest half, ties to even (as hardware conversions do); overflow becomes ±Infinity.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits of `value` (rounded to float32 first). */
export function toFloat16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  // Below the normal range: a subnormal half, m × 2^-24, from the 24-bit significand.
  const [bits, shift] = e <= 0 ? [mant | 0x800000, 14 - e] : [mant, 13];
  if (shift > 25) return sign;
  let half = (e <= 0 ? 0 : e << 10) | (bits >>> shift);
  const rest = bits & ((1 << shift) - 1);
  const mid = 1 << (shift - 1);
  // A carry out of the significand correctly moves to the next exponent (or to Infinity).
  if (rest > mid || (rest === mid && half & 1)) half++;
  return sign | half;
}

/** The value of binary16 bits `h`. */
export function fromFloat16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
