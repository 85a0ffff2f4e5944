import type { ViteUserConfig } from 'vitest/config';

/**
 * Every package tests its TypeScript sources directly: the `@lth/source` export condition makes
 * `import '@lth/core'` resolve to `packages/core/src/index.ts`, so no build is needed to test.
 */
const conditions = ['@lth/source', 'node', 'import', 'module', 'default'];

export const sharedTestConfig: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['node'] } },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
};
