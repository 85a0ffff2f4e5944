// `lth models`: every model factory's canonical names with parameter counts from their shapes.
import { describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

describe('lth models', () => {
  it('--json lists the canonical names with total and prunable parameter counts', async () => {
    const { code, stdout } = await lth('models', '--json');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as { name: string; parameters: number; prunable: number; package: string }[];
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName['lenet-300-100']).toMatchObject({ prunable: 266_200, parameters: 266_610, package: '@lth/models' });
    expect(byName['conv-2']).toMatchObject({ prunable: 4_300_992 });
    expect(byName['conv-4']).toMatchObject({ prunable: 2_425_024 });
    expect(byName['conv-6']).toMatchObject({ prunable: 2_261_184 });
    expect(byName['resnet-20']).toMatchObject({ parameters: 272_474, prunable: 270_896 });
    expect(byName['vgg-16']).toMatchObject({ prunable: 14_715_584 });
    expect(byName['vgg-19']).toMatchObject({ parameters: 20_040_522, prunable: 20_024_000 });
  }, 60_000);

  it('prints a table', async () => {
    const { code, stdout } = await lth('models');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^model\s+input\s+parameters\s+prunable/);
    expect(stdout).toMatch(/vgg-19\s+32x32x3, 10 classes\s+20,040,522\s+20,024,000\s+17\s+vgg \(@lth\/models\)/);
  }, 60_000);
});
