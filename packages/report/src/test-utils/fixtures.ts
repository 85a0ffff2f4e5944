import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalRecord, LevelSummary } from '@lth/core';
import type { ControlKind, SweepManifest } from '../data.js';

const LAYERS = { 'dense1/kernel': 235200, 'dense2/kernel': 30000, 'output/kernel': 1000 };

export interface FixtureRun {
  label: string;
  control: ControlKind | null;
  variant: Record<string, unknown>;
  /** Accuracy offset of this run, so series differ. */
  offset: number;
}

/** A LevelSummary as core writes it, with made-up but plausible numbers. */
export function fixtureSummary(run: FixtureRun, replicate: number, level: number): LevelSummary {
  const layerFractions: Record<string, number> = {};
  let remaining = 0;
  const total = Object.values(LAYERS).reduce((a, b) => a + b, 0);
  for (const [name, size] of Object.entries(LAYERS)) {
    const rate = name.startsWith('output') ? 0.1 : 0.2;
    const kept = Math.round(size * (1 - rate) ** level);
    layerFractions[name] = kept / size;
    remaining += kept;
  }
  const bump = Math.sin(level / 2) * 0.01 - (level > 8 ? (level - 8) * 0.01 : 0);
  const acc = 0.975 + (level ? run.offset + bump : 0) + replicate * 0.002;
  return {
    replicate,
    level,
    fractionRemaining: remaining / total,
    layerFractions,
    remainingWeights: remaining,
    totalPrunableWeights: total,
    finalIteration: 1000,
    finalTestAccuracy: acc - 0.003,
    finalTestLoss: 0.09 - level * 0.002 + replicate * 0.001,
    finalTrainLoss: 0.01 + level * 0.004,
    earlyStopIteration: Math.max(100, 800 - level * 60 + replicate * 20 + (run.control ? 200 : 0)),
    earlyStopTestAccuracy: acc,
    earlyStopValidationLoss: 0.08,
    seconds: 1.5,
    backend: 'cpu',
  };
}

function evalRecords(summary: LevelSummary): EvalRecord[] {
  return [250, 500].map((iteration) => ({
    iteration,
    lr: 0.0012,
    trainLoss: 0.1,
    trainAccuracy: 0.97,
    validationLoss: 0.09,
    validationAccuracy: 0.97,
    testLoss: summary.finalTestLoss,
    testAccuracy: summary.finalTestAccuracy,
  }));
}

/** Writes one run directory: config.json, per-level summary.json + metrics.jsonl, run-level summary.json. */
export function writeFixtureRun(runDir: string, run: FixtureRun, replicates: number, levels: number[], name = 'lenet-fixture'): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'config.json'), JSON.stringify({ name, hash: 'abcdef123456', config: { name } }));
  const all: LevelSummary[] = [];
  for (let r = 0; r < replicates; r++) {
    for (const level of levels) {
      const dir = join(runDir, `replicate-${r}`, `level-${level}`);
      mkdirSync(dir, { recursive: true });
      const summary = fixtureSummary(run, r, level);
      writeFileSync(join(dir, 'metrics.jsonl'), `${evalRecords(summary).map((e) => JSON.stringify(e)).join('\n')}\n`);
      writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
      all.push(summary);
    }
  }
  writeFileSync(join(runDir, 'summary.json'), JSON.stringify(all));
}

/**
 * Writes a sweep directory: `variants` × `replicates` × levels 0..levels-1, and for each variant the
 * given controls (levels 1.. only: a control's dense baseline is its variant's level 0).
 */
export function writeFixtureSweep(
  sweepDir: string,
  options: { variants: { label: string; variant: Record<string, unknown> }[]; controls: ControlKind[]; replicates: number; levels: number; controlFor?: number[] },
): SweepManifest {
  const manifest: SweepManifest = { name: 'fixture-sweep', hash: '0123456789ab', runs: [] };
  const levels = Array.from({ length: options.levels }, (_, i) => i);
  options.variants.forEach((v, i) => {
    const id = `v${i}`;
    const dir = `runs/lenet-${id}`;
    writeFixtureRun(join(sweepDir, dir), { label: v.label, control: null, variant: v.variant, offset: 0.004 * i }, options.replicates, levels);
    manifest.runs.push({ id, label: v.label, variant: v.variant, control: null, dir });
    if (options.controlFor && !options.controlFor.includes(i)) return;
    options.controls.forEach((control, k) => {
      const cdir = `runs/lenet-${id}-${control}`;
      const offset = -0.006 * (k + 1) - 0.002 * i;
      writeFixtureRun(join(sweepDir, cdir), { label: v.label, control, variant: v.variant, offset }, options.replicates, levels.slice(1));
      manifest.runs.push({ id: `${id}-${control}`, label: v.label, variant: v.variant, control, dir: cdir });
    });
  });
  writeFileSync(join(sweepDir, 'sweep.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}
