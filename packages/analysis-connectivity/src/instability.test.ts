import { type BranchContext, type BranchFiles, type BranchResult, type BranchTrainRequest, deriveSeed, displace, type Masks, randomPruneMasks, type TensorMap, tf } from '@lth/core';
import { checkBranch } from '@lth/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Curve, checkInstability, instability, type InstabilityOptions } from './instability.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const options = (o: Partial<InstabilityOptions> = {}): InstabilityOptions => ({ ...(instability.defaults as InstabilityOptions), ...o });

/** Branch files held in memory (tensors as host arrays). */
function memoryFiles(): BranchFiles & { json: Map<string, unknown> } {
  const json = new Map<string, unknown>();
  const tensors = new Map<string, Record<string, { shape: number[]; data: Float32Array }>>();
  return {
    dir: '(memory)',
    json,
    has: (name) => json.has(name) || tensors.has(name),
    writeJson: (name, value) => void json.set(name, JSON.parse(JSON.stringify(value))),
    readJson: <T>(name: string) => JSON.parse(JSON.stringify(json.get(name))) as T,
    writeTensors: (name, map) => void tensors.set(name, Object.fromEntries(Object.entries(map).map(([n, t]) => [n, { shape: t.shape, data: t.dataSync() as Float32Array }]))),
    readTensors: (name) => Object.fromEntries(Object.entries(tensors.get(name)!).map(([n, t]) => [n, tf.tensor(t.data, t.shape)])),
  };
}

/**
 * A two-unit ReLU network on one example (x = 1, target 1): out = Σ v_i relu(u_i). Copy 1 uses
 * unit 0, copy 2 is the same function through unit 1 (a permuted copy), so both ends have loss 0,
 * and along the path u = v = (1 − α, α): out = (1 − α)² + α², loss = (2α(1 − α))², 1/4 at α = ½.
 * A pruned weight `p` (entry 1) is carried along to check that it stays 0.
 */
const theta1 = { u: [1, 0], v: [1, 0], p: [0.3, 0] };
const theta2 = { u: [0, 1], v: [0, 1], p: [-0.6, 0] };
const masks: Masks = { u: { shape: [2], data: Uint8Array.from([1, 1]) }, p: { shape: [2], data: Uint8Array.from([1, 0]) } };
const toTensors = (w: Record<string, number[]>): TensorMap => Object.fromEntries(Object.entries(w).map(([n, a]) => [n, tf.tensor(a)]));
const pathLoss = (alpha: number) => (2 * alpha * (1 - alpha)) ** 2;

interface FakeCall {
  evaluations: number;
  trains: BranchTrainRequest[];
  prunedSeen: number[];
}

function fakeContext(opts: { files?: ReturnType<typeof memoryFiles>; snapshots?: number[]; failAfter?: number } = {}): { ctx: BranchContext; calls: FakeCall } {
  const calls: FakeCall = { evaluations: 0, trains: [], prunedSeen: [] };
  const seed = 7;
  const ctx = {
    level: 1,
    replicate: 0,
    seed,
    masks,
    summary: { fractionRemaining: 0.75 },
    init: toTensors(theta1),
    totalIterations: 100,
    deriveSeed: (...labels: (string | number)[]) => deriveSeed(seed, ...labels),
    snapshot: (k: number) => ((opts.snapshots ?? [0]).includes(k) ? toTensors(theta1) : undefined),
    async train(request: BranchTrainRequest) {
      calls.trains.push({ ...request, weights: {} });
      const second = request.dataSeed === deriveSeed(seed, 'instability', request.startIteration ?? 0, 1);
      return { final: toTensors(second ? theta2 : theta1), records: [] };
    },
    trainAll(requests: BranchTrainRequest[]) {
      return Promise.all(requests.map((r) => ctx.train(r)));
    },
    evaluate(w: TensorMap) {
      if (opts.failAfter !== undefined && calls.evaluations >= opts.failAfter) throw new Error('killed');
      calls.evaluations++;
      calls.prunedSeen.push(w.p.dataSync()[1]);
      const out = tf.tidy(() => tf.sum(tf.mul(w.v, tf.relu(w.u))).dataSync()[0]);
      const loss = (out - 1) ** 2;
      return { loss, accuracy: loss < 0.1 ? 1 : 0 };
    },
    // What core's PlaneEvaluator computes, one point at a time through the fake evaluate.
    plane: (center: TensorMap, directions: TensorMap[]) => ({
      at(c: number[]) {
        const w = displace(center, directions, c);
        try {
          return ctx.evaluate(w, 'test');
        } finally {
          tf.dispose(Object.values(w));
        }
      },
      dispose() {},
    }),
    files: opts.files ?? memoryFiles(),
    report: () => {},
  } as unknown as BranchContext;
  return { ctx, calls };
}

