import { readFileSync } from 'node:fs';
import { rootContainer, TOKENS } from '@lth/core';
import { describe, expect, it } from 'vitest';
import { instability, register, VERSION } from './index.js';

describe('package', () => {
  it('VERSION matches package.json, and the branch carries it', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    expect(instability.meta.version).toBe(pkg.version);
  });

  it('register() adds the instability branch to the container it is given, and importing registers nothing', () => {
    expect(rootContainer.isRegistered(TOKENS.branch)).toBe(false);
    const child = rootContainer.createChildContainer();
    register(child);
    expect(child.resolveAll(TOKENS.branch)).toEqual([instability]);
  });
});
