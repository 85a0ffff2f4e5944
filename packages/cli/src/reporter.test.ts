import type { LevelSummary } from '@lth/core';
import { describe, expect, it } from 'vitest';
import { ConsoleReporter, LOSS_EMA } from './reporter.js';

const HIDE = '\u001b[?25l';
const SHOW = '\u001b[?25h';
const CLEAR = '\r\u001b[2K';

/** A terminal that keeps what is written to it, `columns` wide. */
function terminal(columns = 200) {
  const stream = { isTTY: true, columns, text: '', write: (s: string) => ((stream.text += s), true) };
  return stream;
}

/** The frames drawn so far: what follows each clear-line, up to the next control sequence or newline. */
const frames = (text: string) => text.split(CLEAR).slice(1).map((f) => f.split(/\n|\u001b/)[0]!);

const summary = (level: number, finalIteration: number, accuracy: number): LevelSummary =>
  ({ replicate: 0, level, fractionRemaining: 1, finalIteration, finalTestAccuracy: accuracy, earlyStopIteration: finalIteration, earlyStopTestAccuracy: accuracy, seconds: 4 }) as LevelSummary;

describe('ConsoleReporter on a terminal (a fake stream and a fake clock)', () => {
  it('draws no frame before the first progress update (no "0/1 it"), then iterations, it/s, ETAs, the smoothed loss and accuracy', () => {
    const tty = terminal();
    let now = 0;
    const r = new ConsoleReporter(tty as unknown as NodeJS.WriteStream, true, '', () => now);
    r.onEvent({ type: 'run-start', runDir: 'runs/x', replicates: 1, levels: 1, iterations: 100, backend: 'cpu' });
    r.onEvent({ type: 'level-start', replicate: 0, level: 0, fractionRemaining: 1, startIteration: 0 });
    expect(frames(tty.text)).toEqual([]);
    expect(tty.text).not.toContain(HIDE);

    now = 1000;
    r.onEvent({ type: 'progress', replicate: 0, level: 0, iteration: 25, total: 100, loss: 1 });
    // 25 iterations in 1 s; 75 left in this level, 100 in the next one.
    expect(tty.text.indexOf(HIDE)).toBeLessThan(tty.text.indexOf(CLEAR));
    expect(frames(tty.text)).toEqual([
      `rep 0 level 0 (100.00% left) [████████░░░░░░░░░░░░░░░░░░░░░░] 25/100 it | 25 it/s | ETA 3 s, run 7 s | loss (EMA ${LOSS_EMA}) 1.0000 | test acc -`,
    ]);

    r.onEvent({ type: 'eval', replicate: 0, level: 0, metrics: { iteration: 25, lr: 0.01, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1, validationAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5 } });
    now = 1050;
    r.onEvent({ type: 'progress', replicate: 0, level: 0, iteration: 50, total: 100, loss: 0.5 });
    expect(frames(tty.text)).toHaveLength(1); // within 100 ms of the last frame: not drawn
    now = 2000;
    r.onEvent({ type: 'progress', replicate: 0, level: 0, iteration: 75, total: 100, loss: 0.5 });
    // EMA 0.9 of 1, 0.5, 0.5 from 0: 0.176, divided by 1 - 0.9^3 = 0.271.
    expect(frames(tty.text)[1]).toBe(
      `rep 0 level 0 (100.00% left) [███████████████████████░░░░░░░] 75/100 it | 38 it/s | ETA 1 s, run 3 s | loss (EMA ${LOSS_EMA}) 0.6494 | test acc 50.00%`,
    );

    now = 4000;
    r.onEvent({ type: 'level-end', replicate: 0, level: 0, summary: summary(0, 100, 0.875) });
    // The finished bar shows the level's final numbers, on its own line, and the cursor comes back.
    expect(frames(tty.text)[2]).toBe(
      `rep 0 level 0 (100.00% left) [██████████████████████████████] 100/100 it | 25 it/s | done in 4 s | loss (EMA ${LOSS_EMA}) 0.6494 | test acc 87.50%`,
    );
    expect(tty.text.endsWith(`test acc 87.50%\n${SHOW}replicate 0 level 0 done in 4.0 s: test acc 87.50% (early stop at 100: 87.50%)\n`)).toBe(true);

    r.onEvent({ type: 'level-start', replicate: 0, level: 1, fractionRemaining: 0.8, startIteration: 0 });
    now = 5000;
    r.onEvent({ type: 'progress', replicate: 0, level: 1, iteration: 25, total: 100, loss: 2 });
    // The rate over both levels (125 iterations in 5 s); the last level: run ETA = level ETA.
    expect(frames(tty.text)[3]).toBe(
      `rep 0 level 1 (80.00% left) [████████░░░░░░░░░░░░░░░░░░░░░░] 25/100 it | 25 it/s | ETA 3 s, run 3 s | loss (EMA ${LOSS_EMA}) 2.0000 | test acc -`,
    );
    expect(frames(tty.text).some((f) => / 0\/\d+ it/.test(f))).toBe(false);

    // Ctrl-C: the bar ends on its own line, the cursor is shown, and the reporter says where the run was.
    expect(r.interrupt()).toBe('replicate 0, level 1');
    expect(tty.text.endsWith(`test acc -\n${SHOW}`)).toBe(true);
    expect(r.interrupt()).toBe('replicate 0, level 1');
    expect(tty.text.endsWith(`test acc -\n${SHOW}`)).toBe(true); // nothing more to restore
  });

  it('counts skipped levels as done in the run ETA, and cuts a frame to the terminal width (the bar goes first)', () => {
    const tty = terminal(80);
    let now = 0;
    const r = new ConsoleReporter(tty as unknown as NodeJS.WriteStream, true, '', () => now);
    r.onEvent({ type: 'run-start', runDir: 'runs/x', replicates: 2, levels: 2, iterations: 100, backend: 'cpu' });
    r.onEvent({ type: 'level-skip', replicate: 0, level: 0, reason: 'complete on disk' });
    r.onEvent({ type: 'level-start', replicate: 0, level: 1, fractionRemaining: 0.5, startIteration: 20 });
    now = 2000;
    r.onEvent({ type: 'progress', replicate: 0, level: 1, iteration: 40, total: 100, loss: 1 });
    const [frame] = frames(tty.text);
    expect(frame).toBe('rep 0 level 1 (50.00% left) 40/100 it | 10 it/s | ETA 6 s, run 38 s | loss (EMA');
    // 60 left here, then 4 more levels of 80 iterations: 380 at 10 it/s.
    expect(frame!.length).toBeLessThan(80);
  });

  it('keeps lines between frames readable: a warning clears the bar line first', () => {
    const tty = terminal();
    let now = 0;
    const r = new ConsoleReporter(tty as unknown as NodeJS.WriteStream, true, '', () => now);
    r.onEvent({ type: 'level-start', replicate: 0, level: 0, fractionRemaining: 1, startIteration: 0 });
    now = 10;
    r.onEvent({ type: 'progress', replicate: 0, level: 0, iteration: 25, total: 50, loss: 1 });
    r.onEvent({ type: 'warning', message: 'disk nearly full' });
    expect(tty.text.endsWith(`${CLEAR}lth: warning: disk nearly full\n`)).toBe(true);
  });

  it('says which run of a sweep, and which branch, it was in', () => {
    const r = new ConsoleReporter(terminal() as unknown as NodeJS.WriteStream, false);
    r.onEvent({ type: 'sweep-run', index: 1, total: 4, label: 'global' });
    r.onEvent({ type: 'level-start', replicate: 1, level: 2, fractionRemaining: 0.64, startIteration: 0 });
    expect(r.interrupt()).toBe('replicate 1, level 2 in run 2/4');
    r.onEvent({ type: 'branch-start', replicate: 1, level: 2, branch: 'reinit' });
    expect(r.interrupt()).toBe('replicate 1, level 2 (branch reinit) in run 2/4');
  });

  it('says nothing of a level before one started', () => {
    const r = new ConsoleReporter(terminal() as unknown as NodeJS.WriteStream, true);
    expect(r.interrupt()).toBeUndefined();
  });
});