describe('instability on a permuted pair of two-unit networks (known path)', () => {
  it('measures the analytic loss along the path, its barrier 1/4, and calls the pair unstable', async () => {
    const files = memoryFiles();
    const { ctx, calls } = fakeContext({ files });
    const before = tf.memory().numTensors;
    const row = await instability.run(ctx, options());
    tf.dispose([...Object.values(ctx.init)]);
    expect(tf.memory().numTensors).toBe(before - 3);
    expect(row.lossBarrier_k0).toBe(0.25);
    expect(row.trainLossBarrier_k0).toBe(0.25);
    expect(row.errorBarrier_k0).toBe(1);
    expect(row.stable_k0).toBe(false);
    expect(row.testError_k0).toBe(0);
    expect(row.fractionRemaining).toBe(0.75);
    const curve = files.json.get('curve-k0.json') as Curve;
    expect(curve.points).toHaveLength(31);
    for (const p of curve.points) expect(p.testLoss).toBeCloseTo(pathLoss(p.alpha), 6);
    // Pruned entry p[1] was exactly 0 at every evaluated point; both copies trained from θ0 ⊙ m.
    expect(calls.prunedSeen.every((x) => x === 0)).toBe(true);
    expect(calls.trains.map((t) => [t.key, t.startIteration, t.masks])).toEqual([
      ['copy-k0-0-s0', 0, masks],
      ['copy-k0-1-s1', 0, masks],
    ]);
  });

  it('with random: also the paths of random pruning at the level\'s per-layer counts, with the random-prune control\'s masks', async () => {
    const files = memoryFiles();
    const { ctx, calls } = fakeContext({ files });
    const row = await instability.run(ctx, options({ random: true, points: 5 }));
    const random = randomPruneMasks(masks, (name) => deriveSeed(deriveSeed(7, 'control', 1), 'random-prune', name));
    expect(calls.trains.map((t) => [t.key, t.masks])).toEqual([
      ['copy-k0-0-s0', masks],
      ['copy-k0-1-s1', masks],
      ['random-copy-k0-0-s0', random],
      ['random-copy-k0-1-s1', random],
    ]);
    expect((files.json.get('random-curve-k0.json') as Curve).points).toHaveLength(5);
    // u and v are kept by both masks (2 of 2), so the random path is the same known one.
    expect(row).toMatchObject({ lossBarrier_k0: 0.25, randomLossBarrier_k0: 0.25, randomErrorBarrier_k0: 1, randomStable_k0: false, randomTestError_k0: 0 });
  });

  it('gives a barrier of exactly 0 between identical copies, and calls them stable', async () => {
    const { ctx } = fakeContext();
    const row = await instability.run(ctx, options({ copies: [1, 1], points: 11 }));
    expect(row).toMatchObject({ errorBarrier_k0: 0, lossBarrier_k0: 0, trainErrorBarrier_k0: 0, trainLossBarrier_k0: 0, stable_k0: true });
  });

  it('replays θk from θ0 with dense masks where the run saved no snapshot', async () => {
    const { ctx, calls } = fakeContext({ snapshots: [0] });
    const row = await instability.run(ctx, options({ rewindAt: [40, 0], points: 3 }));
    expect(Object.keys(row)).toEqual(expect.arrayContaining(['errorBarrier_k0', 'errorBarrier_k40', 'stable_k40']));
    const replay = calls.trains.find((t) => t.key === 'replay-40')!;
    expect(replay.endIteration).toBe(40);
    expect(replay.evaluate).toBe(false);
    expect(Object.values(replay.masks).every((m) => m.data.every((b) => b === 1))).toBe(true);
    expect(calls.trains.filter((t) => t.key.startsWith('copy-k40')).map((t) => t.startIteration)).toEqual([40, 40]);
  });

  it('resumes a killed branch at the next α and ends with the uninterrupted result', async () => {
    const files = memoryFiles();
    await expect(instability.run(fakeContext({ files, failAfter: 2 * 12 + 1 }).ctx, options())).rejects.toThrow(/killed/);
    expect((files.json.get('curve-k0.json') as Curve).points).toHaveLength(12);
    const { ctx, calls } = fakeContext({ files });
    const resumed = await instability.run(ctx, options());
    expect(calls.evaluations).toBe(2 * (31 - 12));
    expect(resumed).toEqual(await instability.run(fakeContext().ctx, options()));
    // Complete: a third call evaluates and trains nothing.
    const again = fakeContext({ files });
    await instability.run(again.ctx, options());
    expect([again.calls.evaluations, again.calls.trains.length]).toEqual([0, 0]);
  });
});

