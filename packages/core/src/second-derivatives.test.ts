import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec, TensorMap } from './contracts.js';
import { crossEntropyHvp } from './hessian.js';
import { registerSecondDerivatives, secondDerivativeGradConfigs } from './second-derivatives.js';
import { seededRandom } from './testing/fake-model.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const random = seededRandom(11);
const normals = (n: number) => Array.from({ length: n }, () => random() * 2 - 1);
const randomTensor = (shape: number[]) => tf.tensor(normals(shape.reduce((a, b) => a * b, 1)), shape);
const dot = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(a, b)).dataSync()[0]!);
const absDot = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.sum(tf.abs(tf.mul(a, b))).dataSync()[0]!);

/**
 * A kernel f that is linear in each of the arguments `linear`, checked against the gradient
 * tfjs takes of <G, f>: for each such argument a, <∂a, a> = <G, f> (Euler's identity for a linear
 * map), and <∂a, u> equals the central difference (<G, f(a + u)> − <G, f(a − u)>) / 2 along a
 * random u, exact for a linear map. Tolerances are float32 rounding of the sums involved.
 */
function checkAdjoint(f: (...args: tf.Tensor[]) => tf.Tensor, args: tf.Tensor[], linear: number[]): void {
  const out = f(...args);
  const g = randomTensor(out.shape);
  const pairing = (...xs: tf.Tensor[]) => tf.sum(tf.mul(g, f(...xs))) as tf.Scalar;
  const value = dot(g, out);
  const scale = absDot(g, out);
  const grads = tf.grads(pairing)(args);
  for (const i of linear) {
    expect(grads[i]!.shape).toEqual(args[i]!.shape);
    expect(Math.abs(dot(grads[i]!, args[i]!) - value)).toBeLessThan(1e-5 * scale);
    const u = randomTensor(args[i]!.shape);
    const shifted = (sign: number) => tf.tidy(() => pairing(...args.map((a, j) => (j === i ? tf.add(a, tf.mul(u, sign)) : a))).dataSync()[0]!);
    const difference = (shifted(1) - shifted(-1)) / 2;
    expect(Math.abs(dot(grads[i]!, u) - difference)).toBeLessThan(1e-5 * (absDot(grads[i]!, u) + scale));
    u.dispose();
  }
  tf.dispose([out, g, ...grads]);
}

const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: object) => tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;

