/**
 * The public contracts of lth: what a plugin implements and what core hands it.
 *
 * A plugin is a plain object `{ meta, optionsSchema, defaults, ...functions }`. Options arrive
 * validated against `optionsSchema` with `defaults` filled in, so a plugin never re-checks them.
 * Everything a function needs comes in as an argument (no `this`, no globals).
 */
import type { TSchema } from '@sinclair/typebox';
import type * as tf from '@tensorflow/tfjs-core';
import type { PlaneEvaluator } from './plane.js';

/** Bumped on any breaking change to these interfaces; plugins declare the version they target. */
export const API_VERSION = 1;

/** Named tensors, e.g. a model's weights (`dense1/kernel` → Tensor). */
export type TensorMap = Record<string, tf.Tensor>;

/** A tensor held on the host: used for masks and scores, where exact counting matters. */
export interface HostTensor<T extends Float32Array | Uint8Array = Float32Array> {
  shape: number[];
  data: T;
}

/** One uint8 mask (1 = kept) per prunable weight name. */
export type Masks = Record<string, HostTensor<Uint8Array>>;
/** One score per weight (higher = more important, kept first), per prunable weight name. */
export type Scores = Record<string, HostTensor<Float32Array>>;

export interface PluginMeta {
  /** The name a config uses (`"use": "<name>"`). Unique per plugin kind. */
  name: string;
  /** The plugin's own version (usually its package's). */
  version: string;
  /** The core API version the plugin was written against; must equal core's `API_VERSION`. */
  apiVersion: number;
  /** One line shown by `lth plugins`. */
  description?: string;
  /** Filled in by the loader: the npm package the plugin came from. */
  package?: string;
}

/** What every plugin has. `Options` is the validated, defaults-filled options object. */
export interface Plugin<Options = Record<string, unknown>> {
  meta: PluginMeta;
  /** JSON Schema (TypeBox) of the plugin's options, without the `use` key. */
  optionsSchema: TSchema;
  /** Defaults, kept beside the schema (not inside it). */
  defaults: Partial<Options>;
  /**
   * Optional: other names this plugin answers to, with the options they imply, e.g. a `lenet`
   * model answering `lenet-300-100` with `{ hidden: [300, 100] }`. Exact names win.
   */
  matches?(name: string): Partial<Options> | undefined;
  /** Phantom field so that `Options` is carried by the type; never set. */
  readonly __options?: Options;
}

// ---------------------------------------------------------------------------------------------
// Data

/** One split of a dataset, held in memory. `x` is [count, ...inputShape], row-major, float32. */
export interface DataSplit {
  x: Float32Array;
  /** Integer class labels in [0, numClasses). */
  y: Int32Array;
  count: number;
}

export interface Dataset {
  name: string;
  /** Shape of one example, e.g. [784] or [32, 32, 3] (NHWC). */
  inputShape: number[];
  numClasses: number;
  train: DataSplit;
  validation: DataSplit;
  test: DataSplit;
  /**
   * Optional augmentation of a training batch (in place), e.g. random crops. `random` is a
   * seeded generator in [0, 1) owned by core, so augmentation is reproducible.
   */
  augment?: (x: Float32Array, count: number, random: () => number) => void;
}

export interface DatasetContext {
  seed: number;
  /** Resolves paths in the config relative to the config file. */
  resolvePath(p: string): string;
}

export interface DatasetProvider<O = Record<string, unknown>> extends Plugin<O> {
  /** `validation`: how many training examples to hold out (a deterministic split). */
  load(options: O & { validation: number }, ctx: DatasetContext): Promise<Dataset>;
}

// ---------------------------------------------------------------------------------------------
// Models

