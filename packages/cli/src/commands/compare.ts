import { existsSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type MaskOverlap, masksOverlap, topMagnitudeMasks } from '@lth/analysis-connectivity';
import { type HostTensor, type Masks, readJson, RunStore, type SweepManifest, toCsv, UserError } from '@lth/core';
import type { AddCommand } from '../context.js';

/** One replicate of one run: the unit whose masks are compared. */
interface Entry {
  label: string;
  store: RunStore;
  replicate: number;
}

/** One row of the comparison: two masks (or a ticket and its top-|θ0| mask) at one level, one layer or all. */
export interface OverlapRow extends Omit<MaskOverlap, 'size'> {
  a: string;
  b: string;
  level: number;
  /** A prunable weight's name, or `all`. */
  layer: string;
  /** Fraction of all prunable weights kept at this level, in each run. */
  remainingA: number;
  remainingB: number;
  size: number;
}

export const OVERLAP_COLUMNS: (keyof OverlapRow)[] = ['a', 'b', 'level', 'layer', 'remainingA', 'remainingB', 'size', 'keptA', 'keptB', 'shared', 'jaccard', 'sharedOfA', 'sharedOfB', 'randomJaccard'];

/** The runs a directory holds: itself (a run), or the runs its sweep.json names. */
function runsOf(dir: string): { label: string; dir: string }[] {
  const abs = resolve(dir);
  const manifest = join(abs, 'sweep.json');
  if (existsSync(manifest)) {
    const { runs } = readJson<Partial<SweepManifest>>(manifest);
    if (!Array.isArray(runs) || runs.some((r) => typeof r?.dir !== 'string')) {
      throw new UserError(`${manifest} is not the manifest of a sweep directory (lth sweep writes one with "runs"; give the sweep's output directory)`, '<dirs>');
    }
    return runs.map((r) => ({ label: r.label, dir: resolve(abs, r.dir) }));
  }
  if (RunStore.isRun(abs)) return [{ label: basename(abs), dir: abs }];
  throw new UserError(`${dir} is neither a run directory (with config.json) nor a sweep directory (with sweep.json)`, '<dirs>');
}

/** Every replicate of every run under `dirs`, labelled by run (and `#r<r>` where a run has several). */
function entriesOf(dirs: string[]): Entry[] {
  return dirs.flatMap(runsOf).flatMap(({ label, dir }) => {
    const store = new RunStore(dir);
    const replicates = store.replicates();
    return replicates.map((replicate) => ({ label: replicates.length > 1 ? `${label}#r${replicate}` : label, store, replicate }));
  });
}

/** The complete levels of an entry: masks and fraction remaining, by level. */
function levelsOf(e: Entry): Map<number, { masks: Masks; remaining: number }> {
  const rep = e.store.replicate(e.replicate);
  const out = new Map<number, { masks: Masks; remaining: number }>();
  for (const L of rep.levels()) {
    const level = rep.level(L);
    if (level.isComplete()) out.set(L, { masks: level.readMasks(), remaining: level.readSummary().fractionRemaining });
  }
  return out;
}

function rowsOf(a: string, b: string, level: number, remaining: [number, number], masks: [Masks, Masks]): OverlapRow[] {
  let o;
  try {
    o = masksOverlap(masks[0], masks[1]);
  } catch (error) {
    throw new UserError(`${a} and ${b} cannot be compared at level ${level}: ${(error as Error).message}`, '<dirs>');
  }
  const base = { a, b, level, remainingA: remaining[0], remainingB: remaining[1] };
  return [...o.layers.map(({ name, ...l }) => ({ ...base, layer: name, ...l })), { ...base, layer: 'all', ...o.total }];
}

/** Every level both entries completed, layer by layer and in total. */
function pairRows(a: Entry, b: Entry): OverlapRow[] {
  const la = levelsOf(a);
  const lb = levelsOf(b);
  return [...la.keys()].filter((L) => lb.has(L)).flatMap((L) => rowsOf(a.label, b.label, L, [la.get(L)!.remaining, lb.get(L)!.remaining], [la.get(L)!.masks, lb.get(L)!.masks]));
}