describe('second derivatives of conv and pooling backward kernels', () => {
  it('registers each once: a second registration adds nothing', () => {
    expect(registerSecondDerivatives()).toEqual([]);
    for (const { kernelName } of secondDerivativeGradConfigs) expect(tf.getGradient(kernelName)).toBeDefined();
  });

  it.each<{ name: string; x: [number, number, number, number]; filter: [number, number, number, number]; strides: number | [number, number]; pad: 'same' | 'valid' }>([
    { name: '3×3, stride 1, same', x: [2, 5, 5, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
    { name: '3×3, stride 2, same (uneven padding)', x: [2, 6, 5, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'same' },
    { name: '2×3, strides 2×1, valid', x: [1, 7, 6, 2], filter: [2, 3, 2, 2], strides: [2, 1], pad: 'valid' },
  ])('Conv2DBackpropFilter is bilinear in (x, dy) and its gradient is its adjoint ($name)', ({ x, filter, strides, pad }) => {
    const xs = randomTensor(x);
    const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(x) as tf.Tensor4D, tf.zeros(filter) as tf.Tensor4D, strides, pad).shape);
    const dy = randomTensor(dyShape);
    const before = tf.memory().numTensors;
    checkAdjoint((a, b) => run(tf.Conv2DBackpropFilter, { x: a!, dy: b! }, { strides, pad, dataFormat: 'NHWC', filterShape: filter }), [xs, dy], [0, 1]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, dy]);
  });

  it('Conv2DBackpropFilter refuses NCHW with a message that names the case', () => {
    const [x, dy] = [tf.ones([1, 1, 3, 3]), tf.ones([1, 1, 3, 3])];
    expect(() => tf.grad((a: tf.Tensor) => tf.sum(run(tf.Conv2DBackpropFilter, { x: a, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [1, 1, 1, 1] })))(x)).toThrow(
      /Cannot compute gradient of Conv2DBackpropFilter: data format NCHW/,
    );
    tf.dispose([x, dy]);
  });

  it('MaxPoolGrad’s gradient w.r.t. dy picks G at each window’s maximum (4×4, 2×2 windows, distinct values)', () => {
    // Window maxima: 9 at (0,1), 15 at (1,3), 14 at (3,0), 13 at (3,3): G there is 100 + 4·row + col.
    const input = tf.tensor4d([1, 9, 3, 4, 5, 2, 0, 15, 6, 7, 12, 8, 14, 10, 11, 13], [1, 4, 4, 1]);
    const output = tf.maxPool(input, 2, 2, 'valid');
    expect(Array.from(output.dataSync())).toEqual([9, 15, 14, 13]);
    const dy = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const g = tf.tensor4d(Array.from({ length: 16 }, (_, i) => 100 + i), [1, 4, 4, 1]);
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
    const [dDy, dInput, dOutput] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(g, run(tf.MaxPoolGrad, { dy: a, input: b, output: c }, attrs))))([dy, input, output]);
    expect(Array.from(dDy!.dataSync())).toEqual([101, 107, 112, 115]);
    expect(Array.from(dInput!.dataSync())).toEqual(new Array(16).fill(0));
    expect(Array.from(dOutput!.dataSync())).toEqual([0, 0, 0, 0]);
    tf.dispose([input, output, dy, g, dDy!, dInput!, dOutput!]);
  });

  it.each([
    { name: '2×2 stride 2 valid, with ties and an odd trailing row', x: [2, 5, 6, 3], size: 2, pad: 'valid' },
    { name: '2×2 stride 2 same, odd sizes (padded windows)', x: [1, 5, 7, 2], size: 2, pad: 'same' },
    { name: '3×3 stride 3 same', x: [1, 7, 8, 1], size: 3, pad: 'same' },
  ] as const)('MaxPoolGrad’s gradient w.r.t. dy is its adjoint, with the backend’s own tie-breaking ($name)', ({ x, size, pad }) => {
    // Values on a coarse grid, so that windows hold ties.
    const input = tf.tidy(() => tf.round(tf.mul(randomTensor([...x]), 2)));
    const output = tf.maxPool(input as tf.Tensor4D, size, size, pad);
    const dy = randomTensor(output.shape);
    checkAdjoint((a) => run(tf.MaxPoolGrad, { dy: a!, input, output }, { filterSize: size, strides: size, pad }), [dy], [0]);
    tf.dispose([input, output, dy]);
  });

  it('MaxPoolGrad refuses overlapping windows with a message that names the case', () => {
    const input = randomTensor([1, 5, 5, 1]) as tf.Tensor4D;
    const output = tf.maxPool(input, 3, 1, 'same');
    const g = tf.onesLike(input);
    expect(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(g, run(tf.MaxPoolGrad, { dy: a, input, output }, { filterSize: 3, strides: 1, pad: 'same' }))))(output)).toThrow(
      /Cannot compute gradient of MaxPoolGrad: only pooling windows that tile the input \(stride = window size\) are supported, got window 3×3 with stride 1×1/,
    );
    tf.dispose([input, output, g]);
  });

  it.each([
    { name: '2×2 stride 2 valid', x: [2, 6, 6, 2], size: 2, strides: 2, pad: 'valid' },
    { name: '3×3 stride 1 same (overlapping, padded)', x: [1, 5, 6, 2], size: 3, strides: 1, pad: 'same' },
    { name: '3×3 stride 2 same', x: [1, 7, 6, 1], size: 3, strides: 2, pad: 'same' },
  ] as const)('AvgPoolGrad’s gradient w.r.t. dy is its adjoint ($name)', ({ x, size, strides, pad }) => {
    const input = randomTensor([...x]);
    const dy = tf.tidy(() => randomTensor(tf.avgPool(input as tf.Tensor4D, size, strides, pad).shape));
    checkAdjoint((a) => run(tf.AvgPoolGrad, { dy: a!, input }, { filterSize: size, strides, pad }), [dy], [0]);
    tf.dispose([input, dy]);
  });

  it.each([
    { name: 'stride 1, same', strides: 1, pad: 'same' },
    { name: 'stride 2, valid', strides: 2, pad: 'valid' },
  ] as const)('the depthwise backprop kernels are bilinear and their gradients are their adjoints ($name)', ({ strides, pad }) => {
    const x = randomTensor([2, 6, 5, 3]);
    const filter = randomTensor([3, 3, 3, 2]);
    const dy = tf.tidy(() => randomTensor(tf.depthwiseConv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad).shape));
    const attrs = { strides, pad, dilations: 1 };
    checkAdjoint((a, b) => run(tf.DepthwiseConv2dNativeBackpropFilter, { x: a!, dy: b! }, { ...attrs, filterShape: filter.shape }), [x, dy], [0, 1]);
    checkAdjoint((a, b) => run(tf.DepthwiseConv2dNativeBackpropInput, { dy: a!, filter: b! }, { ...attrs, inputShape: x.shape }), [dy, filter], [0, 1]);
    tf.dispose([x, filter, dy]);
  });
});

