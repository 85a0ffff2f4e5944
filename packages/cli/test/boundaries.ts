import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * Package boundaries, by Nx project tag (`"nx": { "tags": ["type:…"] }` in each package.json):
 * what a package of each type may depend on or import, among the workspace's packages. Plugins
 * depend on core only and never on each other, so a config can mix them by name; core knows no
 * plugin; only the app (the CLI distribution) puts them together. A runtime stands alone.
 */
export const ALLOWED: Record<string, readonly string[]> = {
  'type:core': [],
  // A plugin may use a runtime (a standalone library, like any npm dependency): @lth/export's
  // exporters write what @lth/sparse-runtime reads. Runtimes use no workspace package, so this
  // couples no two plugins.
  'type:plugin': ['type:core', 'type:runtime'],
  // A standalone library that users ship with their models (e.g. @lth/sparse-runtime): it runs
  // without lth, so it uses no other workspace package, core included.
  'type:runtime': [],
  // A library on top of core that the app uses (e.g. @lth/report): it reads runs, knows no
  // plugin, and may write what a runtime reads. A tool may build on another (the dashboard draws
  // the report's charts: one implementation of each chart).
  'type:tool': ['type:core', 'type:runtime', 'type:tool'],
  'type:app': ['type:core', 'type:plugin', 'type:tool', 'type:runtime'],
};

const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'] as const;
const SOURCE_DIRS = ['src', 'test'];
const SOURCE_FILE = /\.(c|m)?tsx?$/;

interface WorkspacePackage {
  name: string;
  dir: string;
  type: string | undefined;
  dependsOn: string[];
}

function readPackages(root: string): { packages: WorkspacePackage[]; problems: string[] } {
  const problems: string[] = [];
  const packagesDir = join(root, 'packages');
  const packages = readdirSync(packagesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(packagesDir, d.name, 'package.json')))
    .map((d): WorkspacePackage => {
      const dir = join(packagesDir, d.name);
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name: string;
        nx?: { tags?: string[] };
        lth?: { plugin?: unknown };
      } & Partial<Record<(typeof DEPENDENCY_FIELDS)[number], Record<string, string>>>;
      const types = (json.nx?.tags ?? []).filter((t) => t.startsWith('type:'));
      if (types.length !== 1 || !(types[0]! in ALLOWED)) {
        problems.push(`${json.name}: needs exactly one of the tags ${Object.keys(ALLOWED).join(', ')} in package.json "nx.tags" (has ${types.join(', ') || 'none'})`);
      }
      // A package that declares an lth plugin is a plugin, unless it is the distribution that bundles them.
      if (json.lth?.plugin !== undefined && types[0] !== 'type:plugin' && types[0] !== 'type:app') {
        problems.push(`${json.name}: declares "lth.plugin", so it must be tagged type:plugin (has ${types.join(', ') || 'none'})`);
      }
      const dependsOn = [...new Set(DEPENDENCY_FIELDS.flatMap((field) => Object.keys(json[field] ?? {})))];
      return { name: json.name, dir, type: types[0], dependsOn };
    });
  return { packages, problems };
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && SOURCE_FILE.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !file.split(sep).includes('node_modules'));
}

/** Every module specifier a file imports: static, type-only, re-exports, dynamic `import()` and `require`. */
function importSpecifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** The workspace package a specifier names: by package name, or a relative path into its directory. */
function targetOf(specifier: string, file: string, packages: WorkspacePackage[]): WorkspacePackage | undefined {
  if (specifier.startsWith('.')) {
    const target = resolve(file, '..', specifier);
    return packages.find((p) => target === p.dir || target.startsWith(p.dir + sep));
  }
  return packages.find((p) => specifier === p.name || specifier.startsWith(`${p.name}/`));
}

/**
 * Checks the package boundaries of the workspace at `root` (its `packages/*`): package.json
 * dependencies of every kind, and the imports of every source file under `src/` and `test/`.
 * Returns one message per violation; none means the boundaries hold.
 */
export function checkBoundaries(root: string): string[] {
  const { packages, problems } = readPackages(root);
  const byName = new Map(packages.map((p) => [p.name, p]));
  const violation = (from: WorkspacePackage, to: WorkspacePackage, how: string) => {
    if (from === to || !from.type || !to.type) return;
    if (ALLOWED[from.type]?.includes(to.type)) return;
    const allowed = ALLOWED[from.type]?.length ? ALLOWED[from.type]!.join(', ') : 'no other workspace package';
    problems.push(`${from.name} (${from.type}) ${how} ${to.name} (${to.type}); a ${from.type} package may use ${allowed}`);
  };
  for (const pkg of packages) {
    for (const dep of pkg.dependsOn) {
      const target = byName.get(dep);
      if (target) violation(pkg, target, 'depends on');
    }
    for (const file of SOURCE_DIRS.flatMap((d) => sourceFiles(join(pkg.dir, d)))) {
      for (const specifier of importSpecifiers(file)) {
        const target = targetOf(specifier, file, packages);
        if (target) violation(pkg, target, `imports ('${specifier}' in ${relative(root, file)})`);
      }
    }
  }
  return problems;
}
