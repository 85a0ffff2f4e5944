import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_VERSION, type Exporter, type Static, Type, writeFileAtomic } from '@lth/core';
import { VERSION } from './version.js';

export const SPARSE_FILE = 'model.lthsparse';

const optionsSchema = Type.Object(
  {
    values: Type.Union([Type.Literal('float32'), Type.Literal('float16')], {
      description: 'Precision of the stored kernel values: float32, or float16 (half the bytes; re-checked within 0.05 pp). Biases stay float32.',
    }),
  },
  { additionalProperties: false },
);
export type SparseExporterOptions = Static<typeof optionsSchema>;

/** The lth sparse format (docs/sparse-format.md) for @lth/sparse-runtime: only the kept weights; fully connected and Conv-2/4/6-style models. */
export const sparseExporter: Exporter<SparseExporterOptions> = {
  meta: { name: 'sparse', version: VERSION, apiVersion: API_VERSION, description: 'model.lthsparse: only the kept weights (CSR), run by @lth/sparse-runtime; LeNet and Conv-2/4/6' },
  optionsSchema,
  defaults: { values: 'float32' },
  accuracyTolerance: (o) => (o.values === 'float16' ? 5e-4 : 1e-4),
  async write(ticket, o, outDir) {
    // Loaded on use: discovery imports this file for every lth command.
    const { sparseModelBytes } = await import('./formats.js');
    writeFileAtomic(join(outDir, SPARSE_FILE), sparseModelBytes(ticket, o.values));
    return [SPARSE_FILE];
  },
  async load(outDir) {
    const { SparseModel } = await import('@lth/sparse-runtime');
    const model = SparseModel.read(readFileSync(join(outDir, SPARSE_FILE)));
    return { predict: (x, batch) => model.predict(x, batch) };
  },
};
