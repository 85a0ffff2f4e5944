import type { LevelSummary, Reporter, RunEvent } from '@lth/core';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const formatSeconds = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

/**
 * The loss on the progress bar: an exponential moving average of the batch losses of the
 * progress updates (one every 25 iterations), bias-corrected so the first frames are not pulled
 * towards zero. The bar's legend says so: "loss (EMA 0.9)".
 */
export const LOSS_EMA = 0.9;

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
const CLEAR_LINE = '\r\u001b[2K';
/** At most one redraw per this many milliseconds (a terminal cannot show more, and writes cost). */
const FRAME_MS = 100;

/** How the progress is shown: `LTH_PROGRESS=bar|lines` overrides the guess (a bar on a terminal, lines in CI and pipes). */
function interactiveDefault(stream: NodeJS.WriteStream): boolean {
  if (process.env.LTH_PROGRESS === 'bar') return true;
  if (process.env.LTH_PROGRESS === 'lines') return false;
  return Boolean(stream.isTTY) && !process.env.CI;
}

interface LevelProgress {
  replicate: number;
  level: number;
  fractionRemaining: number;
  startIteration: number;
  startedAt: number;
  iteration: number;
  total?: number;
  /** The EMA of the loss (starting at 0), and how many updates it has seen; shown divided by 1 − β^updates. */
  lossEma: number;
  updates: number;
  accuracy: number;
}

/**
 * Progress for people: a bar on a terminal (replicate, level, iterations, smoothed loss, test
 * accuracy, it/s, the level's and the whole run's ETA), plain lines when the output is piped or
 * logged. The cursor is hidden while a bar is drawn and shown again when it ends, when a line is
 * printed between frames, and by `interrupt()`.
 */
