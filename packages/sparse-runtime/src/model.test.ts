import { describe, expect, it } from 'vitest';
import { type DenseLayerInput, encodeSparseModel } from './encode.js';
import { SparseFormatError } from './format.js';
import { argmax, SparseModel, softmax } from './model.js';
import { wasmSimdAvailable } from './wasm-kernel.js';

/** A tiny net worked by hand: 3 inputs → 2 ReLU units → 2 logits. */
const hidden: DenseLayerInput = {
  name: 'dense1',
  inputs: 3,
  units: 2,
  activation: 'relu',
  // [inputs, units]: W[0] = [1, 0], W[1] = [0, -1], W[2] = [2, 0.5]
  kernel: Float32Array.from([1, 0, 0, -1, 2, 0.5]),
  bias: Float32Array.from([0.5, 0]),
};
const output: DenseLayerInput = { name: 'output', inputs: 2, units: 2, activation: 'linear', kernel: Float32Array.from([1, -1, 3, 0]), bias: Float32Array.from([0, 1]) };

describe('SparseModel', () => {
  it('computes a hand-worked forward pass, CSR and dense alike, for a batch', () => {
    // x = [1, 2, 3]: h = relu([1 + 6 + 0.5, -2 + 1.5]) = [7.5, 0]; logits = [7.5, -7.5 + 1] = [7.5, -6.5]
    // x = [0, 4, 0]: h = relu([0.5, -4]) = [0.5, 0]; logits = [0.5, 0.5]
    const x = Float32Array.from([1, 2, 3, 0, 4, 0]);
    for (const layout of ['csr', 'dense'] as const) {
      const model = SparseModel.read(encodeSparseModel({ inputShape: [3], layers: [hidden, output] }, { layout }));
      expect(Array.from(model.predict(x, 2))).toEqual([7.5, -6.5, 0.5, 0.5]);
      expect(Array.from(model.classify(x, 2))).toEqual([0, 0]);
      expect(Array.from(model.predict(x.subarray(3), 1))).toEqual([0.5, 0.5]);
    }
  });

  it('stores only the kept weights: the mask decides, even for a kept weight that is 0', () => {
    const mask = Uint8Array.from([1, 1, 0, 1, 0, 0]);
    const bytes = encodeSparseModel({ inputShape: [3], layers: [{ ...hidden, mask }, output] }, { layout: 'csr' });
    const model = SparseModel.read(bytes);
    expect(model.storedWeights()).toEqual({ dense1: 3, output: 3 });
    const header = model.header.layers[0]!.kernel;
    expect(header).toMatchObject({ layout: 'csr', shape: [2, 3], nnz: 3 });
    // Without the pruned 2 and 0.5: h = relu([1 + 0.5, -2]) = [1.5, 0], logits = [1.5, -0.5]
    expect(Array.from(model.predict(Float32Array.from([1, 2, 3])))).toEqual([1.5, -0.5]);
  });

  it('uses 32-bit indices above 65536 inputs and 16-bit ones below, with the same results', () => {
    const inputs = 70_000;
    const kernel = new Float32Array(inputs * 2);
    kernel[2 * 69_999] = 2; // input 69 999 → unit 0
    kernel[2 * 3 + 1] = -1; // input 3 → unit 1
    const big = SparseModel.read(encodeSparseModel({ inputShape: [inputs], layers: [{ name: 'd', inputs, units: 2, activation: 'linear', kernel, bias: new Float32Array(2) }] }));
    expect(big.header.layers[0]!.kernel).toMatchObject({ layout: 'csr', nnz: 2, indices: { dtype: 'U32' } });
    const x = new Float32Array(inputs);
    x[69_999] = 3;
    x[3] = 5;
    expect(Array.from(big.predict(x))).toEqual([6, -5]);
    const small = SparseModel.read(encodeSparseModel({ inputShape: [3], layers: [hidden, output] }, { layout: 'csr' }));
    expect(small.header.layers[0]!.kernel).toMatchObject({ indices: { dtype: 'U16' } });
  });

  it('chooses CSR where it is smaller than the dense kernel, and the file shrinks with the weights kept', () => {
    const inputs = 100;
    const units = 50;
    const layer = (keep: number): DenseLayerInput => ({
      name: 'd',
      inputs,
      units,
      activation: 'linear',
      kernel: Float32Array.from({ length: inputs * units }, (_, i) => ((i * 7919) % 1000 < keep * 1000 ? 1 + (i % 5) : 0)),
      bias: new Float32Array(units),
    });
    const sizes = [1, 0.5, 0.2, 0.05].map((keep) => encodeSparseModel({ inputShape: [inputs], layers: [layer(keep)] }).byteLength);
    const kinds = [1, 0.5, 0.2].map((keep) => SparseModel.read(encodeSparseModel({ inputShape: [inputs], layers: [layer(keep)] })).header.layers[0]!.kernel.layout);
    expect(kinds).toEqual(['dense', 'csr', 'csr']);
    expect(sizes[1]!).toBeLessThan(sizes[0]!);
    expect(sizes[2]!).toBeLessThan(sizes[1]!);
    expect(sizes[3]!).toBeLessThan(sizes[2]!);
  });

  it('float16 values: half the value bytes, results within half precision, exact for values a half holds', () => {
    const f32 = encodeSparseModel({ inputShape: [3], layers: [hidden, output] }, { layout: 'csr' });
    const f16 = encodeSparseModel({ inputShape: [3], layers: [hidden, output] }, { layout: 'csr', values: 'float16' });
    const model = SparseModel.read(f16);
    expect(model.header.layers[0]!.kernel).toMatchObject({ values: { dtype: 'F16' } });
    expect(f16.byteLength).toBeLessThan(f32.byteLength);
    // Every weight of the hand-worked net is exact in half precision, so the logits are too.
    expect(Array.from(model.predict(Float32Array.from([1, 2, 3, 0, 4, 0]), 2))).toEqual([7.5, -6.5, 0.5, 0.5]);
    const third = SparseModel.read(encodeSparseModel({ inputShape: [1], layers: [{ name: 'd', inputs: 1, units: 1, activation: 'linear', kernel: Float32Array.from([1 / 3]), bias: new Float32Array(1) }] }, { values: 'float16' }));
    expect(third.predict(Float32Array.from([1]))[0]).toBeCloseTo(1 / 3, 3);
    expect(third.predict(Float32Array.from([1]))[0]).not.toBe(Math.fround(1 / 3));
  });

  it('the WebAssembly SIMD kernel gives the JS kernel\'s results, for batches that are and are not multiples of 4', () => {
    expect(wasmSimdAvailable()).toBe(true); // Node ≥ 16.4
    const x = Float32Array.from([1, 2, 3, 0, 4, 0]);
    const exact = SparseModel.read(encodeSparseModel({ inputShape: [3], layers: [hidden, output] }, { layout: 'csr' }), { kernel: 'wasm' });
    expect(Array.from(exact.predict(x, 2))).toEqual([7.5, -6.5, 0.5, 0.5]);

    // A 40-30-20-5 net at about 30 % kept, with one dense-layout layer in the middle.
    const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 12.9898) * 0.5);
    const layer = (name: string, inputs: number, units: number, keep: number, seed: number): DenseLayerInput => ({
      name,
      inputs,
      units,
      activation: name === 'out' ? 'linear' : 'relu',
      kernel: rand(inputs * units, seed).map((v, i) => (Math.abs(Math.sin(i * 3.3 + seed)) < keep ? v : 0)),
      bias: rand(units, seed + 100),
    });
    const layers = [layer('a', 40, 30, 0.3, 1), layer('b', 30, 20, 0.9, 2), layer('out', 20, 5, 0.3, 3)];
    const bytes = encodeSparseModel({ inputShape: [40], layers });
    const kinds = SparseModel.read(bytes).header.layers.map((l) => l.kernel.layout);
    expect(kinds).toEqual(['csr', 'dense', 'csr']);
    const js = SparseModel.read(bytes, { kernel: 'js' });
    const wasm = SparseModel.read(bytes, { kernel: 'wasm' });
    for (const batch of [1, 3, 4, 5, 60]) {
      const input = rand(batch * 40, batch);
      const a = js.predict(input, batch);
      const b = wasm.predict(input, batch);
      expect(b.length).toBe(batch * 5);
      expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-5);
    }
  });

  it('softmax and argmax work row by row (first maximum on ties)', () => {
    expect(Array.from(argmax(Float32Array.from([1, 3, 3, 0, -1, -2]), 3))).toEqual([1, 0]);
    const p = softmax(Float32Array.from([0, Math.log(3), 1000, 1000]), 2);
    expect(p[0]).toBeCloseTo(0.25, 6);
    expect(p[1]).toBeCloseTo(0.75, 6);
    expect(Array.from(p.subarray(2))).toEqual([0.5, 0.5]);
  });

  it('rejects inputs of the wrong size', () => {
    const model = SparseModel.read(encodeSparseModel({ inputShape: [3], layers: [hidden, output] }));
    expect(() => model.predict(new Float32Array(5), 2)).toThrow(/a batch of 2 takes 6/);
  });
});

