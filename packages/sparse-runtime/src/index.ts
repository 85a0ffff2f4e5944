/**
 * @lth/sparse-runtime: inference of an lth sparse model (docs/sparse-format.md) in plain
 * JavaScript, in Node and in browsers, with no dependencies. Fully connected nets (the LeNet
 * family: CSR kernels times a dense batch, fused bias and ReLU) and convolutional ones (Conv-2/4/6:
 * sparse 2D convolutions, max-pooling).
 */
export * from './format.js';
export { type Conv2dLayerInput, convOutputShape, type DenseLayerInput, type EncodeOptions, encodeSparseModel, type LayerInput, type MaxPoolLayerInput } from './encode.js';
export { fromFloat16, toFloat16 } from './float16.js';
export { argmax, type KernelChoice, type ReadOptions, SparseModel, softmax } from './model.js';
export { wasmSimdAvailable } from './wasm-kernel.js';