export interface ModelSpec {
  /** Every trainable weight, in a stable order (this order is the flat order of global pruning). */
  weightNames: string[];
  /** The weights that may be pruned (Dense and Conv2D kernels by default). */
  prunable: string[];
  /** Prunable weight names grouped by layer name, for layer-wise pruning and reports. */
  layerOf: Record<string, string>;
  /** The layer name of the output layer (`"output"` in overrides refers to it). */
  outputLayer: string;
  shapes: Record<string, number[]>;
  /** A fresh initialisation from a seed: same seed, same weights. */
  init(seed: number): TensorMap;
  /** Logits for a batch. Pure: must not keep tensors; called inside `tf.tidy`. */
  forward(weights: TensorMap, x: tf.Tensor, training: boolean): tf.Tensor;
  /**
   * Non-trainable state kept with the weights, e.g. batch-norm running mean and variance. `init`
   * returns them too; they are saved in every snapshot, rewound with the weights, never pruned
   * and never seen by the optimizer. A model with buffers must implement `forwardTrain`.
   */
  buffers?: string[];
  /**
   * Training-mode forward pass of a model with buffers: the logits and the buffers' new values
   * (e.g. running statistics updated from this batch). Pure, like `forward`.
   */
  forwardTrain?(weights: TensorMap, x: tf.Tensor): { logits: tf.Tensor; buffers: TensorMap };
  /**
   * Optional: the architecture as a sequence of standard layers that computes what `forward`
   * computes, so that a ticket can be used outside lth (`lth export`). A model without it cannot
   * be exported.
   */
  describe?(): ModelDescription;
  /**
   * Optional: the forward pass split after the first layer's linear map, for analyses that
   * evaluate many weights on the same inputs (core's `PlaneEvaluator`: the first layer of
   * θ + αδ + βη on fixed x is x·W + α x·δ + β x·η, three products per input for a whole grid
   * instead of one per point). `apply(kernel, x)` must be linear in `kernel` (no bias, no
   * activation), and `forward(w, x, false)` must equal `rest(w, apply(w[kernel], x))` exactly
   * (compute `forward` from the two, as lenet does).
   */
  firstLayer?: FirstLayer;
}

/** The first layer's linear map and the rest of the inference forward pass: see `ModelSpec.firstLayer`. */
export interface FirstLayer {
  /** The weight `apply` multiplies the input by. */
  kernel: string;
  /** x · kernel (or conv2d(x, kernel), ...): linear in `kernel`. Pure, like `forward`. */
  apply(kernel: tf.Tensor, x: tf.Tensor): tf.Tensor;
  /** The logits (inference mode) from the first layer's output `z = apply(weights[kernel], x)`. Pure. */
  rest(weights: TensorMap, z: tf.Tensor): tf.Tensor;
}

/**
 * One layer of a model's description, in the order the forward pass applies them. Exporters
 * refuse a type they do not know, so new types can be added without breaking them.
 */
export type LayerDescription =
  /** Flattens each example to a vector (row-major, as `tf.reshape`). */
  | { type: 'flatten' }
  /** `activation(x · kernel + bias)`, kernel [inputs, units]; weights named as in `weightNames`. */
  | { type: 'dense'; name: string; kernel: string; bias: string; units: number; activation: 'relu' | 'linear' }
  /**
   * `activation(conv2d(x, kernel) + bias)` on NHWC, kernel [kh, kw, in, filters], at `stride`
   * (default 1) with (k − 1) / 2 zeros on each side (so 'same' at stride 1); no bias when `bias` is absent.
   */
  | { type: 'conv2d'; name: string; kernel: string; bias?: string; filters: number; kernelSize: [number, number]; activation: 'relu' | 'linear'; stride?: number }
  /** Max-pooling over `size`×`size` windows with stride `size` ('valid'). */
  | { type: 'maxpool'; size: number }
  /**
   * Inference batch norm over the channels (the last axis), then the activation:
   * `activation((x − mean) / √(variance + epsilon) · gamma + beta)` with the running statistics.
   */
  | { type: 'batchnorm'; name: string; gamma: string; beta: string; mean: string; variance: string; epsilon: number; activation: 'relu' | 'linear' }
  /** The mean over the spatial axes: NHWC [batch, h, w, c] → [batch, c]. */
  | { type: 'globalavgpool' }
  /** `activation(body(x) + shortcut(x))`, each a sequence of layers; an empty shortcut is the identity. */
  | { type: 'residual'; name: string; body: LayerDescription[]; shortcut: LayerDescription[]; activation: 'relu' | 'linear' }
  /** Every `stride`-th pixel in both spatial axes, from the first (a ResNet option-A shortcut). */
  | { type: 'subsample'; stride: number }
  /** `before` zero channels, the input's, then `after` zero channels (NHWC's last axis). */
  | { type: 'padchannels'; before: number; after: number };

/** A model's architecture for exporters: its input and its layers; the last layer gives the logits. */
export interface ModelDescription {
  /** Shape of one input example, e.g. [28, 28, 1]. */
  inputShape: number[];
  layers: LayerDescription[];
}

