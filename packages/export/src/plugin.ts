/**
 * The plugin entry of @lth/export (package.json "lth.plugin"): its formats as exporters, the
 * same kind a third-party format registers. Light on purpose: the loader imports it for every lth
 * command, and each exporter loads its format's code only when it writes or reads.
 */
import { type DependencyContainer, TOKENS } from '@lth/core';
import { onnxExporter } from './onnx-exporter.js';
import { sparseExporter } from './sparse-exporter.js';
import { tfjsExporter } from './tfjs-exporter.js';

/** Adds the sparse, tfjs and onnx exporters to `container` (called by the loader; importing registers nothing). */
export function register(container: DependencyContainer): void {
  container.register(TOKENS.exporter, { useValue: sparseExporter });
  container.register(TOKENS.exporter, { useValue: tfjsExporter });
  container.register(TOKENS.exporter, { useValue: onnxExporter });
}
