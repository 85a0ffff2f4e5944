import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  type Dataset,
  type DatasetProvider,
  type EvalRecord,
  type LevelStart,
  type LevelSummary,
  type LrSchedule,
  type Masker,
  type Masks,
  type ModelFactory,
  type ModelSpec,
  type Optimizer,
  type PruningSchedule,
  type Reporter,
  type Rewinder,
  type Scorer,
  type ScorerContext,
  stateNames,
  type TensorMap,
  type Warmup,
} from './contracts.js';
import { denseHash, type ResolvedConfig, runDirName } from './config.js';
import { BatchStream, EvalSet } from './data.js';
import { parseDuration } from './duration.js';
import { copyFileAtomic, readJson, writeFileAtomic, writeJsonAtomic } from './io.js';
import { applyMaskControl, applyScoreControl } from './controls.js';
import { assertMasksShrink, denseMasks, sparsityReport } from './pruning.js';
import { loadSafetensors, type SafeTensor, saveSafetensors } from './safetensors.js';
import { deriveSeed, permutation } from './seed.js';
import { applyMasks, batchLoss, maskTensors, trainLoop } from './train.js';

export interface RunOptions {
  /** Parent of run directories (`./runs` by default in the CLI). */
  outDir: string;
  /** Resolves relative paths in the config (the config file's directory). */
  baseDir?: string;
  reporter?: Reporter;
  /** Loaded dataset to reuse (tests, sweeps); loaded from the config when absent. */
  dataset?: Dataset;
  /** Stop after this many levels have been trained in this invocation (tests of resume). */
  stopAfterLevels?: number;
  /** Evaluation set sizes (all of validation and test by default; train: 10,000). */
  trainEvalExamples?: number;
  /**
   * A directory shared by runs that differ only in pruning options (a sweep's variants): the
   * dense level 0 of each replicate is trained once, stored there by the dense hash, and copied
   * into every run that needs it. A rewind point the shared run lacks is recomputed by replaying
   * the dense training up to that iteration, not by training to the end.
   */
  denseCache?: string;
  /**
   * Run a control of another run (`source`, its run directory) instead of pruning: every pruned
   * level takes the source's mask at that level and transforms it (see `controlMasks`); `reinit`
   * also starts from a fresh random initialisation. Level 0 (dense) is the source's own.
   */
  control?: { kind: ControlKind; source: string };
  /** Called with each level's starting weights (masked, before training): for tests and debugging. */
  onLevelStart?(replicate: number, level: number, weights: TensorMap, masks: Masks): void;
}

export interface RunResult {
  runDir: string;
  summary: LevelSummary[];
  /** True when every level of every replicate is complete. */
  complete: boolean;
}

/** The columns of summary.csv, in order (the report's sweep-wide CSV starts its rows with them too). */
export const SUMMARY_COLUMNS: (keyof LevelSummary)[] = [
  'replicate',
  'level',
  'fractionRemaining',
  'remainingWeights',
  'totalPrunableWeights',
  'finalIteration',
  'finalTestAccuracy',
  'finalTestLoss',
  'finalTrainLoss',
  'earlyStopIteration',
  'earlyStopTestAccuracy',
  'earlyStopValidationLoss',
  'seconds',
  'backend',
];

function toSafe(weights: TensorMap): Record<string, SafeTensor> {
  const out: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(weights)) out[name] = { dtype: 'F32', shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) };
  return out;
}

function fromSafe(file: string, names: string[]): TensorMap {
  const { tensors } = loadSafetensors(file);
  const out: TensorMap = {};
  for (const name of names) {
    const t = tensors[name];
    if (!t) throw new Error(`${file} has no tensor "${name}"; delete the file to recompute it`);
    out[name] = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
  }
  return out;
}

function saveMasks(file: string, masks: Masks): void {
  const out: Record<string, SafeTensor> = {};
  for (const [name, m] of Object.entries(masks)) out[name] = { dtype: 'U8', shape: m.shape, data: m.data };
  saveSafetensors(file, out);
}

