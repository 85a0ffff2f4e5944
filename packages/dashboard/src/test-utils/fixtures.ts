import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EvalRecord, type LevelSummary, RunStore, writeJsonAtomic } from '@lth/core';

/** An evaluation with numbers that depend on the level and iteration, so tests can tell them apart. */
export function evalRecord(level: number, iteration: number): EvalRecord {
  const loss = 2 / (1 + iteration / 10) + level / 10;
  const accuracy = Math.min(0.99, 0.3 + iteration / 100 - level / 50);
  return { iteration, lr: 0.01, trainLoss: loss, trainAccuracy: accuracy, validationLoss: loss * 1.1, validationAccuracy: accuracy - 0.01, testLoss: loss * 1.2, testAccuracy: accuracy - 0.02 };
}

function summary(replicate: number, level: number): LevelSummary {
  const fractionRemaining = 0.5 ** level;
  return {
    replicate,
    level,
    fractionRemaining,
    remainingWeights: Math.round(1000 * fractionRemaining),
    totalPrunableWeights: 1000,
    finalIteration: 40,
    finalTestAccuracy: 0.9 - level / 20,
    finalTestLoss: 0.4 + level / 10,
    finalTrainLoss: 0.3 + level / 10,
    earlyStopIteration: 30,
    earlyStopTestAccuracy: 0.91 - level / 20,
    earlyStopValidationLoss: 0.35,
    seconds: 1,
    backend: 'cpu',
  } as LevelSummary;
}

/**
 * Writes a run directory through the run store: config.json, `levels` complete levels of
 * replicate 0 (evaluations every 10 iterations to 40), and optionally a started level with
 * `partial` evaluations; marked complete when `complete`.
 */
export function writeRun(dir: string, options: { name: string; levels: number; partial?: number; complete?: boolean }): RunStore {
  const store = new RunStore(dir);
  store.writeConfig({ name: options.name, hash: `${options.name}0123456789abcdef`, replicates: 1 });
  const rep = store.replicate(0);
  for (let L = 0; L < options.levels; L++) {
    const level = rep.level(L);
    level.startMetrics();
    for (let it = 0; it <= 40; it += 10) level.appendMetrics(evalRecord(L, it));
    writeJsonAtomic(level.summaryFile, summary(0, L));
  }
  if (options.partial !== undefined) {
    const level = rep.level(options.levels);
    level.startMetrics();
    for (let i = 0; i < options.partial; i++) level.appendMetrics(evalRecord(options.levels, 10 * i));
  }
  if (options.complete) store.markComplete(options.levels - 1);
  return store;
}

/** A sweep directory: sweep.json naming its runs under `runs/`. */
export function writeSweep(dir: string, name: string, runs: { label: string; id: string; levels: number; complete?: boolean }[]): void {
  for (const r of runs) writeRun(join(dir, 'runs', `${name}-${r.id}`), { name, levels: r.levels, complete: r.complete });
  writeFileSync(
    join(dir, 'sweep.json'),
    JSON.stringify({ name, hash: `${name}-hash-0123456789`, runs: runs.map((r) => ({ id: r.id, label: r.label, variant: {}, dir: `runs/${name}-${r.id}` })) }),
  );
}