/** Every tensor of a model's state: trainable weights, then buffers. */
export function stateNames(model: Pick<ModelSpec, 'weightNames' | 'buffers'>): string[] {
  return [...model.weightNames, ...(model.buffers ?? [])];
}

/** A canonical model name a factory answers to, with the data shape it is usually built for. */
export interface ModelExample {
  /** A name a config can `use`, e.g. `lenet-300-100` (resolved through `matches`). */
  name: string;
  /** Shape of one input example, e.g. [28, 28, 1] (MNIST) or [32, 32, 3] (CIFAR-10). */
  inputShape: number[];
  numClasses: number;
}

export interface ModelFactory<O = Record<string, unknown>> extends Plugin<O> {
  create(options: O, data: { inputShape: number[]; numClasses: number }): ModelSpec;
  /** Optional: the canonical names this factory answers to (listed by `lth models`). */
  examples?: ModelExample[];
}

// ---------------------------------------------------------------------------------------------
// Pruning

export interface Batch {
  /** Inputs, [batch, ...inputShape], float32. */
  x: tf.Tensor;
  /** Labels, one-hot float32 [batch, numClasses]. */
  y: tf.Tensor;
}

export interface ScorerContext {
  model: ModelSpec;
  /** Weights now (θT at the end of the level's training; θ0 when pruning at initialisation). */
  weights: TensorMap;
  /** θ0. */
  init: TensorMap;
  /** The weights the next level will start from (θk), where the rewinder has them. */
  rewind?: TensorMap;
  masks: Masks;
  level: number;
  seed: number;
  /** A training batch from a seeded stream (independent of the training order). */
  sampleBatch(size?: number): Batch;
  /** ∂loss/∂w for every trainable weight on one batch, at the given weights (masked). */
  gradients(weights: TensorMap, batch: Batch): TensorMap;
  /** The fraction of the remaining weights this level prunes (the schedule's rate at this level). */
  rate?: number;
  /**
   * The configured masker, with its options: prunes `rate` of the weights kept in `masks`, given
   * `scores`. For scorers that prune in rounds (SynFlow); the scorer still returns scores, and
   * core masks them once more with the level's rate.
   */
  mask?(scores: Scores, masks: Masks, rate: number): Masks;
  /**
   * The scorer's `accumulator` state at the end of the training that produced `weights`; absent
   * where no training ran (pruning at initialisation) or the scorer has no accumulator.
   */
  accumulated?: TensorMap;
}

/** One step of the masked training loop, as an accumulator sees it. */
export interface TrainingStep {
  /** The weights the gradients were taken at (before the update; pruned entries are 0). */
  weights: TensorMap;
  /** ∂loss/∂w of the step's batch for every trainable weight, before masking. */
  gradients: TensorMap;
  iteration: number;
}

/**
 * A statistic a scorer accumulates over every training step of a level (e.g. Σ|θ ⊙ g| for a
 * first-order Taylor score). Core keeps the state, saves it with the level (so a resumed run
 * scores the same) and hands it to the next `score` call as `ctx.accumulated`.
 */
export interface ScoreAccumulator<O = Record<string, unknown>> {
  /** The state before the first step (tensors the caller owns). */
  init(model: ModelSpec, options: O): TensorMap;
  /** The state after one more step. Pure: called inside `tf.tidy`; core disposes the old state. */
  step(state: TensorMap, step: TrainingStep, options: O): TensorMap;
}

/** What a scorer needs from the run: trained weights (not pruning at init), the rewind point θk. */
export type ScorerNeed = 'training' | 'rewind';

export interface Scorer<O = Record<string, unknown>> extends Plugin<O> {
  /** One score per prunable weight; higher = keep. Pruned entries are ignored by maskers. */
  score(ctx: ScorerContext, options: O): Promise<Scores> | Scores;
  /** Optional: what it needs, so that a config that cannot provide it fails before training. */
  requires?(options: O): ScorerNeed[];
  /** Optional: a statistic accumulated during training, handed to `score` as `ctx.accumulated`. */
  accumulator?: ScoreAccumulator<O>;
}

export interface MaskerContext {
  model: ModelSpec;
  level: number;
}

export interface Masker<O = Record<string, unknown>> extends Plugin<O> {
  /**
   * Prune `rate` of the weights that remain (a fraction in [0, 1)). Must return new masks that
   * are a subset of `masks`; use core's `pruneLowest` for exact counts and tie-breaking.
   */
  mask(scores: Scores, masks: Masks, rate: number, options: O, ctx: MaskerContext): Masks;
}

