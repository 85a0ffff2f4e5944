import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lth } from './test-utils/in-process.js';

describe('lth init', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lth-init-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the folders a path names (with the schema beside the config)', async () => {
    const file = join(dir, 'experiments', 'mnist', 'lenet.json');
    const r = await lth('init', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(readFileSync(file, 'utf8')).$schema).toBe('./lth.schema.json');
    expect(existsSync(join(dir, 'experiments', 'mnist', 'lth.schema.json'))).toBe(true);
    expect(r.stdout).toContain(`wrote ${file}`);
  });

  it('says what to do when the path is a folder, or a folder cannot be made (exit 2, no stack trace)', async () => {
    const folder = await lth('init', dir);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toBe(`lth: ${dir} is a directory; name the config file to write, e.g. lth init ${join(dir, 'lth.json')}\n`);

    writeFileSync(join(dir, 'a-file'), '');
    const under = await lth('init', join(dir, 'a-file', 'lth.json'));
    expect(under.code).toBe(2);
    expect(under.stderr).toMatch(new RegExp(`^lth: cannot create the folder ${join(dir, 'a-file')} for .*lth\\.json: .*; choose another path\\n$`));
  });
});