/** Each pruned level's ticket against the mask of the largest |θ0| with the same per-weight counts. */
function initRows(e: Entry): OverlapRow[] {
  const rep = e.store.replicate(e.replicate);
  const levels = [...levelsOf(e)].filter(([L]) => L > 0);
  if (!levels.length) return [];
  const names = Object.keys(levels[0][1].masks);
  const tensors = rep.readInit(names);
  const init: Record<string, HostTensor<Float32Array>> = {};
  for (const n of names) {
    init[n] = { shape: tensors[n].shape, data: tensors[n].dataSync() as Float32Array };
    tensors[n].dispose();
  }
  return levels.flatMap(([L, { masks, remaining }]) => rowsOf(e.label, `top-|θ0| of ${e.label}`, L, [remaining, remaining], [masks, topMagnitudeMasks(init, masks)]));
}

/** The comparison of every pair of entries (and with `init`, of every ticket with its top-|θ0| mask). */
export function compareRuns(dirs: string[], opts: { init?: boolean } = {}): OverlapRow[] {
  const entries = entriesOf(dirs);
  if (entries.length < 2 && !opts.init) {
    throw new UserError(`lth compare needs two or more runs (found ${entries.length} in ${dirs.join(', ')}), or --init to compare a run's tickets with |θ0|`, '<dirs>');
  }
  const rows = entries.flatMap((a, i) => entries.slice(i + 1).flatMap((b) => pairRows(a, b)));
  return opts.init ? [...rows, ...entries.flatMap(initRows)] : rows;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** An aligned plain-text table of the rows. */
function table(rows: OverlapRow[]): string[] {
  const head = ['a', 'b', 'level', 'layer', 'remaining a/b', 'kept a', 'kept b', 'shared', 'jaccard', 'shared/a', 'shared/b', 'random jaccard'];
  const cells = rows.map((r) => [
    r.a,
    r.b,
    String(r.level),
    r.layer,
    `${pct(r.remainingA)}/${pct(r.remainingB)}`,
    String(r.keptA),
    String(r.keptB),
    String(r.shared),
    r.jaccard.toFixed(4),
    r.sharedOfA.toFixed(4),
    r.sharedOfB.toFixed(4),
    r.randomJaccard.toFixed(4),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [head, ...cells].map((c) => c.map((s, i) => (i < 2 || i === 3 ? s.padEnd(width[i]) : s.padStart(width[i]))).join('  ').trimEnd());
}

/** `lth compare <dir> <dir> ...`: mask overlap between runs, per level and per layer. */
export const addCompareCommand: AddCommand = (program, ctx) => {
  program
    .command('compare')
    .description('mask overlap between runs (e.g. two seeds, two scorers), per level and per layer: Jaccard and the shared fraction of each run\'s kept weights')
    .argument('<dirs...>', 'run directories (with config.json) or sweep directories (with sweep.json); every pair of runs (and replicates) is compared')
    .option('--init', 'also compare each ticket with the mask of the largest |θ0| with the same per-layer counts')
    .option('--json', 'print the rows as JSON instead of a table')
    .option('--csv <file>', 'also write the rows as CSV')
    .option('--chart <file>', 'also draw the Jaccard index against the weights remaining, a panel per layer (.svg, or .png)')
    .action(async (dirs: string[], o: { init?: boolean; json?: boolean; csv?: string; chart?: string }) => {
      if (o.chart && !/\.(svg|png)$/i.test(o.chart)) throw new UserError(`--chart ${o.chart}: name a .svg or .png file`, '--chart');
      const rows = compareRuns(dirs, { init: o.init });
      if (o.csv) writeFileSync(o.csv, toCsv(OVERLAP_COLUMNS, rows as unknown as Record<string, unknown>[]));
      if (o.json) ctx.out(JSON.stringify(rows, null, 2));
      else for (const line of table(rows)) ctx.out(line);
      if (o.csv) ctx.io.stderr.write(`lth: wrote ${o.csv}\n`);
      if (o.chart) {
        // Loaded on use: vega and resvg are only needed here.
        const { overlapChart, renderSvg, svgToPng } = await import('@lth/report');
        const svg = await renderSvg(overlapChart(rows).spec);
        writeFileSync(o.chart, /\.png$/i.test(o.chart) ? svgToPng(svg) : svg);
        ctx.io.stderr.write(`lth: wrote ${o.chart}\n`);
      }
    });
};
