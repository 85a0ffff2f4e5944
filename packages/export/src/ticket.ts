import { type HostTensor, type LayerDescription, type LevelSummary, type Masks, type ModelDescription, RunStore, UserError } from '@lth/core';

/** Which level to export: a number, or the sparsest that is as accurate as dense within a tolerance. */
export type LevelChoice = { level: number } | { best: { tolerance: number } };

/** A trained level of a run, read for export: its summary, masks and masked weights on the host. */
export interface Ticket {
  runDir: string;
  /** The run's config hash (config.json), when recorded. */
  configHash?: string;
  replicate: number;
  level: number;
  summary: LevelSummary;
  masks: Masks;
  /** The level's final weights (θT) with the masks applied, by weight name. */
  weights: Record<string, HostTensor<Float32Array>>;
}

/** The complete levels of one replicate, checked to exist. */
function completeLevels(store: RunStore, replicate: number): LevelSummary[] {
  if (!store.replicates().includes(replicate)) {
    throw new UserError(`${store.dir} has no replicate ${replicate} (it has ${store.replicates().join(', ') || 'none'})`, '--replicate');
  }
  return store.levelSummaries().filter((s) => s.replicate === replicate);
}

/**
 * The level to export. `best`: the sparsest complete level whose early-stop test accuracy is at
 * least the dense level's (level 0) minus `tolerance` (a fraction, 0.005 = 0.5 pp).
 */
export function selectLevel(store: RunStore, replicate: number, choice: LevelChoice): LevelSummary {
  const levels = completeLevels(store, replicate);
  const names = levels.map((s) => s.level).join(', ') || 'none';
  if ('level' in choice) {
    const found = levels.find((s) => s.level === choice.level);
    if (found) return found;
    const started = store.replicate(replicate).level(choice.level).isStarted();
    throw new UserError(
      `level ${choice.level} of replicate ${replicate} ${started ? 'is not complete (still training, or stopped: resume the run with lth run)' : 'does not exist'}; complete levels: ${names}`,
      '--level',
    );
  }
  const dense = levels.find((s) => s.level === 0);
  if (!dense) throw new UserError(`--best compares with the dense level 0, which replicate ${replicate} has not completed (complete levels: ${names})`, '--best');
  const floor = dense.earlyStopTestAccuracy - choice.best.tolerance;
  const good = levels.filter((s) => s.earlyStopTestAccuracy >= floor);
  return good.reduce((a, b) => (b.fractionRemaining < a.fractionRemaining ? b : a));
}

/** The weights and buffers a description names, residual blocks included. */
export function stateNamesOf(layers: LayerDescription[]): string[] {
  return layers.flatMap((l) => {
    if (l.type === 'dense') return [l.kernel, l.bias];
    if (l.type === 'conv2d') return l.bias ? [l.kernel, l.bias] : [l.kernel];
    if (l.type === 'batchnorm') return [l.gamma, l.beta, l.mean, l.variance];
    if (l.type === 'residual') return [...stateNamesOf(l.body), ...stateNamesOf(l.shortcut)];
    return [];
  });
}

/** Reads a complete level: masks, and the final weights and buffers (batch-norm statistics) the description names, masked. */
export function readTicket(store: RunStore, summary: LevelSummary, description: ModelDescription): Ticket {
  const level = store.replicate(summary.replicate).level(summary.level);
  level.verify(summary, `Rerun the level (lth run <config> --redo-from ${summary.level}) before exporting it.`);
  const names = stateNamesOf(description.layers);
  const masks = level.readMasks();
  const tensors = level.readFinal(names);
  const weights: Ticket['weights'] = {};
  for (const name of names) {
    const t = tensors[name]!;
    const data = Float32Array.from(t.dataSync() as Float32Array);
    t.dispose();
    const mask = masks[name];
    if (mask) for (let i = 0; i < data.length; i++) if (mask.data[i] === 0) data[i] = 0;
    weights[name] = { shape: t.shape, data };
  }
  const config = store.hasConfig() ? store.readConfig<{ hash?: string }>() : {};
  return { runDir: store.dir, configHash: config.hash, replicate: summary.replicate, level: summary.level, summary, masks, weights };
}