export class ConsoleReporter implements Reporter {
  /** Within a sweep: which run of how many (shown on every line). */
  private sweep = '';
  private sweepStarted?: number;
  private run?: { replicates: number; levels: number };
  /** Levels finished (trained or skipped) since run-start, and the training this process did. */
  private levelsDone = 0;
  private trainedIterations = 0;
  private trainedMs = 0;
  private current?: LevelProgress;
  private branch?: string;
  private barOnScreen = false;
  private cursorHidden = false;
  private lastFrame = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly interactive = interactiveDefault(stream),
    /** Starts every line (a sweep's concurrent runs say whose line it is). */
    prefix = '',
    /** Milliseconds now; tests pass a fake clock. */
    private readonly now: () => number = Date.now,
  ) {
    this.sweep = prefix;
  }

  private line(text: string) {
    if (this.barOnScreen) this.stream.write(CLEAR_LINE);
    this.barOnScreen = false;
    this.stream.write(`${text}\n`);
  }

  /** Iterations per second over the training this process did, the current level included. */
  private rate(): number | undefined {
    const c = this.current;
    const iterations = this.trainedIterations + (c ? c.iteration - c.startIteration : 0);
    const ms = this.trainedMs + (c ? this.now() - c.startedAt : 0);
    return iterations > 0 && ms > 0 ? (1000 * iterations) / ms : undefined;
  }

  private frame(final: boolean): string {
    const c = this.current!;
    const total = c.total ?? c.iteration;
    const rate = this.rate();
    const parts = [`${c.iteration}/${total} it`, `${rate ? rate.toFixed(rate < 10 ? 1 : 0) : '-'} it/s`];
    if (final) parts.push(`done in ${formatSeconds((this.now() - c.startedAt) / 1000)}`);
    else if (rate) {
      const levelLeft = total - c.iteration;
      let eta = `ETA ${formatSeconds(levelLeft / rate)}`;
      if (this.run) {
        // The levels still to train, each assumed as long as this one.
        const levelsAfter = Math.max(0, this.run.replicates * (this.run.levels + 1) - this.levelsDone - 1);
        eta += `, run ${formatSeconds((levelLeft + levelsAfter * (total - c.startIteration)) / rate)}`;
      }
      parts.push(eta);
    }
    parts.push(`loss (EMA ${LOSS_EMA}) ${c.updates ? (c.lossEma / (1 - LOSS_EMA ** c.updates)).toFixed(4) : '-'}`);
    parts.push(`test acc ${Number.isNaN(c.accuracy) ? '-' : pct(c.accuracy)}`);
    const head = `${this.sweep}rep ${c.replicate} level ${c.level} (${pct(c.fractionRemaining)} left)`;
    const columns = this.stream.columns || Number(process.env.COLUMNS) || 120;
    const text = (width: number) => {
      const done = Math.round((width * (c.iteration - c.startIteration)) / Math.max(1, total - c.startIteration));
      const bar = width ? ` [${'█'.repeat(done)}${'░'.repeat(width - done)}]` : '';
      return `${head}${bar} ${parts.join(' | ')}`;
    };
    // The bar gives way first (none under 8 cells); what still does not fit is cut, so the line
    // never wraps (a wrapped line cannot be redrawn in place).
    const room = columns - 1 - text(0).length - 3;
    return text(room >= 8 ? Math.min(30, room) : 0).slice(0, columns - 1);
  }

  private render(final = false) {
    const now = this.now();
    if (!final && this.barOnScreen && now - this.lastFrame < FRAME_MS) return;
    this.lastFrame = now;
    if (!this.cursorHidden) {
      this.stream.write(HIDE_CURSOR);
      this.cursorHidden = true;
    }
    this.stream.write(`${CLEAR_LINE}${this.frame(final)}`);
    this.barOnScreen = true;
    if (final) this.endBar();
  }

  /** Leaves the bar's last frame on its own line and shows the cursor again. */
  private endBar() {
    if (this.barOnScreen) this.stream.write('\n');
    this.barOnScreen = false;
    if (this.cursorHidden) this.stream.write(SHOW_CURSOR);
    this.cursorHidden = false;
  }

  /**
   * The run is being stopped (Ctrl-C, SIGTERM, an error): ends the bar, shows the cursor, and
   * returns where the run was ("replicate 0, level 3"), if it had started a level.
   */
  interrupt(): string | undefined {
    this.endBar();
    const c = this.current;
    if (!c) return undefined;
    const run = this.sweep.trim().replace(/^\[(.*)\]$/, '$1');
    return `replicate ${c.replicate}, level ${c.level}${this.branch ? ` (branch ${this.branch})` : ''}${run ? ` in ${run}` : ''}`;
  }

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case 'sweep-run': {
        this.sweep = `[run ${e.index + 1}/${e.total}] `;
        this.sweepStarted ??= this.now();
        // A crude whole-sweep ETA from the runs finished so far (controls train as long as variants).
        const elapsed = (this.now() - this.sweepStarted) / 1000;
        const eta = e.index > 0 ? ` (sweep ETA ${formatSeconds((elapsed / e.index) * (e.total - e.index))})` : '';
        this.line(`${this.sweep}${e.label}${eta}`);
        break;
      }
      case 'replay':
        this.line(`${this.sweep}replicate ${e.replicate}: replaying the dense run to iteration ${e.iteration} for its rewind point`);
        break;
      case 'run-start':
        this.run = { replicates: e.replicates, levels: e.levels };
        this.levelsDone = 0;
        this.trainedIterations = 0;
        this.trainedMs = 0;
        this.current = undefined;
        this.line(`lth: ${e.runDir} (backend ${e.backend}; ${e.replicates} replicate(s) × ${e.levels + 1} level(s) × ${e.iterations} iterations)`);
        break;
      case 'level-skip':
        this.levelsDone++;
        this.line(`replicate ${e.replicate} level ${e.level}: skipped (${e.reason})`);
        break;
      case 'level-start':
        this.branch = undefined;
        this.current = {
          replicate: e.replicate,
          level: e.level,
          fractionRemaining: e.fractionRemaining,
          startIteration: e.startIteration,
          startedAt: this.now(),
          iteration: e.startIteration,
          lossEma: 0,
          updates: 0,
          accuracy: Number.NaN,
        };
        // On a terminal the first frame waits for the first progress update, which knows the total.
        if (!this.interactive) {
          this.line(`${this.sweep}replicate ${e.replicate} level ${e.level}: ${pct(e.fractionRemaining)} of weights remain, training from iteration ${e.startIteration}`);
        }
        break;
      case 'progress': {
        const c = this.current;
        // Progress outside a level (a branch training its own copies) has no bar.
        if (!c || c.replicate !== e.replicate || c.level !== e.level || this.branch) break;
        c.iteration = e.iteration;
        c.total = e.total;
        c.updates++;
        c.lossEma = LOSS_EMA * c.lossEma + (1 - LOSS_EMA) * e.loss;
        if (this.interactive) this.render();
        break;
      }
      case 'eval':
        if (this.current && !this.branch) this.current.accuracy = e.metrics.testAccuracy;
        if (!this.interactive) {
          const m = e.metrics;
          this.line(
            `  it ${m.iteration}: train loss ${m.trainLoss.toFixed(4)}, val loss ${m.validationLoss.toFixed(4)}, val acc ${pct(m.validationAccuracy)}, test acc ${pct(m.testAccuracy)}`,
          );
        }
        break;
      case 'level-end': {
        const c = this.current;
        if (c && c.replicate === e.replicate && c.level === e.level && !this.branch) {
          // The finished bar shows the level's own final numbers.
          c.iteration = e.summary.finalIteration;
          c.total = e.summary.finalIteration;
          c.accuracy = e.summary.finalTestAccuracy;
          if (this.interactive) this.render(true);
          this.trainedIterations += c.iteration - c.startIteration;
          this.trainedMs += this.now() - c.startedAt;
          this.levelsDone++;
        }
        this.line(
          `${this.sweep}replicate ${e.replicate} level ${e.level} done in ${e.summary.seconds.toFixed(1)} s: test acc ${pct(e.summary.finalTestAccuracy)} (early stop at ${e.summary.earlyStopIteration}: ${pct(e.summary.earlyStopTestAccuracy)})`,
        );
        break;
      }
      case 'warning':
        this.line(`lth: warning: ${e.message}`);
        break;
      case 'branch-start':
        this.branch = e.branch;
        this.line(`${this.sweep}replicate ${e.replicate} level ${e.level}: branch ${e.branch}`);
        break;
      case 'branch-message':
        this.line(`  ${e.branch}: ${e.message}`);
        break;
      case 'branch-end': {
        this.branch = undefined;
        const shown = Object.entries(e.result)
          .slice(0, 6)
          .map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : v}`);
        this.line(`${this.sweep}replicate ${e.replicate} level ${e.level}: branch ${e.branch} done${shown.length ? `: ${shown.join(', ')}` : ''}`);
        break;
      }
      case 'run-end':
        this.endBar();
        // The table itself goes to stdout (main); this stream carries progress only.
        this.line(`results: ${e.runDir}/summary.csv`);
        break;
    }
  }
}

/** The end-of-run table: one row per (replicate, level). */
export function summaryTable(rows: LevelSummary[]): string {
  const header = ['rep', 'level', '% weights left', 'test acc (final)', 'test acc (early stop)', 'early-stop it'];
  const body = rows.map((r) => [
    String(r.replicate),
    String(r.level),
    (100 * r.fractionRemaining).toFixed(2),
    pct(r.finalTestAccuracy),
    pct(r.earlyStopTestAccuracy),
    String(r.earlyStopIteration),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}
