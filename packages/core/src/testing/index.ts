/**
 * `@lth/core/testing`: the conformance suite every scorer, masker, rewinder, branch and exporter
 * runs, and the tiny fake model it runs them on. Framework-agnostic (`node:assert`): call the
 * checks from any test runner; they throw on a violation, naming the plugin.
 *
 * Importing this module registers tfjs's CPU backend, so plugin tests need no backend set-up.
 */
import '@tensorflow/tfjs-backend-cpu';

export { checkPluginShape } from './check-plugin.js';
export { checkScorer, type CheckScorerOptions } from './check-scorer.js';
export { checkMasker, tiedScores, type CheckMaskerOptions, type MaskAllocation } from './check-masker.js';
export { checkRewinder, type CheckRewinderOptions } from './check-rewinder.js';
export { checkBranch, type CheckBranchOptions, fakeDataset } from './check-branch.js';
export { checkExporter, type CheckExporterOptions, fakeExportTicket } from './check-exporter.js';
export {
  fakeModel,
  fakeScorerContext,
  fakeRewindContext,
  randomMasks,
  seededRandom,
  type FakeModelOptions,
  type FakeScorerContext,
  type FakeScorerContextOptions,
  type FakeRewindContext,
  type FakeRewindContextOptions,
} from './fake-model.js';