function loadMasks(file: string): Masks {
  const { tensors } = loadSafetensors(file);
  const out: Masks = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = { shape: t.shape, data: t.data as Uint8Array };
  return out;
}

/** Controls of a lottery ticket at the same sparsity (Frankle & Carbin 2019; Frankle et al. 2021). */
export const CONTROL_KINDS = ['reinit', 'random-prune', 'shuffle'] as const;
export type ControlKind = (typeof CONTROL_KINDS)[number];

/**
 * A control's masks from the ticket's: `reinit` keeps them; `random-prune` keeps, in each
 * layer, the same number of weights chosen uniformly at random; `shuffle` permutes the ticket's
 * mask within each layer. For unstructured masks the last two have the same distribution (only
 * per-layer counts survive); both exist because papers name both.
 */
export function controlMasks(kind: ControlKind, masks: Masks, seed: number): Masks {
  if (kind === 'reinit') return masks;
  const out: Masks = {};
  for (const [name, m] of Object.entries(masks)) {
    const p = permutation(m.data.length, deriveSeed(seed, kind, name));
    const data = new Uint8Array(m.data.length);
    if (kind === 'shuffle') for (let i = 0; i < p.length; i++) data[p[i]] = m.data[i];
    else {
      let kept = 0;
      for (let i = 0; i < m.data.length; i++) kept += m.data[i];
      for (let i = 0; i < kept; i++) data[p[i]] = 1;
    }
    out[name] = { shape: [...m.shape], data };
  }
  return out;
}

/** The early-stop record: minimum validation loss (first one on ties). */
export function earlyStop(records: EvalRecord[]): EvalRecord {
  return records.reduce((best, r) => (r.validationLoss < best.validationLoss ? r : best));
}

/** Writes the run-level summary.json and summary.csv from every completed level on disk. */
export function writeRunSummary(runDir: string): LevelSummary[] {
  const rows: LevelSummary[] = [];
  for (const rep of readdirSync(runDir).filter((d) => /^replicate-\d+$/.test(d))) {
    for (const lvl of readdirSync(join(runDir, rep)).filter((d) => /^level-\d+$/.test(d))) {
      const file = join(runDir, rep, lvl, 'summary.json');
      if (existsSync(file)) rows.push(readJson<LevelSummary>(file));
    }
  }
  rows.sort((a, b) => a.replicate - b.replicate || a.level - b.level);
  writeJsonAtomic(join(runDir, 'summary.json'), rows);
  const csv = [SUMMARY_COLUMNS.join(','), ...rows.map((r) => SUMMARY_COLUMNS.map((c) => String(r[c])).join(','))].join('\n');
  writeFileAtomic(join(runDir, 'summary.csv'), `${csv}\n`);
  return rows;
}

/**
 * Runs a lottery-ticket experiment: for each replicate, train the dense net (level 0), then
 * repeatedly score, prune, rewind and retrain. Every level's outputs are written atomically and
 * a level whose summary.json exists is skipped, so a killed run resumes at the first incomplete
 * level and produces the same results as an uninterrupted one.
 */
