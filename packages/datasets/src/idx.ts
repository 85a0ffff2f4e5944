import { readFileSync } from 'node:fs';
import { type DataSplit, UserError } from '@lth/core';

/** Magic number of an idx file of unsigned bytes with three dimensions (images). */
export const IDX_IMAGES_MAGIC = 2051;
/** Magic number of an idx file of unsigned bytes with one dimension (labels). */
export const IDX_LABELS_MAGIC = 2049;

export interface IdxArray {
  dims: number[];
  /** The payload, row-major; a view into the input (no copy). */
  data: Uint8Array;
}

/**
 * Parses an idx file (the format MNIST is distributed in): a big-endian header of a magic
 * number, whose low byte is the number of dimensions, then one uint32 per dimension, then the
 * payload. Only unsigned-byte payloads (type 0x08) are supported, which is what MNIST uses.
 *
 * Any mismatch (wrong magic, wrong dimensions, truncated or oversized file) is a UserError
 * naming `source`, because the usual cause is a damaged or wrong file the user can replace.
 */
export function parseIdx(
  bytes: Uint8Array,
  source: string,
  expected: { magic: number; dims?: (number | undefined)[] },
): IdxArray {
  const what = `${source}: not a valid idx file`;
  if (bytes.length < 4) {
    throw new UserError(`${what}: it has ${bytes.length} bytes, fewer than the 4-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expected.magic) {
    throw new UserError(
      `${what}: magic number ${magic} (0x${magic.toString(16).padStart(8, '0')}), expected ${expected.magic} ` +
        `(0x${expected.magic.toString(16).padStart(8, '0')})`,
    );
  }
  const rank = magic & 0xff;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new UserError(`${what}: truncated header (${bytes.length} bytes, expected at least ${headerBytes})`);
  }
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  if (expected.dims) {
    const ok = expected.dims.length === rank && expected.dims.every((e, d) => e === undefined || e === dims[d]);
    if (!ok) {
      const want = expected.dims.map((e) => (e === undefined ? 'any' : String(e))).join(' × ');
      throw new UserError(`${what}: dimensions ${dims.join(' × ')}, expected ${want}`);
    }
  }
  const payload = dims.reduce((a, b) => a * b, 1);
  const total = headerBytes + payload;
  if (bytes.length !== total) {
    const kind = bytes.length < total ? 'truncated' : 'too long';
    throw new UserError(
      `${what}: ${kind}: ${bytes.length} bytes, expected ${total} (${headerBytes}-byte header + ${dims.join(' × ')} data bytes)`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** What `readIdxImages` needs to know about one idx images/labels pair. */
export interface IdxImagePair {
  imagesPath: string;
  labelsPath: string;
  count: number;
  /** Image side in pixels (square, one channel). */
  side: number;
  classes: number;
  /** 256 entries: the float value of each pixel byte (the normalisation). */
  table: Float32Array;
  /** The data set's name, for messages ("MNIST"). */
  what: string;
  /** The config field to name in errors (e.g. /dataset/dir). */
  field?: string;
}

/**
 * Reads an idx images/labels pair (MNIST's format, also Fashion-MNIST's) into a split: every
 * check of `parseIdx`, pixels mapped through `table` (a plain indexed copy, fast for 47M
 * pixels), and labels checked against the number of classes.
 */
export function readIdxImages(o: IdxImagePair): DataSplit {
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new UserError(`Cannot read ${o.what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, o.field);
    }
  };
  const images = parseIdx(read(o.imagesPath), o.imagesPath, { magic: IDX_IMAGES_MAGIC, dims: [o.count, o.side, o.side] });
  const labels = parseIdx(read(o.labelsPath), o.labelsPath, { magic: IDX_LABELS_MAGIC, dims: [o.count] });
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = o.table[images.data[i]!]!;
  const y = new Int32Array(o.count);
  for (let i = 0; i < o.count; i++) {
    const label = labels.data[i]!;
    if (label >= o.classes) throw new UserError(`${o.labelsPath}: label ${label} at index ${i} is not a class 0–${o.classes - 1}`, o.field);
    y[i] = label;
  }
  return { x, y, count: o.count };
}