describe('SparseModel.read on bad files', () => {
  const good = encodeSparseModel({ inputShape: [3], layers: [hidden, output] }, { layout: 'csr' });
  const headerLength = Number(new DataView(good.buffer).getBigUint64(0, true));
  /** The file with its header replaced by `edit(header)` (re-padded, data unchanged). */
  const withHeader = (edit: (h: any) => void): Uint8Array => {
    const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + headerLength)));
    edit(header);
    const json = new TextEncoder().encode(JSON.stringify(header).padEnd(headerLength, ' '));
    expect(json.byteLength).toBe(headerLength);
    const out = good.slice();
    out.set(json, 8);
    return out;
  };

  it.each([
    ['an empty file', new Uint8Array(0), /fewer than the 8 of the header length/],
    ['a file cut inside the header', good.subarray(0, 20), /header length .* runs past the end of the file/],
    ['a file cut inside the data', good.subarray(0, good.byteLength - 4), /run past the end of the data .* truncated/],
    ['random bytes', Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 256), /header length|not JSON/],
  ])('names the problem: %s', (_what, bytes, message) => {
    expect(() => SparseModel.read(bytes)).toThrow(SparseFormatError);
    expect(() => SparseModel.read(bytes)).toThrow(message);
  });

  it('names the problem in a damaged header', () => {
    expect(() => SparseModel.read(withHeader((h) => (h.format = 'onnx')))).toThrow(/format is "onnx", not "lth-sparse"/);
    expect(() => SparseModel.read(withHeader((h) => (h.version = 9)))).toThrow(/version 9 is not supported/);
    expect(() => SparseModel.read(withHeader((h) => (h.layers[0].type = 'conv')))).toThrow(/layer 0 \(dense1\): type "conv" is not supported/);
    expect(() => SparseModel.read(withHeader((h) => (h.layers[1].inputs = 4)))).toThrow(/layer 1 \(output\) takes 4 inputs, but the layer before it gives 2/);
    expect(() => SparseModel.read(withHeader((h) => (h.layers[0].kernel.nnz = 5)))).toThrow(/rowPtr must run from 0 to nnz \(5\)/);
  });

  it('rejects an index out of range (a damaged data section)', () => {
    const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + headerLength)));
    const at = 8 + headerLength + header.layers[0].kernel.indices.offsets[0];
    const bad = good.slice();
    new DataView(bad.buffer).setUint16(at, 7, true);
    expect(() => SparseModel.read(bad)).toThrow(/index 7 at entry 0 is not below 3 inputs/);
  });
});

