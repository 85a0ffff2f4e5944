/**
 * The CSR × dense-batch product as a WebAssembly SIMD function, assembled here from its
 * instructions (no toolchain: the bytes below are the whole module). It computes, for a layer
 * held feature-major with the batch padded to a multiple of 4,
 *
 *   acc[o][b] += Σ_j values[j] · x[indices[j]][b]   for j in rowPtr[o]..rowPtr[o+1]
 *
 * four examples per f32x4 instruction, accumulating in float32 (the JS kernel uses float64).
 */

/** Unsigned LEB128, as WebAssembly encodes integers. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const name = (s: string) => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// Instructions used (WebAssembly 2.0 core and fixed-width SIMD).
const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  i32: (n: number) => [0x41, ...leb(n)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  geU: [0x4f],
  load32: [0x28, 2, 0],
  loadF32: [0x2a, 2, 0],
  loadV128: [0xfd, 0x00, 4, 0],
  storeV128: [0xfd, 0x0b, 4, 0],
  splatF32x4: [0xfd, 0x13],
  addF32x4: [0xfd, ...leb(228)],
  mulF32x4: [0xfd, ...leb(230)],
};

// spmm(rowPtr, indices, values, x, acc, units, rowBytes): byte addresses; indices as u32;
// rowBytes = 4 × padded batch (the bytes of one feature's row in x and acc).
const [ROW_PTR, INDICES, VALUES, X, ACC, UNITS, ROW_BYTES] = [0, 1, 2, 3, 4, 5, 6];
const [O, J, END, XP, AP, B, V] = [7, 8, 9, 10, 11, 12, 13];

const body = [
  ...[2, ...leb(6), I32, ...leb(1), V128], // locals: o, j, end, xp, ap, b (i32); v (v128)
  ...op.block,
  ...op.loop, // for o < units
  ...op.get(O), ...op.get(UNITS), ...op.geU, ...op.brIf(1),
  ...op.get(ROW_PTR), ...op.get(O), ...op.i32(2), ...op.shl, ...op.add, ...op.load32, ...op.set(J),
  ...op.get(ROW_PTR), ...op.get(O), ...op.i32(2), ...op.shl, ...op.add, ...op.i32(4), ...op.add, ...op.load32, ...op.set(END),
  ...op.get(ACC), ...op.get(O), ...op.get(ROW_BYTES), ...op.mul, ...op.add, ...op.set(AP),
  ...op.block,
  ...op.loop, // for j < end
  ...op.get(J), ...op.get(END), ...op.geU, ...op.brIf(1),
  ...op.get(VALUES), ...op.get(J), ...op.i32(2), ...op.shl, ...op.add, ...op.loadF32, ...op.splatF32x4, ...op.set(V),
  ...op.get(X), ...op.get(INDICES), ...op.get(J), ...op.i32(2), ...op.shl, ...op.add, ...op.load32, ...op.get(ROW_BYTES), ...op.mul, ...op.add, ...op.set(XP),
  ...op.i32(0), ...op.set(B),
  ...op.block,
  ...op.loop, // for b < rowBytes, 16 bytes (4 examples) at a time
  ...op.get(B), ...op.get(ROW_BYTES), ...op.geU, ...op.brIf(1),
  ...op.get(AP), ...op.get(B), ...op.add, // address of acc[o][b..b+3]
  ...op.get(AP), ...op.get(B), ...op.add, ...op.loadV128,
  ...op.get(V), ...op.get(XP), ...op.get(B), ...op.add, ...op.loadV128, ...op.mulF32x4,
  ...op.addF32x4, ...op.storeV128,
  ...op.get(B), ...op.i32(16), ...op.add, ...op.set(B),
  ...op.br(0),
  ...op.end, ...op.end,
  ...op.get(J), ...op.i32(1), ...op.add, ...op.set(J),
  ...op.br(0),
  ...op.end, ...op.end,
  ...op.get(O), ...op.i32(1), ...op.add, ...op.set(O),
  ...op.br(0),
  ...op.end, ...op.end,
  ...op.end,
];

const MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 7, ...Array<number>(7).fill(I32), 0]), // type: (i32 × 7) → ()
  ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 1]), // import env.memory, min 1 page
  ...section(3, [1, 0]), // one function of type 0
  ...section(7, [1, ...name('spmm'), 0x00, 0]), // export it
  ...section(10, [1, ...leb(body.length), ...body]),
]);

/** Whether this engine runs WebAssembly SIMD (Node ≥ 16.4, current browsers). */
export function wasmSimdAvailable(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(MODULE);
}

const PAGE = 65536;

/** One CSR layer copied into the kernel's memory: byte addresses of its arrays. */
export interface WasmLayer {
  rowPtr: number;
  indices: number;
  values: number;
  units: number;
  inputs: number;
}

/**
 * A kernel instance with its own memory: the model's CSR layers are copied in once, then
 * `run` multiplies a feature-major batch by one of them.
 */
export class WasmSpmm {
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly spmm: (...args: number[]) => void;
  private top = 0;

  constructor() {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE), { env: { memory: this.memory } });
    this.spmm = instance.exports.spmm as (...args: number[]) => void;
  }

  /** Reserves `bytes` (16-aligned) and returns their address. */
  private alloc(bytes: number): number {
    const at = Math.ceil(this.top / 16) * 16;
    this.top = at + bytes;
    const pages = Math.ceil(this.top / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (pages > 0) this.memory.grow(pages);
    return at;
  }

  addLayer(rowPtr: Uint32Array, indices: Uint16Array | Uint32Array, values: Float32Array, inputs: number): WasmLayer {
    const units = rowPtr.length - 1;
    const layer = { rowPtr: this.alloc(rowPtr.byteLength), indices: this.alloc(indices.length * 4), values: this.alloc(values.byteLength), units, inputs };
    new Uint32Array(this.memory.buffer, layer.rowPtr, rowPtr.length).set(rowPtr);
    new Uint32Array(this.memory.buffer, layer.indices, indices.length).set(indices);
    new Float32Array(this.memory.buffer, layer.values, values.length).set(values);
    return layer;
  }

  /**
   * acc [units, padded] = layer × x [inputs, padded], both feature-major with the batch padded to
   * a multiple of 4 (`padded`). Returns a copy of acc.
   */
  run(layer: WasmLayer, x: Float32Array, padded: number): Float32Array {
    const mark = this.top;
    const xAt = this.alloc(x.byteLength);
    const accAt = this.alloc(layer.units * padded * 4);
    new Float32Array(this.memory.buffer, xAt, x.length).set(x);
    new Float32Array(this.memory.buffer, accAt, layer.units * padded).fill(0);
    this.spmm(layer.rowPtr, layer.indices, layer.values, xAt, accAt, layer.units, padded * 4);
    const out = new Float32Array(this.memory.buffer, accAt, layer.units * padded).slice();
    this.top = mark;
    return out;
  }
}
