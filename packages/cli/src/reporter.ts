import cliProgress from 'cli-progress';
import type { LevelSummary, Reporter, RunEvent } from '@lth/core';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const formatSeconds = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

/**
 * Progress for people: a bar on a terminal (replicate, level, iteration, loss, accuracy, ETA),
 * plain lines when the output is piped or logged.
 */
export class ConsoleReporter implements Reporter {
  private bar?: cliProgress.SingleBar;
  private lastAccuracy = Number.NaN;
  /** Within a sweep: which run of how many (shown on every line). */
  private sweep = '';
  private sweepStarted?: number;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly interactive = Boolean(stream.isTTY) && !process.env.CI,
    /** Starts every line (a sweep's concurrent runs say whose line it is). */
    prefix = '',
  ) {
    this.sweep = prefix;
  }

  private line(text: string) {
    this.stream.write(`${text}\n`);
  }

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case 'sweep-run': {
        this.sweep = `[run ${e.index + 1}/${e.total}] `;
        this.sweepStarted ??= Date.now();
        // A crude whole-sweep ETA from the runs finished so far (controls train as long as variants).
        const elapsed = (Date.now() - this.sweepStarted) / 1000;
        const eta = e.index > 0 ? ` (sweep ETA ${formatSeconds((elapsed / e.index) * (e.total - e.index))})` : '';
        this.line(`${this.sweep}${e.label}${eta}`);
        break;
      }
      case 'replay':
        this.line(`${this.sweep}replicate ${e.replicate}: replaying the dense run to iteration ${e.iteration} for its rewind point`);
        break;
      case 'run-start':
        this.line(`lth: ${e.runDir} (backend ${e.backend}; ${e.replicates} replicate(s) × ${e.levels + 1} level(s) × ${e.iterations} iterations)`);
        break;
      case 'level-skip':
        this.line(`replicate ${e.replicate} level ${e.level}: skipped (${e.reason})`);
        break;
      case 'level-start':
        this.lastAccuracy = Number.NaN;
        if (this.interactive) {
          this.bar = new cliProgress.SingleBar(
            {
              format: `${this.sweep}rep ${e.replicate} level ${e.level} (${pct(e.fractionRemaining)} left) [{bar}] {value}/{total} it | loss {loss} | test acc {acc} | ETA {eta_formatted}`,
              stream: this.stream,
              hideCursor: true,
              etaBuffer: 50,
            },
            cliProgress.Presets.shades_classic,
          );
          this.bar.start(1, 0, { loss: '-', acc: '-' });
        } else {
          this.line(`${this.sweep}replicate ${e.replicate} level ${e.level}: ${pct(e.fractionRemaining)} of weights remain, training from iteration ${e.startIteration}`);
        }
        break;
      case 'progress':
        if (this.bar) {
          this.bar.setTotal(e.total);
          this.bar.update(e.iteration, { loss: e.loss.toFixed(4), acc: Number.isNaN(this.lastAccuracy) ? '-' : pct(this.lastAccuracy) });
        }
        break;
      case 'eval':
        this.lastAccuracy = e.metrics.testAccuracy;
        if (!this.bar) {
          const m = e.metrics;
          this.line(
            `  it ${m.iteration}: train loss ${m.trainLoss.toFixed(4)}, val loss ${m.validationLoss.toFixed(4)}, val acc ${pct(m.validationAccuracy)}, test acc ${pct(m.testAccuracy)}`,
          );
        }
        break;
      case 'level-end':
        this.bar?.stop();
        this.bar = undefined;
        this.line(
          `${this.sweep}replicate ${e.replicate} level ${e.level} done in ${e.summary.seconds.toFixed(1)} s: test acc ${pct(e.summary.finalTestAccuracy)} (early stop at ${e.summary.earlyStopIteration}: ${pct(e.summary.earlyStopTestAccuracy)})`,
        );
        break;
      case 'warning':
        this.line(`lth: warning: ${e.message}`);
        break;
      case 'branch-start':
        this.line(`${this.sweep}replicate ${e.replicate} level ${e.level}: branch ${e.branch}`);
        break;
      case 'branch-message':
        this.line(`  ${e.branch}: ${e.message}`);
        break;
      case 'branch-end': {
        const shown = Object.entries(e.result)
          .slice(0, 6)
          .map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : v}`);
        this.line(`${this.sweep}replicate ${e.replicate} level ${e.level}: branch ${e.branch} done${shown.length ? `: ${shown.join(', ')}` : ''}`);
        break;
      }
      case 'run-end':
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
