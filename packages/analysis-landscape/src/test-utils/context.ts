import { type BranchContext, type BranchFiles, deriveSeed, evaluate, EvalSet, type Masks, type ModelSpec, type TensorMap } from '@lth/core';
import { fakeDataset, fakeModel } from '@lth/core/testing';

/** Branch files held in memory (JSON round-tripped, as on disk). */
export function memoryFiles(): BranchFiles & { store: Map<string, string> } {
  const store = new Map<string, string>();
  return {
    dir: '(memory)',
    store,
    has: (name) => store.has(name),
    writeJson: (name, value) => void store.set(name, JSON.stringify(value)),
    readJson: <T>(name: string) => JSON.parse(store.get(name)!) as T,
    writeTensors: () => {
      throw new Error('not in memory files');
    },
    readTensors: () => {
      throw new Error('not in memory files');
    },
  };
}

/** The part of a BranchContext the analysis branches use, around the fake model and data. */
export function fakeBranchContext(opts: { level: number; final: TensorMap; masks: Masks; model?: ModelSpec; seed?: number; init?: TensorMap; previousFinal?: TensorMap }): BranchContext {
  const dataset = fakeDataset();
  const model = opts.model ?? fakeModel();
  const seed = opts.seed ?? 3;
  return {
    model,
    dataset,
    replicate: 0,
    level: opts.level,
    seed,
    deriveSeed: (...labels) => deriveSeed(seed, ...labels),
    init: opts.init ?? opts.final,
    previousFinal: opts.previousFinal,
    final: opts.final,
    masks: opts.masks,
    evaluate(w, split) {
      const set = new EvalSet(dataset, dataset[split]);
      try {
        return evaluate(model, w, set);
      } finally {
        set.dispose();
      }
    },
    files: memoryFiles(),
    report: () => undefined,
  } as Partial<BranchContext> as BranchContext;
}