/** conv 3×3 'same' (+ bias) → [relu] → [max-pool 2×2/2] → flatten → dense, on 4×4×1 images. */
function tinyConvNet(nonlinear: boolean): ModelSpec {
  const features = nonlinear ? 2 * 2 * 2 : 4 * 4 * 2;
  const shapes = { 'conv/kernel': [3, 3, 1, 2], 'conv/bias': [2], 'dense/kernel': [features, 3], 'dense/bias': [3] };
  return {
    weightNames: Object.keys(shapes),
    prunable: ['conv/kernel', 'dense/kernel'],
    layerOf: { 'conv/kernel': 'conv', 'conv/bias': 'conv', 'dense/kernel': 'dense', 'dense/bias': 'dense' },
    outputLayer: 'dense',
    shapes,
    init: () => Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, tf.mul(randomTensor(s), n.endsWith('bias') ? 0.1 : 0.7)])),
    forward: (w, x) => {
      let a: tf.Tensor4D = tf.add(tf.conv2d(x as tf.Tensor4D, w['conv/kernel'] as tf.Tensor4D, 1, 'same'), w['conv/bias']!);
      if (nonlinear) a = tf.maxPool(tf.relu(a), 2, 2, 'valid');
      return tf.add(tf.matMul(tf.reshape(a, [a.shape[0], -1]), w['dense/kernel'] as tf.Tensor2D), w['dense/bias']!);
    },
  };
}

const batchOf = (n: number) => ({
  x: randomTensor([n, 4, 4, 1]),
  y: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 3), 'int32'), 3), 'float32')),
});
const flat = (m: TensorMap, names: string[]) => names.flatMap((n) => Array.from(m[n]!.dataSync()));
const norm = (a: number[]) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
const relErr = (a: number[], b: number[]) => norm(a.map((x, i) => x - b[i]!)) / norm(b);
const randomDirection = (model: ModelSpec) => Object.fromEntries(model.weightNames.map((n) => [n, randomTensor(model.shapes[n]!)]));

