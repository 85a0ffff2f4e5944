import { RunStore } from '@lth/core';

/**
 * A `landscape` branch's files at one level, as @lth/analysis-landscape writes them: a bowl
 * `0.05 + scale·(α² + β²)` (tilted by `tilt·α`, so no view of it is symmetric) on `points` ×
 * `points` over [-1, 1]; with `complete` false only the first two rows of the 2D grid are done.
 */
export function writeLandscapeFixture(runDir: string, level: number, scale: number, options: { complete?: boolean; points?: number; tilt?: number } = {}): void {
  const { complete = true, points = 5, tilt = 0 } = options;
  const store = new RunStore(runDir).replicate(0).level(level).branch('landscape', '0123456789ab');
  const axis = Array.from({ length: points }, (_, i) => -1 + (2 * i) / (points - 1));
  const curve = (b: number) => axis.map((a) => 0.05 + scale * (a * a + b * b) + tilt * (a + 1));
  const curves = (b: number) => ({ trainLoss: curve(b), trainAccuracy: curve(b).map(() => 0.9), testLoss: curve(b).map((v) => v + 0.05), testAccuracy: curve(b).map(() => 0.88) });
  store.writeJson('line.json', { alphas: axis, ...curves(0) });
  store.writeJson('surface.json', { axis, rows: axis.map((b, i) => (complete || i < 2 ? curves(b) : null)) });
  store.writeResult({ trainLoss: 0.05 });
}
