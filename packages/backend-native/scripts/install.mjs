// `npm install` hook: builds the N-API addon with node-gyp, offline, against the headers of the
// running node. It never fails the install: when the build fails (no OpenBLAS, no compiler...),
// it records why in build/lth-native-error.txt, prints one line, and exits 0, so `--backend auto`
// falls back to wasm and `lth plugins` can say how to get the fast path.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const errorFile = join(root, 'build', 'lth-native-error.txt');
const stampFile = join(root, 'build', 'lth-native-stamp.txt');
const addonFile = join(root, 'build', 'Release', 'lth_native.node');

if (process.env.LTH_NATIVE_SKIP_BUILD === '1') {
  console.log('@lth/backend-native: LTH_NATIVE_SKIP_BUILD=1, not building the native addon');
  process.exit(0);
}

/** npm's own node-gyp (npm exports its path to lifecycle scripts), else the one beside npm. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

/** Headers of this node, so node-gyp never tries to download them (there is no network). */
function findNodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function fail(reason, log = '') {
  mkdirSync(dirname(errorFile), { recursive: true });
  writeFileSync(errorFile, `${reason}\n${log}`);
  console.log(`@lth/backend-native: native addon not built (${reason}); the native backend is unavailable, ` +
    'wasm is used instead. Fix: apt-get install libopenblas-dev libdnnl-dev, then npm rebuild @lth/backend-native');
  process.exit(0);
}

/**
 * What the addon is built from: its sources, the build config, node's ABI and the knobs. A
 * workspace install runs this script every time; an unchanged build is kept (no rebuild, and
 * no moment where the addon is missing for processes using it).
 */
function buildStamp() {
  const hash = createHash('sha256');
  for (const f of ['binding.gyp', 'scripts/detect.cjs', ...readdirSync(join(root, 'native')).sort().map((n) => `native/${n}`)]) {
    hash.update(f).update(readFileSync(join(root, f)));
  }
  hash.update(JSON.stringify([process.versions.modules, process.arch, process.env.LTH_NATIVE_MARCH ?? '', process.env.LTH_NATIVE_NO_DNNL ?? '']));
  return hash.digest('hex');
}

const stamp = buildStamp();
if (process.env.LTH_NATIVE_FORCE_BUILD !== '1' && existsSync(addonFile) && existsSync(stampFile) &&
    readFileSync(stampFile, 'utf8').trim() === stamp) {
  console.log('@lth/backend-native: native addon up to date');
  process.exit(0);
}

const gyp = findNodeGyp();
if (!gyp) fail('node-gyp not found');
const nodedir = findNodeDir();
const args = [gyp, 'rebuild', '--release', `--jobs=${process.env.LTH_NATIVE_JOBS ?? '2'}`];
if (nodedir) args.push(`--nodedir=${nodedir}`);
rmSync(errorFile, { force: true });
const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env } });
const log = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
if (result.status !== 0) {
  const missing = /cblas\.h|lopenblas/.test(log)
    ? 'libopenblas not found'
    : /fatal error: ([^\n]+)/.exec(log)?.[1] ?? `node-gyp exited with ${result.status ?? result.signal}`;
  fail(missing, log);
}
rmSync(errorFile, { force: true });
writeFileSync(stampFile, `${stamp}\n`);
console.log('@lth/backend-native: native addon built');
