import { UserError } from '@lth/core';
import { describe, expect, it } from 'vitest';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from './idx.js';

/** A big-endian idx buffer built by hand: magic, dims, payload. */
function idx(magic: number, dims: number[], payload: number[]): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * dims.length + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  bytes.set(payload, 4 + 4 * dims.length);
  return bytes;
}

describe('parseIdx', () => {
  it('reads dimensions and payload of a tiny image file', () => {
    const file = idx(IDX_IMAGES_MAGIC, [2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    const parsed = parseIdx(file, 'tiny', { magic: IDX_IMAGES_MAGIC, dims: [2, 2, 3] });
    expect(parsed.dims).toEqual([2, 2, 3]);
    expect([...parsed.data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
  });

  it('reads a label file with any count when the count is left open', () => {
    const parsed = parseIdx(idx(IDX_LABELS_MAGIC, [3], [7, 0, 9]), 'labels', { magic: IDX_LABELS_MAGIC, dims: [undefined] });
    expect(parsed.dims).toEqual([3]);
    expect([...parsed.data]).toEqual([7, 0, 9]);
  });

  it('rejects a wrong magic number, naming the file and the expected magic', () => {
    const labels = idx(IDX_LABELS_MAGIC, [2], [1, 2]);
    const attempt = () => parseIdx(labels, 'some/train-images', { magic: IDX_IMAGES_MAGIC });
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(/some\/train-images.*magic number 2049.*expected 2051/);
  });

  it('rejects a truncated payload with the expected size', () => {
    const full = idx(IDX_IMAGES_MAGIC, [2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const attempt = () => parseIdx(full.subarray(0, full.length - 3), 'cut', { magic: IDX_IMAGES_MAGIC });
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(/cut.*truncated: 21 bytes, expected 24/);
  });

  it('rejects a truncated header and a file shorter than the magic', () => {
    const full = idx(IDX_IMAGES_MAGIC, [2, 2, 2], []);
    expect(() => parseIdx(full.subarray(0, 10), 'h', { magic: IDX_IMAGES_MAGIC })).toThrow(/truncated header/);
    expect(() => parseIdx(new Uint8Array(2), 'e', { magic: IDX_IMAGES_MAGIC })).toThrow(/fewer than the 4-byte header/);
  });

  it('rejects trailing bytes and unexpected dimensions', () => {
    const long = idx(IDX_LABELS_MAGIC, [2], [1, 2, 3]);
    expect(() => parseIdx(long, 'long', { magic: IDX_LABELS_MAGIC })).toThrow(/too long/);
    const images = idx(IDX_IMAGES_MAGIC, [1, 2, 2], [1, 2, 3, 4]);
    expect(() => parseIdx(images, 'dims', { magic: IDX_IMAGES_MAGIC, dims: [1, 28, 28] })).toThrow(
      /dimensions 1 × 2 × 2, expected 1 × 28 × 28/,
    );
  });
});
