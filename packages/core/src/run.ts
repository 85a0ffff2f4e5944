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
import { type ResolvedConfig, runDirName } from './config.js';
import { BatchStream, EvalSet } from './data.js';
import { parseDuration } from './duration.js';
import { readJson, writeFileAtomic, writeJsonAtomic } from './io.js';
import { assertMasksShrink, denseMasks, sparsityReport } from './pruning.js';
import { loadSafetensors, type SafeTensor, saveSafetensors } from './safetensors.js';
import { deriveSeed } from './seed.js';
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
}

export interface RunResult {
  runDir: string;
  summary: LevelSummary[];
  /** True when every level of every replicate is complete. */
  complete: boolean;
}

const SUMMARY_COLUMNS: (keyof LevelSummary)[] = [
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

  const runDir = join(options.outDir, runDirName(resolved));
  mkdirSync(runDir, { recursive: true });
  const configFile = join(runDir, 'config.json');
  if (existsSync(configFile)) {
    const previous = readJson<{ hash?: string }>(configFile);
    if (previous.hash && previous.hash !== resolved.hash) {
      throw new Error(`${runDir} holds a run with a different config (hash ${previous.hash}); use another --out or delete it`);
    }
  }
  writeJsonAtomic(configFile, { ...config, hash: resolved.hash, canonical: JSON.parse(resolved.canonical) });

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
      const initFile = join(repDir, 'init.safetensors');
      let init: TensorMap;
      if (existsSync(initFile)) init = fromSafe(initFile, allNames);
      else {
        init = model.init(deriveSeed(seed, 'init'));
        saveSafetensors(initFile, toSafe(init), { kind: 'init', replicate: String(r) });
      }
      const batches = new BatchStream(dataset, dataset.train, batchSize, deriveSeed(seed, 'data'));
      let masks = denseMasks(model);
      let previousFinal: TensorMap | undefined;

      const scorerContext = (weights: TensorMap, level: number, rewind?: TensorMap): ScorerContext => {
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
      const prune = async (weights: TensorMap, level: number, rate: number) => {
        const scores = await scorer.score(scorerContext(weights, level), opts('pruning.scorer'));
        const next = masker.mask(scores, masks, rate, opts('pruning.masker'), { model, level });
        assertMasksShrink(masks, next);
        masks = next;
      };

      for (let level = 0; level <= plan.levels; level++) {
        const levelDir = join(repDir, `level-${level}`);
        const summaryFile = join(levelDir, 'summary.json');
        if (existsSync(summaryFile)) {
          masks = loadMasks(join(levelDir, 'mask.safetensors'));
          if (previousFinal) tf.dispose(Object.values(previousFinal));
          previousFinal = fromSafe(join(levelDir, 'final.safetensors'), allNames);
          report({ type: 'level-skip', replicate: r, level, reason: 'complete on disk' });
          continue;
        }
        if (options.stopAfterLevels !== undefined && trainedThisCall >= options.stopAfterLevels) {
          complete = false;
          break;
        }
        const started = Date.now();
        // 1. Masks for this level.
        if (level === 0 && plan.atInit) await prune(init, 0, plan.rateAt(0));
        if (level > 0) await prune(previousFinal!, level, plan.rateAt(level));
        // 2. Where it starts.
        let start: LevelStart;
        if (level === 0) {
          start = { weights: Object.fromEntries(allNames.map((n) => [n, init[n].clone()])), iteration: 0 };
        } else {
          const snapshots = new Map<number, TensorMap>();
          for (const k of captureAt) {
            const file = join(repDir, `rewind-${k}.safetensors`);
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
        const sparsity = sparsityReport(masks, model);
        report({ type: 'level-start', replicate: r, level, fractionRemaining: sparsity.fractionRemaining, startIteration: start.iteration });

        // 3. Train.
        mkdirSync(levelDir, { recursive: true });
        const metricsFile = join(levelDir, 'metrics.jsonl');
        writeFileSync(metricsFile, '');
        const opt = optimizer.create(opts('training.optimizer'), start.optimizerState);
        if (start.optimizerState) tf.dispose(Object.values(start.optimizerState));
        let result: ReturnType<typeof trainLoop>;
        try {
          result = trainLoop({
            model,
            weights: startWeights,
            masks,
            optimizer: opt,
            lr,
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
          });
        } finally {
          opt.dispose();
          tf.dispose(Object.values(startWeights));
        }

        // 4. Store: masks and weights first, the summary last (it marks the level complete).
        saveMasks(join(levelDir, 'mask.safetensors'), masks);
        saveSafetensors(join(levelDir, 'final.safetensors'), toSafe(result.final), { kind: 'final', level: String(level) });
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
        report({ type: 'level-end', replicate: r, level, summary });
        if (previousFinal) tf.dispose(Object.values(previousFinal));
        previousFinal = result.final;
        trainedThisCall++;
      }
      if (previousFinal) tf.dispose(Object.values(previousFinal));
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
