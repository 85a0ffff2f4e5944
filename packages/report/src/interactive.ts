import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The browser builds that run a chart: vega, vega-lite (compiles the spec) and vega-embed (tooltips, binds). */
export const VEGA_PACKAGES = ['vega', 'vega-lite', 'vega-embed'] as const;
export type VegaPackage = (typeof VEGA_PACKAGES)[number];

const found = new Map<VegaPackage, string>();

/**
 * The path of a package's browser (UMD) build, the file its package.json names for CDNs
 * (`unpkg`): the packages' `exports` hide their build folders, so the file is found from the
 * package's own directory, wherever npm installed it.
 */
export function vegaBrowserBuild(name: VegaPackage): string {
  const known = found.get(name);
  if (known) return known;
  let dir = dirname(require.resolve(name));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; unpkg?: string; jsdelivr?: string };
      if (pkg.name === name) {
        const build = pkg.unpkg ?? pkg.jsdelivr;
        if (!build) throw new Error(`${manifest} names no browser build (unpkg)`);
        const file = join(dir, build);
        found.set(name, file);
        return file;
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the package directory of ${name}`);
    dir = up;
  }
}

/**
 * Embeds every chart of a page: each `[data-vega-spec]` element holds a chart's static SVG and
 * names the `<script type="application/json">` with its vega-lite spec; the live chart replaces
 * the SVG once it has rendered (if anything fails, the SVG stays). Shared by the report's HTML
 * and the dashboard, which calls `lthEmbed(element, spec)` for charts it builds later.
 */
export const EMBED_SCRIPT = `
window.lthEmbed = function (el, spec) {
  var live = document.createElement('div');
  live.className = 'vega-live';
  return vegaEmbed(live, spec, { actions: false, renderer: 'svg' }).then(function (result) {
    el.replaceChildren(live);
    el.setAttribute('data-embedded', 'true');
    return result;
  });
};
document.querySelectorAll('[data-vega-spec]').forEach(function (el) {
  var source = document.getElementById(el.getAttribute('data-vega-spec'));
  if (!source) return;
  window.lthEmbed(el, JSON.parse(source.textContent)).catch(function (error) {
    console.warn('chart ' + el.id + ' stays static: ' + error);
  });
});
`;

/** JSON that can sit inside a `<script>` element (no `</script>`, no `<!--`). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** The three browser builds as inline `<script>` elements, for a page that must work offline and alone. */
export function inlineVegaScripts(): string {
  // `<\/script` means the same to JavaScript, and does not end the element.
  const code = (name: VegaPackage) => readFileSync(vegaBrowserBuild(name), 'utf8').replace(/<\/(script)/gi, '<\\/$1');
  return VEGA_PACKAGES.map((name) => `<script>/* ${name} */\n${code(name)}\n</script>`).join('\n');
}
