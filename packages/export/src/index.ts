/**
 * @lth/export: a ticket (one level of a run) as a model to use outside lth, through exporters (a
 * plugin kind): the lth sparse format (`@lth/sparse-runtime`), a TensorFlow.js LayersModel and
 * ONNX are this package's; third-party packages add formats the same way. Level selection,
 * ticket reading and the re-check on the test set are shared by every format.
 */
export * from './export.js';
export * from './fold.js';
export * from './formats.js';
export * from './onnx.js';
export * from './onnx-runtime.js';
export * from './onnx-exporter.js';
export * from './sparse-exporter.js';
export * from './tfjs-exporter.js';
export * from './ticket.js';
export { register } from './plugin.js';
export { VERSION } from './version.js';
