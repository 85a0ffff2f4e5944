#!/usr/bin/env node
// Global pruning at scale: core's pruneLowest (a linear-time selection of the threshold) on
// VGG-19-sized scores (16 layers, 25M weights), random and tie-heavy, against the full sort it
// replaced (the threshold as the count-th element of a sorted copy, everything else the same):
// seconds per call and whether the masks are identical.
//
//   node tools/bench/prune.mjs [--weights 25000000] [--fraction 0.2] [--json]
//
// Build first (npm install at the root builds every package).
import { benchArgs } from './args.mjs';

const { option, json, log } = benchArgs();
const { pruneLowest } = await import('@lth/core');
const totalWeights = Number(option('weights', '25000000'));
const fraction = Number(option('fraction', '0.2'));

/** Today's pruneLowest with the threshold found by sorting (the implementation before selection). */
function bySort(scores, masks, names, count) {
  const out = {};
  let total = 0;
  for (const name of names) {
    out[name] = { shape: [...masks[name].shape], data: masks[name].data.slice() };
    for (const m of masks[name].data) total += m;
  }
  const layer = new Uint16Array(total);
  const index = new Uint32Array(total);
  const value = new Float64Array(total);
  let n = 0;
  names.forEach((name, l) => {
    const m = masks[name].data;
    const s = scores[name].data;
    for (let i = 0; i < m.length; i++) if (m[i]) [layer[n], index[n], value[n++]] = [l, i, s[i]];
  });
  const threshold = value.slice().sort()[count - 1];
  let below = 0;
  for (let c = 0; c < n; c++) if (value[c] < threshold) below++;
  let ties = count - below;
  for (let c = 0; c < n; c++) if (value[c] < threshold || (value[c] === threshold && ties-- > 0)) out[names[layer[c]]].data[index[c]] = 0;
  return out;
}

// 16 layers with VGG-19's proportions of weights (conv 3×3 layers, then the classifier).
const shares = [1728, 36864, 73728, 147456, 294912, 589824, 589824, 589824, 1179648, 2359296, 2359296, 2359296, 2359296, 2359296, 2359296, 2359296];
const sum = shares.reduce((a, b) => a + b, 0);
const names = shares.map((_, i) => `layer${i}/kernel`);
let seed = 1;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const results = {};
for (const [kind, draw] of [['random', () => random()], ['tie-heavy', () => Math.floor(random() * 50) / 50]]) {
  const masks = {};
  const scores = {};
  let kept = 0;
  names.forEach((name, i) => {
    const size = Math.max(1, Math.round((shares[i] / sum) * totalWeights));
    masks[name] = { shape: [size], data: new Uint8Array(size).fill(1) };
    scores[name] = { shape: [size], data: Float32Array.from({ length: size }, draw) };
    kept += size;
  });
  const count = Math.floor(kept * fraction);
  const time = (f) => {
    const t = performance.now();
    const out = f();
    return [(performance.now() - t) / 1000, out];
  };
  const [selectSeconds, selected] = time(() => pruneLowest(scores, masks, names, count));
  const [sortSeconds, sorted] = time(() => bySort(scores, masks, names, count));
  const identical = names.every((n) => Buffer.from(selected[n].data).equals(Buffer.from(sorted[n].data)));
  results[kind] = { weights: kept, pruned: count, selectSeconds, sortSeconds, identical };
  log(`${kind}: ${kept.toLocaleString('en')} weights, prune ${count.toLocaleString('en')}: selection ${selectSeconds.toFixed(2)} s, sort ${sortSeconds.toFixed(2)} s, masks identical: ${identical}`);
}
if (json) console.log(JSON.stringify(results, null, 2));
