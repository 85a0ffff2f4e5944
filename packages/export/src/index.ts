/**
 * @lth/export: a ticket (one level of a run) as a model to use outside lth: the lth sparse format
 * (`@lth/sparse-runtime`) or a TensorFlow.js LayersModel. Fully connected models (the LeNet
 * family) for now; other models are refused with the layers they have.
 */
export * from './export.js';
export * from './formats.js';
export * from './onnx.js';
export * from './onnx-runtime.js';
export * from './ticket.js';
export { VERSION } from './version.js';