describe('crossEntropyHvp through conv2d and max-pooling', () => {
  it('no longer throws for a conv net with relu and max-pooling, and frees what it allocates', () => {
    const model = tinyConvNet(true);
    const weights = model.init(0);
    const batch = batchOf(4);
    const v = randomDirection(model);
    const hvp = crossEntropyHvp(model, weights, model.weightNames, { chunks: [batch], count: 4 });
    const before = tf.memory().numTensors;
    const hv = hvp(v);
    expect(tf.memory().numTensors).toBe(before + model.weightNames.length);
    for (const n of model.weightNames) expect(hv[n]!.shape).toEqual(model.shapes[n]);
    expect(norm(flat(hv, model.weightNames))).toBeGreaterThan(0);
    tf.dispose([...Object.values(weights), ...Object.values(v), ...Object.values(hv), batch.x, batch.y]);
  });

  it('is symmetric: u·(Hv) = v·(Hu), over two batches', () => {
    const model = tinyConvNet(true);
    const weights = model.init(0);
    const chunks = [batchOf(5), batchOf(3)];
    const [u, v] = [randomDirection(model), randomDirection(model)];
    const hvp = crossEntropyHvp(model, weights, model.weightNames, { chunks, count: 8 });
    const [hu, hv] = [hvp(u), hvp(v)];
    const pair = (a: TensorMap, b: TensorMap) => flat(a, model.weightNames).reduce((s, x, i) => s + x * flat(b, model.weightNames)[i]!, 0);
    const [uHv, vHu] = [pair(u, hv), pair(v, hu)];
    expect(Math.abs(uHv - vHu)).toBeLessThan(1e-4 * Math.max(Math.abs(uHv), norm(flat(u, model.weightNames)) * norm(flat(hv, model.weightNames))));
    tf.dispose([...Object.values(weights), ...Object.values(u), ...Object.values(v), ...Object.values(hu), ...Object.values(hv), ...chunks.flatMap((b) => [b.x, b.y])]);
  });

  it('agrees with a central difference of gradients where no relu or max-pool decision changes', () => {
    const model = tinyConvNet(true);
    const weights = model.init(0);
    const batch = batchOf(6);
    const v = randomDirection(model);
    const names = model.weightNames;
    // The decisions at w: which conv outputs are positive, and which position each window picks.
    const decisions = (w: TensorMap) =>
      tf.tidy(() => {
        const a = tf.add(tf.conv2d(batch.x as tf.Tensor4D, w['conv/kernel'] as tf.Tensor4D, 1, 'same'), w['conv/bias']!);
        const chosen = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(tf.relu(a));
        return [...a.dataSync()].map((z) => z > 0).join() + [...chosen.dataSync()].join();
      });
    const loss = (...ws: tf.Tensor[]) => tf.losses.softmaxCrossEntropy(batch.y, model.forward(Object.fromEntries(names.map((n, i) => [n, ws[i]!])), batch.x, false)) as tf.Scalar;
    const gradient = (w: TensorMap) => tf.tidy(() => tf.grads(loss)(names.map((n) => w[n]!)).flatMap((g) => Array.from(g.dataSync())));
    // Step 1e-3 of the weights' norm: float32 gradients carry ~1e-7 relative rounding, which the
    // difference divides by the step, so the reference itself is off by ~1e-4 relative, plus O(h²)
    // terms (measured: 4e-5); the exact product is far closer to the truth than that.
    const h = (1e-3 * norm(flat(weights, names))) / norm(flat(v, names));
    const shifted = (sign: number) => tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.add(weights[n]!, tf.mul(v[n]!, sign * h))])));
    const [plus, minus] = [shifted(1), shifted(-1)];
    expect(decisions(plus)).toBe(decisions(weights));
    expect(decisions(minus)).toBe(decisions(weights));
    const [gp, gm] = [gradient(plus), gradient(minus)];
    const reference = gp.map((g, i) => (g - gm[i]!) / (2 * h));
    const hv = crossEntropyHvp(model, weights, names, { chunks: [batch], count: 6 })(v);
    expect(relErr(flat(hv, names), reference)).toBeLessThan(1e-3);
    tf.dispose([...Object.values(weights), ...Object.values(v), ...Object.values(hv), ...Object.values(plus), ...Object.values(minus), batch.x, batch.y]);
  });

  it('on a linear conv net, its dense-kernel block is the analytic softmax-regression Hessian of the conv features, Σ φ φᵀ ⊗ (diag p − p pᵀ) / N', () => {
    const model = tinyConvNet(false);
    const weights = model.init(0);
    const n = 5;
    const batch = batchOf(n);
    const names = model.weightNames;
    // v only in the dense kernel: the block H_dd v is then Hv's dense-kernel part.
    const v = Object.fromEntries(names.map((name) => [name, name === 'dense/kernel' ? randomTensor(model.shapes[name]!) : tf.zeros(model.shapes[name]!)]));
    const [d, c] = model.shapes['dense/kernel'] as [number, number];
    const phi = tf.tidy(() => tf.reshape(tf.add(tf.conv2d(batch.x as tf.Tensor4D, weights['conv/kernel'] as tf.Tensor4D, 1, 'same'), weights['conv/bias']!), [n, d]).arraySync() as number[][]);
    const [w, b, vd] = [weights['dense/kernel']!.dataSync(), weights['dense/bias']!.dataSync(), v['dense/kernel']!.dataSync()];
    const expected = new Array<number>(d * c).fill(0);
    for (const f of phi) {
      const z = Array.from({ length: c }, (_, k) => b[k]! + f.reduce((s, fi, i) => s + fi * w[i * c + k]!, 0));
      const e = z.map((zk) => Math.exp(zk - Math.max(...z)));
      const p = e.map((ek) => ek / e.reduce((s, x) => s + x, 0));
      // (diag p − p pᵀ) applied to the logit change Vᵀφ, then spread over φ.
      const dz = Array.from({ length: c }, (_, l) => f.reduce((s, fj, j) => s + fj * vd[j * c + l]!, 0));
      const pdz = p.reduce((s, pl, l) => s + pl * dz[l]!, 0);
      for (let i = 0; i < d; i++) for (let k = 0; k < c; k++) expected[i * c + k]! += (f[i]! * p[k]! * (dz[k]! - pdz)) / n;
    }
    const hv = crossEntropyHvp(model, weights, names, { chunks: [batch], count: n })(v);
    const got = Array.from(hv['dense/kernel']!.dataSync());
    expect(relErr(got, expected)).toBeLessThan(1e-5);
    tf.dispose([...Object.values(weights), ...Object.values(v), ...Object.values(hv), batch.x, batch.y]);
  });
});
