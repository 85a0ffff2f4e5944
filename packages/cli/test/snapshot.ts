import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every file under `root` by relative path, with what must match: bytes, or JSON without timings. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (!/report\.html|\.png$|provenance\.json$/.test(name)) {
        const text = readFileSync(full);
        // Timings ("seconds") differ between any two runs; everything else must not.
        out[relative(root, full)] = name.endsWith('.json') || name.endsWith('.csv') ? text.toString('utf8').replace(/"seconds": [0-9.e-]+/g, '').replace(/,[0-9.e-]+,(cpu)/g, ',,$1') : text.toString('base64');
      }
    }
  };
  walk(root);
  return out;
}

