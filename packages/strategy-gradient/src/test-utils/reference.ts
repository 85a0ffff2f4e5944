/**
 * Independent float64 references for the tests: the fake model (dense1 → relu → dense2, mean
 * softmax cross-entropy) and a one-layer linear-softmax model, written out with plain arrays.
 */
export type Mat = number[][];

export interface Net64 {
  w1: Mat; // [in][hidden]
  b1: number[];
  w2: Mat; // [hidden][classes]
  b2: number[];
}

const zeros = (r: number, c: number): Mat => Array.from({ length: r }, () => new Array(c).fill(0));

export function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** ∂(mean softmax cross-entropy)/∂(w1, b1, w2, b2) of the two-layer ReLU net, in float64. */
export function netGradients(net: Net64, x: Mat, y: Mat): Net64 {
  const n = x.length;
  const hidden = net.b1.length;
  const classes = net.b2.length;
  const g: Net64 = { w1: zeros(net.w1.length, hidden), b1: new Array(hidden).fill(0), w2: zeros(hidden, classes), b2: new Array(classes).fill(0) };
  for (let s = 0; s < n; s++) {
    const z1 = net.b1.map((b, j) => b + x[s].reduce((a, xi, i) => a + xi * net.w1[i][j], 0));
    const h = z1.map((v) => Math.max(0, v));
    const logits = net.b2.map((b, c) => b + h.reduce((a, hj, j) => a + hj * net.w2[j][c], 0));
    const p = softmax(logits);
    const dl = p.map((pc, c) => (pc - y[s][c]) / n);
    for (let j = 0; j < hidden; j++) for (let c = 0; c < classes; c++) g.w2[j][c] += h[j] * dl[c];
    for (let c = 0; c < classes; c++) g.b2[c] += dl[c];
    const dz1 = z1.map((z, j) => (z > 0 ? dl.reduce((a, d, c) => a + d * net.w2[j][c], 0) : 0));
    for (let i = 0; i < x[s].length; i++) for (let j = 0; j < hidden; j++) g.w1[i][j] += x[s][i] * dz1[j];
    for (let j = 0; j < hidden; j++) g.b1[j] += dz1[j];
  }
  return g;
}

const mapNet = (a: Net64, b: Net64, f: (x: number, y: number) => number): Net64 => ({
  w1: a.w1.map((r, i) => r.map((v, j) => f(v, b.w1[i][j]))),
  b1: a.b1.map((v, j) => f(v, b.b1[j])),
  w2: a.w2.map((r, i) => r.map((v, j) => f(v, b.w2[i][j]))),
  b2: a.b2.map((v, j) => f(v, b.b2[j])),
});
const flat = (a: Net64) => [...a.w1.flat(), ...a.b1, ...a.w2.flat(), ...a.b2];

/** H g of the two-layer net by a float64 central difference with a tiny step (1e-6 along g/‖g‖). */
export function netHessianGradient(net: Net64, x: Mat, y: Mat): { g: Net64; hg: Net64 } {
  const g = netGradients(net, x, y);
  const norm = Math.sqrt(flat(g).reduce((a, v) => a + v * v, 0));
  const eps = 1e-6;
  const plus = netGradients(mapNet(net, g, (w, d) => w + (eps * d) / norm), x, y);
  const minus = netGradients(mapNet(net, g, (w, d) => w - (eps * d) / norm), x, y);
  return { g, hg: mapNet(plus, minus, (p, m) => ((p - m) * norm) / (2 * eps)) };
}

/**
 * Exact H·V of the mean softmax cross-entropy of logits = x W (no bias), in float64:
 * ∇ = (1/N) Σ_n x_n (p_n − y_n)ᵀ, and its derivative along V is (1/N) Σ_n x_n dp_nᵀ with
 * dz_n = x_n V and dp_n = p_n ⊙ dz_n − p_n (p_n · dz_n) (the softmax Jacobian).
 */
export function linearGradient(w: Mat, x: Mat, y: Mat): Mat {
  const g = zeros(w.length, w[0].length);
  for (let s = 0; s < x.length; s++) {
    const p = softmax(w[0].map((_, c) => x[s].reduce((a, xi, i) => a + xi * w[i][c], 0)));
    for (let i = 0; i < w.length; i++) for (let c = 0; c < p.length; c++) g[i][c] += (x[s][i] * (p[c] - y[s][c])) / x.length;
  }
  return g;
}

export function linearHessianVector(w: Mat, x: Mat, v: Mat): Mat {
  const out = zeros(w.length, w[0].length);
  for (let s = 0; s < x.length; s++) {
    const p = softmax(w[0].map((_, c) => x[s].reduce((a, xi, i) => a + xi * w[i][c], 0)));
    const dz = w[0].map((_, c) => x[s].reduce((a, xi, i) => a + xi * v[i][c], 0));
    const pdz = p.reduce((a, pc, c) => a + pc * dz[c], 0);
    const dp = p.map((pc, c) => pc * dz[c] - pc * pdz);
    for (let i = 0; i < w.length; i++) for (let c = 0; c < p.length; c++) out[i][c] += (x[s][i] * dp[c]) / x.length;
  }
  return out;
}

/** Largest |a − b| over two equal-length arrays, and the largest |b|. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}
