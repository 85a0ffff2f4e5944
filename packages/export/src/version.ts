import { createRequire } from 'node:module';

/**
 * The package version, read from package.json at run time so that it has a single source.
 * `../package.json` resolves from both `src/` (tests) and `dist/` (the published build).
 */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
