import { describe, expect, it } from 'vitest';
import { workerExecArgv } from './workers.js';

describe('workerExecArgv', () => {
  it('drops export conditions in every spelling and keeps the other Node options', () => {
    expect(workerExecArgv(['--require', 'x.cjs', '--conditions', '@lth/source', '--max-old-space-size=4096', '-C', 'dev', '--conditions=a', '-C=b', '--inspect'])).toEqual([
      '--require',
      'x.cjs',
      '--max-old-space-size=4096',
      '--inspect',
    ]);
    expect(workerExecArgv([])).toEqual([]);
  });
});