export async function runExperiment(resolved: ResolvedConfig, options: RunOptions): Promise<RunResult> {
  const { config, slots } = resolved;
  const plugin = <P>(path: string) => slots[path].plugin as P;
  const opts = (path: string) => slots[path].options as any;
  const backend = tf.getBackend();
  const report = (e: Parameters<Reporter['onEvent']>[0]) => options.reporter?.onEvent(e);

  const control = options.control;
  const runDir = join(options.outDir, control ? `${runDirName(resolved)}-${control.kind}` : runDirName(resolved));
  mkdirSync(runDir, { recursive: true });
  const configFile = join(runDir, 'config.json');
  if (existsSync(configFile)) {
    const previous = readJson<{ hash?: string }>(configFile);
    if (previous.hash && previous.hash !== resolved.hash) {
      throw new Error(`${runDir} holds a run with a different config (hash ${previous.hash}); use another --out or delete it`);
    }
  }
  writeJsonAtomic(configFile, { ...config, hash: resolved.hash, canonical: JSON.parse(resolved.canonical), ...(control ? { control } : {}) });

  const datasetOptions = opts('dataset');
  const dataset =
    options.dataset ??
    (await plugin<DatasetProvider>('dataset').load(datasetOptions, {
      seed: config.seed,
      resolvePath: (p) => join(options.baseDir ?? process.cwd(), p),
    }));
  const model: ModelSpec = plugin<ModelFactory>('model').create(opts('model'), dataset);
  const allNames = stateNames(model);
  const plan = plugin<PruningSchedule>('pruning.schedule').plan(opts('pruning.schedule'));
  const scorer = plugin<Scorer>('pruning.scorer');
  const masker = plugin<Masker>('pruning.masker');
  const rewinder = plugin<Rewinder>('pruning.rewind');
  const optimizer = plugin<Optimizer>('training.optimizer');
  const lrSchedule = plugin<LrSchedule>('training.lrSchedule');
  const warmup = plugin<Warmup>('training.warmup');

  // A masker checks its options against the model (e.g. override keys naming layers) when it
  // first masks; do that now, at rate 0, so a typo fails before hours of dense training.
  {
    const dense = denseMasks(model);
    const zeros = Object.fromEntries(model.prunable.map((n) => [n, { shape: dense[n].shape, data: new Float32Array(dense[n].data.length) }]));
    masker.mask(zeros, dense, 0, opts('pruning.masker'), { model, level: 1 });
  }

  const batchSize = config.training.batchSize;
  const iterationsPerEpoch = Math.floor(dataset.train.count / batchSize);
  const total = parseDuration(config.training.iterations, iterationsPerEpoch, '/training/iterations');
  const evalEvery = Math.max(1, parseDuration(config.training.evalEvery, iterationsPerEpoch, '/training/evalEvery'));
  const timing = { iterationsPerEpoch, totalIterations: total };
  const baseLr = opts('training.optimizer').lr as number;
  const lr = (it: number) =>
    lrSchedule.lr(it, baseLr, opts('training.lrSchedule'), timing) * warmup.factor(it, opts('training.warmup'), timing);
  const captureAt = [...new Set(rewinder.captureAt(opts('pruning.rewind'), timing))].filter((k) => k > 0 && k <= total).sort((a, b) => a - b);

  const evalSets = {
    train: new EvalSet(dataset, dataset.train, options.trainEvalExamples ?? 10_000),
    validation: new EvalSet(dataset, dataset.validation),
    test: new EvalSet(dataset, dataset.test),
  };
  report({ type: 'run-start', runDir, replicates: config.replicates, levels: plan.levels, iterations: total, backend });

  let trainedThisCall = 0;
  let complete = true;
  try {
    for (let r = 0; r < config.replicates; r++) {
      const repDir = join(runDir, `replicate-${r}`);
      const seed = deriveSeed(config.seed, 'replicate', r);
      // A control uses its ticket's θ0 and snapshots; a shared dense run provides them otherwise.
      const sourceRep = control ? join(control.source, `replicate-${r}`) : undefined;
      // Not shared: pruning at init (level 0 is already pruned), controls (no level 0), and scorers
      // that accumulate a statistic during training (it would have to travel with the dense run).
      const shared = options.denseCache && !plan.atInit && !control && !scorer.accumulator ? join(options.denseCache, denseHash(resolved).slice(0, 12), `replicate-${r}`) : undefined;
      if (shared && existsSync(join(shared, 'init.safetensors')) && !existsSync(join(repDir, 'init.safetensors'))) {
        copyFileAtomic(join(shared, 'init.safetensors'), join(repDir, 'init.safetensors'));
      }
      const initFile = join(sourceRep ?? repDir, 'init.safetensors');
      let init: TensorMap;
      if (existsSync(initFile)) init = fromSafe(initFile, allNames);
      else {
        init = model.init(deriveSeed(seed, 'init'));
        saveSafetensors(initFile, toSafe(init), { kind: 'init', replicate: String(r) });
      }
      const batches = new BatchStream(dataset, dataset.train, batchSize, deriveSeed(seed, 'data'));
      let masks = denseMasks(model);
      let previousFinal: TensorMap | undefined;

      const scorerContext = (weights: TensorMap, level: number, rate: number, rewind?: TensorMap): ScorerContext => {
        const sampler = new BatchStream(dataset, dataset.train, batchSize, deriveSeed(seed, 'score', level));
        let drawn = 0;
        return {
          model,
          weights,
          init,
          rewind,
          masks,
          level,
          seed: deriveSeed(seed, 'scorer', level),
          rate,
          mask: (scores, current, r) => masker.mask(scores, current, r, opts('pruning.masker'), { model, level }),
          accumulated,
          sampleBatch: () => sampler.batchAt(drawn++),
          gradients(w, batch) {
            const m = maskTensors(masks);
            try {
              return tf.tidy(() => {
                const masked = applyMasks(w, m);
                // Differentiate the trainable weights; buffers (batch-norm statistics) ride along.
                const g = tf.grads((...ws: tf.Tensor[]) =>
                  batchLoss(model, { ...masked, ...Object.fromEntries(model.weightNames.map((n, i) => [n, ws[i]])) }, batch, true),
                )(model.weightNames.map((n) => masked[n]));
                return Object.fromEntries(model.weightNames.map((n, i) => [n, g[i]]));
              });
            } finally {
              tf.dispose(Object.values(m));
            }
          },
        };
      };
      // The scorer's training statistic (e.g. Σ|θ ⊙ g|) of the level that produced the weights scored next.
      let accumulated: TensorMap | undefined;
      const dropAccumulated = () => {
        if (accumulated) tf.dispose(Object.values(accumulated));
        accumulated = undefined;
      };
      const prune = async (weights: TensorMap, level: number, rate: number) => {
        const pruningControl = config.pruning.control ?? 'none';
        const scores = await scorer.score(scorerContext(weights, level, rate), opts('pruning.scorer'));
        const masked = masker.mask(applyScoreControl(scores, pruningControl), masks, rate, opts('pruning.masker'), { model, level });
        const next = applyMaskControl(masks, masked, pruningControl, deriveSeed(seed, 'pruning-control', level));
        assertMasksShrink(masks, next);
        masks = next;
        dropAccumulated();
      };

      for (let level = 0; level <= plan.levels; level++) {
        const levelDir = join(repDir, `level-${level}`);
        const summaryFile = join(levelDir, 'summary.json');
        if (control && level === 0) continue;
        if (level === 0 && shared && !existsSync(summaryFile) && existsSync(join(shared, 'level-0', 'summary.json'))) {
          // The dense run was trained by another variant: replay any rewind point it lacks, copy it.
          for (const k of captureAt) {
            const file = join(shared, `rewind-${k}.safetensors`);
            if (existsSync(file)) continue;
            report({ type: 'replay', replicate: r, iteration: k });
            const weights = Object.fromEntries(allNames.map((n) => [n, init[n].clone()]));
            const opt = optimizer.create(opts('training.optimizer'));
            try {
              const { final } = trainLoop({
                model, weights, masks: denseMasks(model), optimizer: opt, lr, batches, startIteration: 0, totalIterations: k,
                evalEvery: total + 1, evalSets, evaluate: false, captureAt: [k],
                onSnapshot: (it, w) => saveSafetensors(file, toSafe(w), { kind: 'rewind', iteration: String(it) }),
              });
              tf.dispose(Object.values(final));
            } finally {
              opt.dispose();
              tf.dispose(Object.values(weights));
            }
          }
          for (const k of captureAt) copyFileAtomic(join(shared, `rewind-${k}.safetensors`), join(repDir, `rewind-${k}.safetensors`));
          for (const f of ['mask.safetensors', 'final.safetensors', 'metrics.jsonl', 'summary.json']) {
            copyFileAtomic(join(shared, 'level-0', f), join(levelDir, f));
          }
          report({ type: 'level-skip', replicate: r, level, reason: 'dense run shared with another variant' });
        }
        if (existsSync(summaryFile)) {
          masks = loadMasks(join(levelDir, 'mask.safetensors'));
          if (previousFinal) tf.dispose(Object.values(previousFinal));
          previousFinal = fromSafe(join(levelDir, 'final.safetensors'), allNames);
          dropAccumulated();
          const accumulatedFile = join(levelDir, 'accumulated.safetensors');
          if (scorer.accumulator && existsSync(accumulatedFile)) accumulated = fromSafe(accumulatedFile, Object.keys(loadSafetensors(accumulatedFile).tensors));
          report({ type: 'level-skip', replicate: r, level, reason: 'complete on disk' });
          continue;
        }
        if (options.stopAfterLevels !== undefined && trainedThisCall >= options.stopAfterLevels) {
          complete = false;
          break;
        }
        const started = Date.now();
        // 1. Masks for this level.
        if (control) {
          const sourceMask = join(sourceRep!, `level-${level}`, 'mask.safetensors');
          if (!existsSync(join(sourceRep!, `level-${level}`, 'summary.json'))) {
            throw new Error(`control ${control.kind}: level ${level} of ${control.source} is not complete; run it first`);
          }
          masks = controlMasks(control.kind, loadMasks(sourceMask), deriveSeed(seed, 'control', level));
          if (!previousFinal) previousFinal = fromSafe(join(sourceRep!, 'level-0', 'final.safetensors'), allNames);
        } else if (level === 0 && plan.atInit) await prune(init, 0, plan.rateAt(0));
        else if (level > 0) await prune(previousFinal!, level, plan.rateAt(level));
        // 2. Where it starts.
        let start: LevelStart;
        if (level === 0) {
          start = { weights: Object.fromEntries(allNames.map((n) => [n, init[n].clone()])), iteration: 0 };
        } else if (control?.kind === 'reinit') {
          start = { weights: model.init(deriveSeed(seed, 'control-reinit', level)), iteration: 0 };
        } else {
          const snapshots = new Map<number, TensorMap>();
          for (const k of captureAt) {
            const file = join(sourceRep ?? repDir, `rewind-${k}.safetensors`);
            if (existsSync(file)) snapshots.set(k, fromSafe(file, allNames));
          }
          start = rewinder.start(
            { model, init, snapshots, final: previousFinal!, masks, level, seed: deriveSeed(seed, 'rewind', level), ...timing },
            opts('pruning.rewind'),
          );
          for (const s of snapshots.values()) tf.dispose(Object.values(s));
        }
        const maskT = maskTensors(masks);
        const startWeights = applyMasks(start.weights, maskT);
        tf.dispose([...Object.values(start.weights), ...Object.values(maskT)]);
        options.onLevelStart?.(r, level, startWeights, masks);
        const sparsity = sparsityReport(masks, model);
        report({ type: 'level-start', replicate: r, level, fractionRemaining: sparsity.fractionRemaining, startIteration: start.iteration });

        // 3. Train.
        mkdirSync(levelDir, { recursive: true });
        const metricsFile = join(levelDir, 'metrics.jsonl');
        writeFileSync(metricsFile, '');
        // A scorer's training statistic, for the next level's pruning (none after the last level).
        const accumulator = level < plan.levels ? scorer.accumulator : undefined;
        dropAccumulated();
        if (accumulator) accumulated = accumulator.init(model, opts('pruning.scorer'));
        const accumulate = accumulator
          ? (weights: TensorMap, gradients: TensorMap, iteration: number) => {
              const next = tf.tidy(() => accumulator.step(accumulated!, { weights, gradients, iteration }, opts('pruning.scorer')));
              tf.dispose(Object.values(accumulated!));
              accumulated = next;
            }
          : undefined;
        const opt = optimizer.create(opts('training.optimizer'), start.optimizerState);
        if (start.optimizerState) tf.dispose(Object.values(start.optimizerState));
        let result: ReturnType<typeof trainLoop>;
        try {
          result = trainLoop({
            model,
            weights: startWeights,
            masks,
            optimizer: opt,
            // A rewinder may fix the level's rate (fine-tuning); otherwise the schedule from start.iteration.
            lr: start.lr === undefined ? lr : ((fixed: number) => () => fixed)(start.lr),
            batches,
            startIteration: start.iteration,
            totalIterations: total,
            evalEvery,
            evalSets,
            captureAt: level === 0 ? captureAt.filter((k) => !existsSync(join(repDir, `rewind-${k}.safetensors`))) : [],
            onSnapshot: (k, w) => saveSafetensors(join(repDir, `rewind-${k}.safetensors`), toSafe(w), { kind: 'rewind', iteration: String(k) }),
            onEval: (record) => {
              appendFileSync(metricsFile, `${JSON.stringify(record)}\n`);
              report({ type: 'eval', replicate: r, level, metrics: record });
            },
            onProgress: (iteration, loss) => report({ type: 'progress', replicate: r, level, iteration, total, loss }),
            onStep: accumulate,
          });
        } finally {
          opt.dispose();
          tf.dispose(Object.values(startWeights));
        }

        // 4. Store: masks and weights first, the summary last (it marks the level complete).
        saveMasks(join(levelDir, 'mask.safetensors'), masks);
        saveSafetensors(join(levelDir, 'final.safetensors'), toSafe(result.final), { kind: 'final', level: String(level) });
        if (accumulated) saveSafetensors(join(levelDir, 'accumulated.safetensors'), toSafe(accumulated), { kind: 'accumulated', level: String(level) });
        const last = result.records[result.records.length - 1];
        const best = earlyStop(result.records);
        const summary: LevelSummary = {
          replicate: r,
          level,
          fractionRemaining: sparsity.fractionRemaining,
          layerFractions: sparsity.layerFractions,
          remainingWeights: sparsity.remaining,
          totalPrunableWeights: sparsity.total,
          finalIteration: last.iteration,
          finalTestAccuracy: last.testAccuracy,
          finalTestLoss: last.testLoss,
          finalTrainLoss: last.trainLoss,
          earlyStopIteration: best.iteration,
          earlyStopTestAccuracy: best.testAccuracy,
          earlyStopValidationLoss: best.validationLoss,
          seconds: (Date.now() - started) / 1000,
          backend,
        };
        writeJsonAtomic(summaryFile, summary);
        if (level === 0 && shared && !existsSync(join(shared, 'level-0', 'summary.json'))) {
          // Publish the dense run for the other variants (the summary last: it marks completion).
          copyFileAtomic(join(repDir, 'init.safetensors'), join(shared, 'init.safetensors'));
          for (const k of captureAt) copyFileAtomic(join(repDir, `rewind-${k}.safetensors`), join(shared, `rewind-${k}.safetensors`));
          for (const f of ['mask.safetensors', 'final.safetensors', 'metrics.jsonl', 'summary.json']) {
            copyFileAtomic(join(levelDir, f), join(shared, 'level-0', f));
          }
        }
        report({ type: 'level-end', replicate: r, level, summary });
        if (previousFinal) tf.dispose(Object.values(previousFinal));
        previousFinal = result.final;
        trainedThisCall++;
      }
      if (previousFinal) tf.dispose(Object.values(previousFinal));
      dropAccumulated();
      tf.dispose(Object.values(init));
      if (!complete) break;
    }
  } finally {
    for (const s of Object.values(evalSets)) s.dispose();
  }
  const summary = writeRunSummary(runDir);
  if (complete) report({ type: 'run-end', runDir, summary });
  return { runDir, summary, complete };
}
