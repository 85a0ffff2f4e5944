import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { type LevelStore, readJson, RunStore, type SweepManifest } from '@lth/core';

export const maskDigest = (masks: Record<string, { data: Uint8Array }>) => {
  const h = createHash('sha256');
  for (const name of Object.keys(masks).sort()) h.update(name).update(masks[name]!.data);
  return h.digest('hex').slice(0, 16);
};

/** A level's mask digest and summary numbers. */
function levelResult(level: LevelStore) {
  const s = level.readSummary();
  return {
    mask: maskDigest(level.readMasks()),
    remaining: s.remainingWeights,
    finalTestAccuracy: s.finalTestAccuracy,
    finalTrainLoss: s.finalTrainLoss,
    earlyStopIteration: s.earlyStopIteration,
    earlyStopValidationLoss: s.earlyStopValidationLoss,
  };
}

/**
 * (series → replicate/level → mask digest and summary numbers) of a sweep directory: each
 * variant's levels, and each control's (a branch of the variant's levels, `<label> / <control>`).
 */
export function readPinnedResults(sweepDir: string): Record<string, Record<string, unknown>> {
  const manifest = readJson<SweepManifest>(join(sweepDir, 'sweep.json'));
  const out: Record<string, Record<string, unknown>> = {};
  for (const run of manifest.runs) {
    const store = new RunStore(join(sweepDir, run.dir));
    out[run.label] = {};
    for (const r of store.replicates()) {
      for (const L of store.replicate(r).levels()) {
        const level = store.replicate(r).level(L);
        if (level.isComplete()) out[run.label][`replicate-${r}/level-${L}`] = levelResult(level);
        for (const b of level.branches()) {
          const series = `${run.label} / ${b.name}`;
          out[series] ??= {};
          if (b.store.level().isComplete()) out[series][`replicate-${r}/level-${L}`] = levelResult(b.store.level());
        }
      }
    }
  }
  return out;
}