describe('check', () => {
  const run = { levels: 2, replicates: 1, totalIterations: 100, iterationsPerEpoch: 10, snapshots: [0] };
  it('rejects rewind points at or beyond the end of training, naming them', () => {
    expect(checkInstability(run, options({ rewindAt: [0, 99] }))).toEqual([]);
    const problems = checkInstability(run, options({ rewindAt: [0, 100, 250] }));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/rewindAt 100 is not before the end of training \(iteration 100\)/);
  });
});

describe('conformance (through core, on a tiny run)', () => {
  /** The branch with its results captured, and the copies' weights checked, as core runs it. */
  function observed(rows: BranchResult[], copies: Record<string, number[]>[][]) {
    return {
      ...instability,
      async run(ctx: BranchContext, o: InstabilityOptions) {
        const row = await instability.run(ctx, o);
        rows.push(row);
        const names = Object.keys(ctx.masks);
        const pair = [0, 1].map((i) => ctx.files.readTensors(`copy-k0-${i}-s${o.copies[i]}.safetensors`, names));
        // Pruned entries are zero (−0 counts: a masked negative weight).
        const revived = pair.flatMap((w) => names.flatMap((n) => Array.from(w[n].dataSync()).filter((x, j) => ctx.masks[n].data[j] === 0 && x !== 0)));
        expect(revived).toEqual([]);
        copies.push(pair.map((w) => Object.fromEntries(Object.entries(w).map(([n, t]) => [n, Array.from(t.dataSync())]))));
        tf.dispose(pair.flatMap((w) => Object.values(w)));
        return row;
      },
    };
  }

  it('passes checkBranch, replaying a rewind point the run did not save', async () => {
    const rows: BranchResult[] = [];
    const copies: Record<string, number[]>[][] = [];
    await checkBranch(observed(rows, copies), { options: { rewindAt: [0, 7], points: 3 }, iterations: 20 });
    expect(rows).toHaveLength(2);
    for (const row of rows) for (const k of [0, 7]) expect(row[`errorBarrier_k${k}`]).toBeGreaterThanOrEqual(0);
    // Different data orders, different copies.
    const [a, b] = copies[0];
    expect(a['dense1/kernel']).not.toEqual(b['dense1/kernel']);
  }, 60_000);

  it('two copies with the same data seed train to identical weights, barrier exactly 0', async () => {
    const rows: BranchResult[] = [];
    const copies: Record<string, number[]>[][] = [];
    await checkBranch(observed(rows, copies), { options: { copies: [3, 3], points: 5 }, iterations: 20 });
    for (const [a, b] of copies) expect(a).toEqual(b);
    for (const row of rows) expect(row).toMatchObject({ errorBarrier_k0: 0, lossBarrier_k0: 0, stable_k0: true });
  }, 60_000);
});
