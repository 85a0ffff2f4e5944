import { describe, expect, it } from 'vitest';

import { coreTypeProblem } from './cpu_check.js';

describe('coreTypeProblem', () => {
  it('flags an OPENBLAS_CORETYPE whose kernels this CPU cannot run', () => {
    expect(coreTypeProblem({ OPENBLAS_CORETYPE: 'SkylakeX' }, new Set(['avx2', 'fma']))).toMatch(/needs avx512f/);
  });
  it('accepts a matching or unset core type', () => {
    expect(coreTypeProblem({ OPENBLAS_CORETYPE: 'Haswell' }, new Set(['avx2']))).toBeUndefined();
    expect(coreTypeProblem({}, new Set())).toBeUndefined();
    expect(coreTypeProblem({ OPENBLAS_CORETYPE: 'Zen' }, undefined)).toBeUndefined();
  });
});
