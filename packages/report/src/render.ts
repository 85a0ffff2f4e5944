import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { measureItemText } from './text-metrics.js';

// vega-scenegraph's text measure (exported by vega, untyped): replaced while we render (see text-metrics.ts).
const textMetrics = (vega as unknown as { textMetrics: { width: (item: object, text: unknown) => number } }).textMetrics;

/** Compiles a vega-lite spec and renders it to an SVG string in Node (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const previous = textMetrics.width;
  textMetrics.width = measureItemText;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
    textMetrics.width = previous;
  }
}

/**
 * Makes the ids inside an SVG unique to it (vega names clip paths `clip1`, `clip2`, ... in every
 * chart), so several charts can be inlined in one HTML page without borrowing each other's clips.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}-${id}"`);
}

// Sans-serif families we know by their file names, in order of preference.
const KNOWN_FONTS: [RegExp, string][] = [
  [/^DejaVuSans\.ttf$/i, 'DejaVu Sans'],
  [/^LiberationSans-Regular\.ttf$/i, 'Liberation Sans'],
  [/^NotoSans-Regular\.[ot]tf$/i, 'Noto Sans'],
  [/^arial\.ttf$/i, 'Arial'],
  [/^Helvetica\.tt[cf]$/i, 'Helvetica'],
];
const FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts', `${process.env.HOME ?? ''}/.fonts`, `${process.env.HOME ?? ''}/.local/share/fonts`, '/System/Library/Fonts', '/Library/Fonts', 'C:\\Windows\\Fonts'];

function findFontFiles(dir: string, depth: number, out: string[]): void {
  if (depth > 4 || !existsSync(dir)) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.isDirectory()) findFontFiles(join(dir, e.name), depth + 1, out);
    else out.push(e.name);
  }
}

let cachedFont: string | null | undefined;
/** The installed sans-serif family the PNG renderer falls back to, or null when none is found. */
export function sansSerifFamily(): string | null {
  if (cachedFont !== undefined) return cachedFont;
  const files: string[] = [];
  for (const dir of FONT_DIRS) findFontFiles(dir, 0, files);
  cachedFont = KNOWN_FONTS.find(([re]) => files.some((f) => re.test(f)))?.[1] ?? null;
  return cachedFont;
}

/** Rasterises an SVG to PNG at `scale` × its size (2: sharp enough for print at column width). */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const family = sansSerifFamily() ?? 'DejaVu Sans';
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: family, sansSerifFamily: family },
  });
  return resvg.render().asPng();
}
