import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { discover } from './main.js';
import { configReference } from './reference.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('config reference', () => {
  it('docs/config-reference.md is what `lth reference` generates (run it to update the file)', async () => {
    const { registry } = await discover();
    const generated = configReference(registry);
    expect(generated).toContain('`training.optimizer.lr`');
    expect(generated).toContain('### `layerwise` (@lth/strategy-magnitude@');
    expect(readFileSync(resolve(root, 'docs/config-reference.md'), 'utf8')).toBe(generated);
  });
});
