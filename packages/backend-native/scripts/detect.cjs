// Build-time probes for binding.gyp: `node scripts/detect.cjs <what>` prints one value.
// Uses pkg-config where it knows the library, and Debian's standard paths otherwise.
'use strict';
const { execSync } = require('node:child_process');
const { existsSync } = require('node:fs');

function pkgConfig(args) {
  try {
    return execSync(`pkg-config ${args}`, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

const what = process.argv[2];
if (what === 'blas-cflags') {
  console.log(pkgConfig('--cflags openblas') ?? '');
} else if (what === 'blas-libs') {
  console.log(pkgConfig('--libs openblas') ?? '-lopenblas');
} else if (what === 'dnnl') {
  // oneDNN is optional: without it, convolutions use tfjs' cpu kernels.
  const off = process.env.LTH_NATIVE_NO_DNNL === '1';
  const found = ['/usr/include/dnnl.h', '/usr/local/include/dnnl.h', '/usr/include/oneapi/dnnl/dnnl.h'].some(existsSync);
  console.log(!off && found ? 1 : 0);
} else if (what === 'march') {
  // The addon is compiled on the machine that runs it (at install), so tune for it.
  console.log(process.env.LTH_NATIVE_MARCH ?? 'native');
} else {
  console.error(`detect.cjs: unknown probe ${what}`);
  process.exit(1);
}
