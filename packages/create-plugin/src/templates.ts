/**
 * The files of a new plugin package. Plain JavaScript ESM with JSDoc types (`// @ts-check`), so
 * the package needs no build step: what `npm test` runs is what `npm publish` ships.
 */

/** What the templates are filled in with. */
export interface PluginNames {
  /** The npm package name, e.g. `lth-plugin-demo` or `@you/lth-plugin-demo`. */
  packageName: string;
  /** The scorer's name, what configs write in `"use"` (the package name without scope and `lth-plugin-`). */
  scorerName: string;
  /** The range of @lth/core the package is written against (peer and dev dependency). */
  coreRange: string;
}

export function packageJson(n: PluginNames): string {
  const manifest = {
    name: n.packageName,
    version: '0.1.0',
    description: `An lth plugin: the scorer "${n.scorerName}"`,
    license: 'MIT',
    type: 'module',
    main: './index.js',
    exports: { '.': './index.js', './package.json': './package.json' },
    files: ['index.js', 'scorer.js', 'example.json', 'README.md'],
    keywords: ['lth', 'lth-plugin', 'lottery-ticket', 'pruning'],
    scripts: { test: 'node --test' },
    // The field lth discovers plugin packages by: the module that exports register(container).
    lth: { plugin: './index.js' },
    // A peer: the project's one copy of core (one TensorFlow.js, one set of tokens) serves every plugin.
    peerDependencies: { '@lth/core': n.coreRange },
    devDependencies: { '@lth/core': n.coreRange },
    engines: { node: '>=20' },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function indexJs(): string {
  return `// @ts-check
import { TOKENS } from '@lth/core';
import { scorer } from './scorer.js';

export { scorer };

/**
 * Adds this package's plugins to \`container\`. lth's loader calls it once per run, on a child
 * container; importing this module registers nothing. A second plugin is one more file and one
 * more line here (TOKENS.masker, TOKENS.branch, TOKENS.rewinder, ...).
 * @param {import('@lth/core').DependencyContainer} container
 */
export function register(container) {
  container.register(TOKENS.scorer, { useValue: scorer });
}
`;
}

export function scorerJs(n: PluginNames): string {
  return `// @ts-check
import { createRequire } from 'node:module';
import { API_VERSION, tf, Type } from '@lth/core';

const { version } = createRequire(import.meta.url)('./package.json');

/** @typedef {{ initWeight: number }} Options */

/**
 * The scorer "${n.scorerName}": score = |θ| + initWeight · |θ0| (higher = kept). With the default
 * initWeight 0 it is magnitude pruning; replace the body of score() with your criterion.
 * @type {import('@lth/core').Scorer<Options>}
 */
export const scorer = {
  meta: {
    name: '${n.scorerName}',
    version,
    apiVersion: API_VERSION,
    description: '|w| + initWeight * |w0| (keep the largest)',
  },
  // The options' JSON Schema (every field described); core validates configs against it.
  optionsSchema: Type.Object(
    {
      initWeight: Type.Number({ minimum: 0, description: 'Weight of |w0|, the magnitude at initialisation, added to |w|' }),
    },
    { additionalProperties: false },
  ),
  // Defaults live beside the schema; core fills them in before calling score().
  defaults: { initWeight: 0 },
  score(ctx, { initWeight }) {
    /** @type {import('@lth/core').Scores} */
    const scores = {};
    for (const name of ctx.model.prunable) {
      const w = ctx.weights[name];
      const w0 = ctx.init[name];
      // Inside tf.tidy, so no intermediate tensor outlives this call.
      const data = tf.tidy(() => tf.add(tf.abs(w), tf.mul(tf.abs(w0), initWeight)).dataSync());
      scores[name] = { shape: [...w.shape], data: Float32Array.from(data) };
    }
    return scores;
  },
};
`;
}

export function scorerTestJs(n: PluginNames): string {
  return `// Run with \`npm test\` (node's own test runner; the checks come from @lth/core/testing).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TOKENS } from '@lth/core';
import { checkScorer, fakeScorerContext } from '@lth/core/testing';
import { register, scorer } from '../index.js';

test('passes the Scorer conformance checks of @lth/core/testing', async () => {
  await checkScorer(scorer);
  await checkScorer(scorer, { options: { initWeight: 0.5 } });
});

test('scores |w| + initWeight * |w0|, weight by weight', async () => {
  const ctx = fakeScorerContext({ seed: 1 });
  try {
    const scores = await scorer.score(ctx, { initWeight: 0.5 });
    for (const name of ctx.model.prunable) {
      const w = ctx.weights[name].dataSync();
      const w0 = ctx.init[name].dataSync();
      const expected = Float32Array.from(w, (v, i) => Math.abs(v) + 0.5 * Math.abs(w0[i]));
      assert.deepEqual(scores[name].shape, ctx.weights[name].shape);
      for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(scores[name].data[i] - expected[i]) < 1e-6, \`\${name}[\${i}]\`);
    }
  } finally {
    ctx.dispose();
  }
});

test('register() adds the scorer "${n.scorerName}" under TOKENS.scorer', () => {
  const registered = [];
  register({ register: (token, provider) => registered.push([token, provider.useValue]) });
  assert.deepEqual(registered, [[TOKENS.scorer, scorer]]);
  assert.equal(scorer.meta.name, '${n.scorerName}');
});
`;
}

/** A config small enough to run in seconds on any backend (synthetic data, a tiny net). */
export function exampleJson(n: PluginNames): string {
  const config = {
    name: `example-${n.scorerName}`,
    seed: 0,
    dataset: { use: 'synthetic', validation: 100, train: 600, test: 200 },
    model: { use: 'lenet-32' },
    training: { optimizer: { use: 'adam', lr: 0.01 }, batchSize: 32, iterations: 40, evalEvery: 20 },
    pruning: { schedule: { use: 'iterative', levels: 2, rate: 0.5 }, scorer: { use: n.scorerName, initWeight: 0.5 } },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export function readme(n: PluginNames): string {
  const dir = n.packageName.replace(/^@[^/]+\//, '');
  return `# ${n.packageName}

An [lth](https://www.npmjs.com/package/@lth/cli) plugin with one scorer, \`${n.scorerName}\`:
score = |θ| + \`initWeight\` · |θ0| (default \`initWeight\` 0: magnitude pruning). Replace
\`score()\` in [scorer.js](scorer.js) with your own criterion.

| file | what it is |
|---|---|
| \`package.json\` | an ordinary npm package; \`"lth": { "plugin": "./index.js" }\` is how lth finds it, \`@lth/core\` a peer dependency |
| \`index.js\` | \`register(container)\`: adds the scorer under \`TOKENS.scorer\` (nothing registers on import) |
| \`scorer.js\` | the scorer: \`meta\` (its name in configs), \`optionsSchema\`, \`defaults\`, \`score(ctx, options)\` |
| \`test/scorer.test.js\` | the conformance checks of \`@lth/core/testing\`, and a check by hand |
| \`example.json\` | a run config that uses the scorer, small enough to run in seconds |

## Develop

\`\`\`sh
cd ${dir}
npm install      # @lth/core, for the tests
npm test         # node --test: conformance checks (shapes, no NaN, deterministic, no leaked tensors)
\`\`\`

## Use it

Publish it (\`npm publish\`), or pack it (\`npm pack\`), then in your project:

\`\`\`sh
npm install @lth/cli ${n.packageName}     # or the .tgz that npm pack wrote
npx lth plugins                             # scorer  ${n.scorerName}  ${n.packageName}@0.1.0
npx lth run node_modules/${n.packageName}/example.json
\`\`\`

In your own configs: \`"pruning": { "scorer": { "use": "${n.scorerName}", "initWeight": 0.5 } }\`.
lth loads the plugin packages your project's \`package.json\` lists (dependencies,
devDependencies, optionalDependencies), so \`npm install\` is all it takes.

## More plugins in one package

One file per plugin, one \`container.register\` line each in \`index.js\`: \`TOKENS.masker\`,
\`TOKENS.branch\`, \`TOKENS.rewinder\`, \`TOKENS.dataset\`, \`TOKENS.model\`, ... The contracts are
documented in \`@lth/core\` (\`contracts.d.ts\`); \`@lth/core/testing\` has \`checkMasker\`,
\`checkRewinder\` and \`checkBranch\` beside \`checkScorer\`.
`;
}

export const gitignore = 'node_modules/\n*.tgz\nruns/\n';
