import { readFileSync } from 'node:fs';

/** OpenBLAS core types whose kernels need AVX-512 (or AVX2); a wrong OPENBLAS_CORETYPE crashes with SIGILL. */
const NEEDS: Record<string, string> = {
  skylakex: 'avx512f', cooperlake: 'avx512f', sapphirerapids: 'avx512f',
  haswell: 'avx2', zen: 'avx2',
};

/**
 * Why OpenBLAS would crash the process here, or undefined: OPENBLAS_CORETYPE selects kernels
 * without checking the CPU, and an illegal instruction cannot be caught.
 */
export function coreTypeProblem(env = process.env, cpuinfo = readCpuFlags()): string | undefined {
  const core = env.OPENBLAS_CORETYPE?.trim().toLowerCase();
  if (!core || cpuinfo === undefined) return undefined;
  const flag = NEEDS[core];
  if (flag && !cpuinfo.has(flag)) {
    return `OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE} needs ${flag}, which this CPU lacks: unset it or pick a matching core type`;
  }
  return undefined;
}

function readCpuFlags(): Set<string> | undefined {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return line ? new Set(line.split(':')[1]!.trim().split(/\s+/)) : undefined;
  } catch {
    return undefined;
  }
}
