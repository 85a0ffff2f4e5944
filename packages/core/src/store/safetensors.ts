import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './io.js';

/**
 * The safetensors format (little-endian): an 8-byte header length N, N bytes of JSON header
 * (`{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: {...} }`), then the
 * data. Readable by PyTorch (`safetensors.torch.load_file`) and numpy.
 */
export type SafeTensor = { dtype: 'F32'; shape: number[]; data: Float32Array } | { dtype: 'U8'; shape: number[]; data: Uint8Array };

const BYTES = { F32: 4, U8: 1 } as const;

export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`safetensors: "${name}" has shape [${t.shape}] but ${t.data.length} values`);
    const bytes = size * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name];
    // Typed arrays are little-endian on every platform Node supports (x86-64, arm64).
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): { tensors: Record<string, SafeTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error(`${source}: too short to be a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.length) throw new Error(`${source}: header length ${n} exceeds the file (${bytes.length} bytes); the file is truncated`);
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, any>;
  const base = 8 + n;
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets as [number, number];
    if (base + end > bytes.length) throw new Error(`${source}: tensor "${name}" runs past the end of the file; the file is truncated`);
    // Copy out so the result is aligned and independent of the file buffer.
    const raw = Uint8Array.from(bytes.subarray(base + begin, base + end));
    if (info.dtype === 'F32') tensors[name] = { dtype: 'F32', shape: info.shape, data: new Float32Array(raw.buffer, 0, (end - begin) / 4) };
    else if (info.dtype === 'U8') tensors[name] = { dtype: 'U8', shape: info.shape, data: raw };
    else throw new Error(`${source}: tensor "${name}" has dtype ${info.dtype}; lth reads F32 and U8`);
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string>) ?? {} };
}

export function saveSafetensors(path: string, tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string) {
  return decodeSafetensors(readFileSync(path), path);
}