export interface PruningPlan {
  /** Number of pruned levels after the dense level 0. */
  levels: number;
  /** The fraction of remaining weights to prune before level `level` (1-based). */
  rateAt(level: number): number;
  /** Prune before the first training (level 0 trains an already sparse net). */
  atInit: boolean;
}

export interface PruningSchedule<O = Record<string, unknown>> extends Plugin<O> {
  plan(options: O): PruningPlan;
}

/** What a level starts from. */
export interface LevelStart {
  weights: TensorMap;
  /** The iteration the level starts at (the LR schedule's position); training runs to the end. */
  iteration: number;
  /** Optimizer state to start from (e.g. Adam moments at θk), or undefined for fresh state. */
  optimizerState?: TensorMap;
  /**
   * A constant learning rate for the whole level, replacing the LR schedule and warmup (e.g.
   * fine-tuning at a small rate); undefined follows the schedule from `iteration`.
   */
  lr?: number;
}

export interface RewindContext {
  model: ModelSpec;
  /** θ0. */
  init: TensorMap;
  /** Snapshots captured during the dense run, by iteration. */
  snapshots: Map<number, TensorMap>;
  /** θT of the previous level. */
  final: TensorMap;
  masks: Masks;
  level: number;
  seed: number;
  iterationsPerEpoch: number;
  totalIterations: number;
}

export interface Rewinder<O = Record<string, unknown>> extends Plugin<O> {
  /** Iterations of the dense run (level 0) at which core must save weight snapshots. */
  captureAt(options: O, ctx: { iterationsPerEpoch: number; totalIterations: number }): number[];
  /** Where a pruned level starts. Core applies the masks to the returned weights. */
  start(ctx: RewindContext, options: O): LevelStart;
}

// ---------------------------------------------------------------------------------------------
// Training

export interface LrSchedule<O = Record<string, unknown>> extends Plugin<O> {
  /** Learning rate at `iteration` given the optimizer's base rate. */
  lr(iteration: number, baseLr: number, options: O, ctx: { iterationsPerEpoch: number; totalIterations: number }): number;
}

export interface Warmup<O = Record<string, unknown>> extends Plugin<O> {
  /** Multiplier in [0, 1] applied to the scheduled learning rate at `iteration`. */
  factor(iteration: number, options: O, ctx: { iterationsPerEpoch: number }): number;
}

/** A stateful optimizer instance for one level's training. */
export interface OptimizerInstance {
  /** Update `weights` in place from `grads` at learning rate `lr`; pruned entries stay 0. */
  step(weights: Record<string, tf.Variable>, grads: TensorMap, lr: number, masks: Record<string, tf.Tensor>): void;
  /** The state to save or hand to a later level (tensors are copies the caller owns). */
  state(): TensorMap;
  dispose(): void;
}

export interface Optimizer<O = Record<string, unknown>> extends Plugin<O> {
  create(options: O, initialState?: TensorMap): OptimizerInstance;
}

// ---------------------------------------------------------------------------------------------
// Backends and reporting

