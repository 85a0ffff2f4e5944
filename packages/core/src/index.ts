// Load the Reflect metadata polyfill before tsyringe (and before anything that imports it).
import 'reflect-metadata';

/** The single TensorFlow.js instance every plugin must use (one kernel registry). */
export * as tf from '@tensorflow/tfjs-core';
export { Type } from '@sinclair/typebox';
export type { Static, TSchema } from '@sinclair/typebox';

export * from './contracts.js';
export * from './tokens.js';
export * from './errors.js';
export * from './registry.js';
export * from './loader.js';
export * from './pruning.js';
export * from './sanity-checks.js';
export * from './container.js';
export * from './duration.js';
export * from './store/io.js';
export * from './store/safetensors.js';
export * from './store/run-store.js';
export * from './store/provenance.js';
export { LeaseLostError, type LockHolder, RunLockedError } from './store/lock.js';
export * from './config.js';
export * from './seed.js';
export * from './data.js';
export * from './train.js';
export * from './hessian.js';
export * from './plane.js';
export * from './run/loop.js';
export { loadDataset, type RunContext, type RunOptions, runDirOf } from './run/context.js';
export { preflight } from './run/preflight.js';
export { branchLevels } from './run/branches.js';
export { type BranchTrainer, type BranchTrainJob, trainBranchJob } from './run/branch-jobs.js';
export { createScorerContext, maskedGradients, type ScorerContextParts } from './run/scorer-context.js';
export { earlyStop } from './run/stages.js';
export * from './backend.js';
export * from './builtins/index.js';
export * from './sweep.js';
export { type RunStatus, runStatus } from './store/status.js';
