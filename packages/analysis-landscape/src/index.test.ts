import { readFileSync } from 'node:fs';
import { rootContainer, TOKENS } from '@lth/core';
import { describe, expect, it } from 'vitest';
import { landscape, register, sharpness, VERSION } from './index.js';

describe('package', () => {
  it('VERSION matches package.json, and the branches carry it', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    expect(landscape.meta.version).toBe(pkg.version);
    expect(sharpness.meta.version).toBe(pkg.version);
  });

  it('register() adds the landscape and sharpness branches to the container it is given, and importing registers nothing', () => {
    expect(rootContainer.isRegistered(TOKENS.branch)).toBe(false);
    const child = rootContainer.createChildContainer();
    register(child);
    expect(child.resolveAll(TOKENS.branch)).toEqual([landscape, sharpness]);
  });
});