describe('SparseModel on convolutional layers (NHWC)', () => {
  // A 3x3 input 1..9; a 3x3 filter with 1 at the top-left tap and 2 at the centre, bias 0.5, at
  // stride 1 with one zero on each side: out[y][x] = 2·in[y][x] + in[y−1][x−1] + 0.5, i.e.
  // [[2.5, 4.5, 6.5], [8.5, 11.5, 14.5], [14.5, 17.5, 20.5]]; a 2x2 max-pool keeps the top-left
  // window's max, 11.5; a 1→1 dense layer with weight 1 gives it as the logit.
  const input = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const kernel = Float32Array.from([1, 0, 0, 0, 2, 0, 0, 0, 0]);
  const model = (mask?: Uint8Array, layout?: 'csr' | 'dense') =>
    SparseModel.read(
      encodeSparseModel(
        {
          inputShape: [3, 3, 1],
          layers: [
            { type: 'conv2d', name: 'conv', filters: 1, kernelSize: [3, 3], activation: 'linear', kernel, mask, bias: Float32Array.from([0.5]) },
            { type: 'maxpool', size: 2 },
            { name: 'out', inputs: 1, units: 1, activation: 'linear', kernel: Float32Array.from([1]), bias: Float32Array.from([0]) },
          ],
        },
        { layout },
      ),
    );

  it('convolves, pools and flattens as computed by hand, in either kernel layout and any batch', () => {
    for (const layout of ['csr', 'dense'] as const) {
      expect(Array.from(model(undefined, layout).predict(input))).toEqual([11.5]);
      // A batch of two: the second example is the first doubled (bias once): 2·11 + 0.5.
      expect(Array.from(model(undefined, layout).predict(Float32Array.from([...input, ...input.map((v) => 2 * v)]), 2))).toEqual([11.5, 22.5]);
    }
  });

  it('stores only the kept taps: with only the top-left one kept, out = in[y−1][x−1] + 0.5', () => {
    const pruned = model(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]), 'csr');
    expect(pruned.storedWeights()).toEqual({ conv: 1, out: 1 });
    expect(Array.from(pruned.predict(input))).toEqual([1.5]);
  });

  it('refuses a convolution after a dense layer, and a layer whose input shape is not the one it gets', () => {
    const conv = { type: 'conv2d' as const, name: 'conv', filters: 1, kernelSize: [1, 1] as [number, number], activation: 'linear' as const, kernel: Float32Array.from([1]) };
    const flat = { name: 'd', inputs: 9, units: 4, activation: 'linear' as const, kernel: new Float32Array(36), bias: new Float32Array(4) };
    expect(() => encodeSparseModel({ inputShape: [3, 3, 1], layers: [flat, conv] })).toThrow(/needs an \[height, width, channels\] input, and the layer before it gives 4 features/);
    const bytes = encodeSparseModel({ inputShape: [3, 3, 1], layers: [conv, { ...flat }] });
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))));
    header.layers[0].inputShape = [4, 4, 1];
    const json = new TextEncoder().encode(JSON.stringify(header).padEnd(Number(new DataView(bytes.buffer).getBigUint64(0, true))));
    const edited = new Uint8Array(bytes);
    edited.set(json, 8);
    expect(() => SparseModel.read(edited)).toThrow(/layer 0 \(conv\) takes inputs of shape \[4,4,1\], but the layer before it gives 3x3x1/);
  });
});
