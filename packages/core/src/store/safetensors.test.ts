import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from './safetensors.js';

describe('safetensors', () => {
  it('round-trips float32 and uint8 tensors with metadata, data 8-byte aligned', () => {
    const bytes = encodeSafetensors(
      { w: { dtype: 'F32', shape: [2, 2], data: Float32Array.from([1.5, -2, 0, 3.25]) }, m: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 0, 1]) } },
      { kind: 'test' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
    // Sorted by name, offsets contiguous, as the format requires.
    expect(header.m).toEqual({ dtype: 'U8', shape: [3], data_offsets: [0, 3] });
    expect(header.w).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [3, 19] });
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ kind: 'test' });
    expect(Array.from(tensors.w.data)).toEqual([1.5, -2, 0, 3.25]);
    expect(Array.from(tensors.m.data)).toEqual([1, 0, 1]);
  });

  it('writes atomically and reports a truncated file clearly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lth-st-'));
    try {
      const file = join(dir, 'a.safetensors');
      saveSafetensors(file, { w: { dtype: 'F32', shape: [4], data: Float32Array.from([1, 2, 3, 4]) } });
      expect(Array.from(loadSafetensors(file).tensors.w.data)).toEqual([1, 2, 3, 4]);
      const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [4], data: Float32Array.from([1, 2, 3, 4]) } });
      writeFileSync(file, bytes.subarray(0, bytes.length - 4));
      expect(() => loadSafetensors(file)).toThrow(/truncated/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
