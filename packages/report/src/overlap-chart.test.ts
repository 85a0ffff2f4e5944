import { describe, expect, it } from 'vitest';
import { overlapChart } from './overlap-chart.js';
import { renderSvg } from './render.js';

const row = (b: string, level: number, layer: string, remaining: number, jaccard: number) => ({ a: 'seed-0', b, level, layer, remainingA: remaining, jaccard, randomJaccard: remaining / (2 - remaining) });

describe('mask overlap chart', () => {
  it('draws a panel per layer and a line per pair, leaving out the dense level', async () => {
    const rows = [0, 1, 2].flatMap((level) =>
      ['all', 'dense1/kernel'].flatMap((layer) => [row('seed-1', level, layer, 0.5 ** level, level ? 0.2 / level : 1), row('random', level, layer, 0.5 ** level, level ? 0.15 / level : 1)]),
    );
    const chart = overlapChart(rows);
    expect(chart.id).toBe('mask-overlap');
    const values = (chart.spec as unknown as { data: { values: { percentRemaining: number }[] } }).data.values;
    expect(values).toHaveLength(8);
    expect(values.every((v) => v.percentRemaining < 100)).toBe(true);
    const svg = await renderSvg(chart.spec);
    for (const text of ['dense1/kernel', 'seed-0 vs seed-1', 'seed-0 vs random', 'Jaccard index']) expect(svg).toContain(text);
  });
});