export interface BackendProvider extends Plugin {
  /** Higher is preferred by `--backend auto`. */
  priority: number;
  /** Whether this backend can run here; `reason` says why not (shown to the user). */
  available(): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Register and select the backend with tfjs. */
  activate(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Branches

/** What a branch's `check` sees of a run before anything trains (to reject what cannot work). */
export interface BranchRunInfo {
  /** Number of pruned levels (levels 0..levels exist). */
  levels: number;
  replicates: number;
  totalIterations: number;
  iterationsPerEpoch: number;
  /** Iterations of the dense run that are saved as rewind snapshots (θk). */
  snapshots: number[];
  /** Examples in each split of the run's dataset (e.g. to reject a subset larger than a split). */
  examples?: { train: number; validation: number; test: number };
}

/** Options of one masked training run a branch asks core for (the run's own masked loop). */
export interface BranchTrainRequest {
  /**
   * A file-name key (e.g. `copy-1`): the result is saved in the branch directory under it, and a
   * second call with the same key (after a restart) returns the saved result without training.
   */
  key: string;
  /** Starting weights (core applies the masks). The caller keeps ownership. */
  weights: TensorMap;
  masks: Masks;
  /** First and one-past-last iteration (default: 0 and the run's training length). */
  startIteration?: number;
  endIteration?: number;
  /** Data order (and augmentation) seed; default: the replicate's, as the level itself trained. */
  dataSeed?: number;
  /** Optimizer state to start from; default fresh. The caller keeps ownership. */
  optimizerState?: TensorMap;
  /** A constant learning rate replacing the schedule; default the run's schedule. */
  lr?: number;
  /** Evaluate every `evalEvery` iterations as the run does (default true). */
  evaluate?: boolean;
}

export interface BranchTrainResult {
  /** Final weights (owned by the caller: dispose them). */
  final: TensorMap;
  records: EvalRecord[];
}

/** The split an evaluation runs on: the run's fixed evaluation sets. */
export type EvalSplit = 'train' | 'validation' | 'test';

/** The directory a branch owns at one level: `level-L/branch-<name>-<hash12>/`. */
export interface BranchFiles {
  readonly dir: string;
  has(name: string): boolean;
  writeJson(name: string, value: unknown): void;
  readJson<T>(name: string): T;
  writeTensors(name: string, tensors: TensorMap, metadata?: Record<string, string>): void;
  readTensors(name: string, names?: string[]): TensorMap;
}

/**
 * A completed level, handed to a branch with the services it needs. Tensors belong to core:
 * a branch must not dispose them (and must dispose what services return to it).
 */
export interface BranchContext {
  model: ModelSpec;
  dataset: Dataset;
  replicate: number;
  level: number;
  /** The replicate's seed; `deriveSeed` derives named streams from it. */
  seed: number;
  deriveSeed(...labels: (string | number)[]): number;
  /** θ0 of the replicate. */
  init: TensorMap;
  /** θT of this level (its trained weights). */
  final: TensorMap;
  /** θT of the previous level (the weights this level's masks were computed from); absent at level 0. */
  previousFinal?: TensorMap;
  /** This level's masks. */
  masks: Masks;
  summary: LevelSummary;
  /** The saved snapshot θk of the dense run at iteration k (a copy the caller disposes), or undefined. */
  snapshot(iteration: number): TensorMap | undefined;
  iterationsPerEpoch: number;
  totalIterations: number;
  /** Where the run's rewinder starts this level under `masks` (θk for the usual rewinder). */
  rewindStart(masks: Masks): LevelStart;
  /** Masked training with the run's model, optimizer, schedule and batch size; resumable by `key`. */
  train(request: BranchTrainRequest): Promise<BranchTrainResult>;
  /**
   * Several independent trainings (distinct keys), each as `train` would give it: in parallel
   * worker processes where the run has them (`lth ... --jobs N`), else one after the other.
   */
  trainAll(requests: BranchTrainRequest[]): Promise<BranchTrainResult[]>;
  /**
   * Trains a level of its own under `masks` from `start`, as the run trains its levels, and
   * stores it in the branch directory with the level layout (mask, final, metrics, summary).
   * Returns the level's summary (the stored one when already complete).
   */
  trainLevel(masks: Masks, start: LevelStart): Promise<LevelSummary>;
  /** Loss and accuracy of `weights` (as given: mask them first) on one of the run's evaluation sets. */
  evaluate(weights: TensorMap, split: EvalSplit): { loss: number; accuracy: number };
  /**
   * Loss and accuracy at many points θ + Σ cᵢ dᵢ on a split of the run's evaluation sets, as
   * `evaluate` of each point gives them, faster for a model with a `firstLayer` (core's
   * `PlaneEvaluator`); the caller disposes it, and owns `center` and `directions`.
   */
  plane(center: TensorMap, directions: TensorMap[], split: EvalSplit): Pick<PlaneEvaluator, 'at' | 'dispose'>;
  /** The branch's own directory (resumable outputs). */
  files: BranchFiles;
  report(message: string): void;
}

/** A branch's result at one level: one row of the run's branches.csv (numbers or short strings). */
export type BranchResult = Record<string, number | string | boolean | null>;

/**
 * An experiment that hangs off a completed level (OpenLTH's branches, as a plugin kind):
 * controls, landscapes, stability analyses, exports. A branch that completed at a level (its
 * result is stored) is skipped on rerun; what it saves in `ctx.files` lets a killed one resume.
 */
export interface Branch<O = Record<string, unknown>> extends Plugin<O> {
  /** Which levels it runs on when the config names none: pruned levels (default) or all, with the dense level 0. */
  defaultLevels?: 'pruned' | 'all';
  /** Problems with running it on this run, found before anything trains (empty when fine). */
  check?(run: BranchRunInfo, options: O): string[];
  run(ctx: BranchContext, options: O): Promise<BranchResult>;
}

// ---------------------------------------------------------------------------------------------
// Export

/** A ticket handed to an exporter: one level's architecture and masked weights, and where it came from. */
export interface ExportTicket {
  description: ModelDescription;
  /** The level's final weights with its masks applied (pruned entries are 0), by weight name. */
  weights: Record<string, HostTensor<Float32Array>>;
  masks: Masks;
  /** Where the ticket came from (run, config hash, replicate, level, fraction remaining, accuracies): for the format's metadata. */
  provenance: Record<string, unknown>;
}

/** An exported model loaded back as its users load it: what `lth export` re-checks on the test set. */
export interface ExportedModel {
  /** `x`: `batch` examples, `[batch, ...inputShape]` row-major in lth's layout → logits `[batch, classes]`. */
  predict(x: Float32Array, batch: number): Float32Array | Promise<Float32Array>;
  dispose?(): void | Promise<void>;
}

/**
 * A file format for tickets (`lth export --format <name>`). `write` puts the ticket's files in
 * `outDir` and returns their names (relative to it); a model it cannot express is a UserError
 * naming what is missing. `load` reads them back as a user of the format would, so `lth export`
 * can re-check the file on the test set against lth's own accuracy.
 */
export interface Exporter<O = Record<string, unknown>> extends Plugin<O> {
  write(ticket: ExportTicket, options: O, outDir: string): Promise<string[]>;
  load(outDir: string, options: O, description: ModelDescription): Promise<ExportedModel>;
  /** How far the re-checked test accuracy may be from lth's, a fraction (default 1e-4: 0.01 pp); lossy options widen it. */
  accuracyTolerance?(options: O): number;
}

export type RunEvent =
  | { type: 'run-start'; runDir: string; replicates: number; levels: number; iterations: number; backend: string }
  | { type: 'level-start'; replicate: number; level: number; fractionRemaining: number; startIteration: number }
  | { type: 'level-skip'; replicate: number; level: number; reason: string }
  | { type: 'replay'; replicate: number; iteration: number }
  | { type: 'sweep-run'; index: number; total: number; label: string }
  | { type: 'progress'; replicate: number; level: number; iteration: number; total: number; loss: number }
  | { type: 'eval'; replicate: number; level: number; metrics: EvalRecord }
  | { type: 'level-end'; replicate: number; level: number; summary: LevelSummary }
  | { type: 'branch-start'; replicate: number; level: number; branch: string }
  | { type: 'branch-message'; replicate: number; level: number; branch: string; message: string }
  | { type: 'branch-end'; replicate: number; level: number; branch: string; result: BranchResult }
  | { type: 'run-end'; runDir: string; summary: LevelSummary[] }
  | { type: 'warning'; message: string };

export interface Reporter {
  onEvent(event: RunEvent): void;
}

export interface EvalRecord {
  iteration: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  validationLoss: number;
  validationAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

export interface LevelSummary {
  replicate: number;
  level: number;
  fractionRemaining: number;
  /** Surviving prunable weights per layer / that layer's prunable weights. */
  layerFractions: Record<string, number>;
  remainingWeights: number;
  totalPrunableWeights: number;
  finalIteration: number;
  finalTestAccuracy: number;
  finalTestLoss: number;
  finalTrainLoss: number;
  earlyStopIteration: number;
  earlyStopTestAccuracy: number;
  earlyStopValidationLoss: number;
  seconds: number;
  backend: string;
  /** sha256 of the level's files when it completed (file name → hex), checked on resume. */
  digests?: Record<string, string>;
  /**
   * The kernels that trained each masked weight, where the backend has more than one path (the
   * native backend: `sparse` or `dense`; `sparse+dense` if both served the level).
   */
  kernelPaths?: Record<string, string>;
}

/**
 * A backend with more than one kernel path for masked training (e.g. sparse kernels for pruned
 * layers) says which path each weight took since the last reset; core records it per level.
 */
export interface KernelPathReporter {
  kernelPaths(): Record<string, string>;
  resetKernelPaths(): void;
}

/** The active backend's `KernelPathReporter`, when it is one. */
export function kernelPathReporter(backend: unknown): KernelPathReporter | undefined {
  const b = backend as Partial<KernelPathReporter> | undefined;
  return typeof b?.kernelPaths === 'function' && typeof b.resetKernelPaths === 'function' ? (b as KernelPathReporter) : undefined;
}
