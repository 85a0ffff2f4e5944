import type { Dataset, Masker, ModelFactory, ModelSpec, PruningSchedule, Rewinder, Scorer } from '../contracts.js';
import type { ResolvedConfig } from '../config.js';
import { parseDuration } from '../duration.js';
import { UserError } from '../errors.js';
import { denseMasks } from '../pruning.js';
import { branchLevels } from './branches.js';

/** The largest model lth will try to train: 2³⁰ parameters (4 GiB per copy of the weights). */
const MAX_PARAMETERS = 2 ** 30;

/** Runs `f`, turning a UserError into a problem line (and letting every other error through). */
function attempt<T>(problems: string[], f: () => T): T | undefined {
  try {
    return f();
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    problems.push(error.message);
    return undefined;
  }
}

/** A masker checks its options against the model (e.g. override keys naming layers) when it masks: at rate 0 here. */
function checkMasker(masker: Masker, options: Record<string, unknown>, model: ModelSpec): void {
  const dense = denseMasks(model);
  const zeros = Object.fromEntries(model.prunable.map((n) => [n, { shape: dense[n].shape, data: new Float32Array(dense[n].data.length) }]));
  masker.mask(zeros, dense, 0, options, { model, level: 1 });
}

/**
 * Every problem with a resolved config that can be known before training, given its data:
 * the model against the data, the masker's options against the model, durations and the batch
 * against the training split, what the scorer needs against what the schedule and rewinder give,
 * and each branch's own checks. Throws one UserError listing them all.
 */
export function preflight(resolved: ResolvedConfig, dataset: Dataset): void {
  const { config, slots } = resolved;
  const opts = (path: string) => slots[path].options as any;
  const problems: string[] = [];
  const { batchSize } = config.training;
  if (batchSize > dataset.train.count) {
    problems.push(`/training/batchSize: ${batchSize} is larger than the ${dataset.train.count} training examples; use at most ${dataset.train.count}`);
  }
  const iterationsPerEpoch = Math.max(1, Math.floor(dataset.train.count / batchSize));
  const totalIterations = attempt(problems, () => parseDuration(config.training.iterations, iterationsPerEpoch, '/training/iterations'));
  const evalEvery = attempt(problems, () => parseDuration(config.training.evalEvery, iterationsPerEpoch, '/training/evalEvery'));
  if (evalEvery === 0) problems.push('/training/evalEvery: must be at least 1 iteration (e.g. 500, "500it" or "1ep")');
  let model = attempt(problems, () => (slots.model.plugin as ModelFactory).create(opts('model'), dataset));
  const parameters = model ? model.weightNames.reduce((n, w) => n + (model!.shapes[w] ?? []).reduce((a, b) => a * b, 1), 0) : 0;
  if (!(parameters <= MAX_PARAMETERS)) {
    problems.push(`/model: ${parameters.toExponential(2)} parameters is more than lth trains (${MAX_PARAMETERS.toExponential(2)}); check the layer sizes`);
    model = undefined;
  }
  if (model) attempt(problems, () => checkMasker(slots['pruning.masker'].plugin as Masker, opts('pruning.masker'), model!));
  const plan = attempt(problems, () => (slots['pruning.schedule'].plugin as PruningSchedule).plan(opts('pruning.schedule')));
  if (totalIterations !== undefined && plan) {
    const timing = { iterationsPerEpoch, totalIterations };
    const rewinder = slots['pruning.rewind'].plugin as Rewinder;
    const points = attempt(problems, () => rewinder.captureAt(opts('pruning.rewind'), timing)) ?? [];
    const scorer = slots['pruning.scorer'].plugin as Scorer;
    const needs = scorer.requires?.(opts('pruning.scorer')) ?? [];
    const name = `scorer "${scorer.meta.name}"`;
    if (needs.includes('training') && plan.atInit) problems.push(`/pruning/schedule: ${name} scores trained weights, so it cannot prune at initialisation (atInit)`);
    if (needs.includes('rewind') && points.length === 0) {
      problems.push(`/pruning/scorer: ${name} needs the rewind point θk, but rewinder "${rewinder.meta.name}" rewinds to none`);
    }
    const examples = { train: dataset.train.count, validation: dataset.validation.count, test: dataset.test.count };
    const info = { levels: plan.levels, replicates: config.replicates, totalIterations, iterationsPerEpoch, snapshots: points.filter((k) => k <= totalIterations), examples };
    resolved.branches.forEach((b, i) => {
      const beyond = branchLevels(b, plan.levels).filter((l) => l > plan.levels);
      if (beyond.length) problems.push(`/branches/${i}/levels: level ${beyond.join(', ')} does not exist (the run has levels 0 to ${plan.levels})`);
      for (const p of b.plugin.check?.(info, b.options) ?? []) problems.push(`/branches/${i}: branch "${b.plugin.meta.name}": ${p}`);
    });
  }
  if (problems.length) throw new UserError(`invalid config:\n  ${problems.join('\n  ')}`, problems[0].split(':')[0]);
}
