import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { discover } from './main.js';
import { configJsonSchema } from './schema.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const example = (name: string) => JSON.parse(readFileSync(resolve(root, 'examples', name), 'utf8'));
let validate: ReturnType<Ajv['compile']>;

beforeAll(async () => {
  const { registry } = await discover();
  validate = new Ajv({ strict: false, allErrors: true }).compile(configJsonSchema(registry));
});

describe('lth schema (editor completion)', () => {
  it('accepts the example run configs', () => {
    for (const file of ['lenet-mnist.json', 'lenet-mnist-paper.json', 'snip-global.json']) {
      expect(validate(example(file)), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('rejects an unknown plugin name, an unknown option and a missing learning rate', () => {
    const config = example('lenet-mnist.json');
    expect(validate({ ...config, pruning: { ...config.pruning, scorer: { use: 'magnitud' } } })).toBe(false);
    expect(validate({ ...config, pruning: { ...config.pruning, masker: { use: 'layerwise', overides: {} } } })).toBe(false);
    expect(validate({ ...config, training: { ...config.training, optimizer: { use: 'adam' } } })).toBe(false);
  });
});
