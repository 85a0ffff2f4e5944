// Sparse kernels for pruned dense layers (y = x·W with W [K, N] mostly zero, at batch B).
//
// A pruned layer's products touch only W's surviving entries, so each kernel loops over them:
//   forward      yᵀ[j, :] = Σ_{k: W[k,j] kept} W[k,j] · xᵀ[k, :]      (columns of W, CSC)
//   input grad  dxᵀ[k, :] = Σ_{j: W[k,j] kept} W[k,j] · dyᵀ[j, :]     (rows of W, CSR)
//   weight grad  dW[k, j] = xᵀ[k, :] · dyᵀ[j, :] at kept (k, j) only  (a sampled dense-dense product)
// Activations are used transposed ([features, B], rows padded with zeros to a multiple of 8) so
// the inner loop over the batch is a contiguous, vectorised multiply-add; a scalar loop over the
// batch would gather and scatter one float at a time and lose to the dense GEMM even at 5 %.
// The fused optimizer updates then run over the kept entries only; their arithmetic is that of
// optimizers.cc term by term, so a sparse update equals the masked dense one bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common.h"

namespace lth {

namespace {

// transposePad(src [rows, cols], dst [cols, stride]): dst[c, r] = src[r, c], zero for r >= rows.
void TransposePad(const float* src, float* dst, int64_t rows, int64_t cols, int64_t stride) {
  constexpr int64_t kTile = 16;  // a 16x16 tile of both arrays stays in L1
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    const int64_t r1 = std::min(rows, r0 + kTile);
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t c1 = std::min(cols, c0 + kTile);
      for (int64_t r = r0; r < r1; r++)
        for (int64_t c = c0; c < c1; c++) dst[c * stride + r] = src[r * cols + c];
    }
  }
  if (stride > rows)
    for (int64_t c = 0; c < cols; c++) std::fill(dst + c * stride + rows, dst + (c + 1) * stride, 0.f);
}

napi_value Transpose(napi_env env, const Args& args) {
  size_t ls, ld;
  const float* src = args.f32(0, &ls);
  float* dst = args.f32(1, &ld);
  const int64_t rows = args.int64(2), cols = args.int64(3), stride = args.int64(4);
  check(rows >= 0 && cols >= 0 && stride >= rows, "transposePad: bad shape");
  check(ls >= size_t(rows * cols) && ld >= size_t(cols * stride), "transposePad: buffer too small");
  TransposePad(src, dst, rows, cols, stride);
  return Undefined(env);
}

// One block of W floats of the batch: for every output feature o,
// acc = Σ_p vals[p] · inT[idx[p], b0 : b0 + W], written to out[b, o] (out is [B, outRows]).
// W is a template constant so the accumulator lives in registers (W/8 AVX registers).
template <int W>
void GatherAxpyBlock(const int32_t* ptr, const int32_t* idx, const float* vals, const float* inT, int64_t stride,
                     int64_t b0, int64_t outRows, int64_t batch, float* out) {
  const int64_t valid = std::min<int64_t>(W, batch - b0);
  for (int64_t o = 0; o < outRows; o++) {
    float acc[W];
    for (int t = 0; t < W; t++) acc[t] = 0.f;
    for (int32_t p = ptr[o], e = ptr[o + 1]; p < e; p++) {
      const float a = vals[p];
      const float* __restrict x = inT + int64_t(idx[p]) * stride + b0;
      for (int t = 0; t < W; t++) acc[t] += a * x[t];
    }
    for (int64_t t = 0; t < valid; t++) out[(b0 + t) * outRows + o] = acc[t];
  }
}

// gatherAxpy(ptr [outRows+1], idx [nnz], vals [nnz], inT [inRows, stride], out [batch, outRows],
//            outRows, inRows, batch, stride): out = (Σ over the compressed rows)ᵀ, see the header.
napi_value GatherAxpy(napi_env env, const Args& args) {
  size_t lp, li, lv, lx, lo;
  const int32_t* ptr = args.i32(0, &lp);
  const int32_t* idx = args.i32(1, &li);
  const float* vals = args.f32(2, &lv);
  const float* inT = args.f32(3, &lx);
  float* out = args.f32(4, &lo);
  const int64_t outRows = args.int64(5), inRows = args.int64(6), batch = args.int64(7), stride = args.int64(8);
  check(stride % 8 == 0 && stride >= batch && batch >= 0, "gatherAxpy: stride must be a multiple of 8 >= batch");
  check(lp == size_t(outRows + 1), "gatherAxpy: ptr length");
  const int64_t nnz = ptr[outRows];
  check(ptr[0] == 0 && nnz >= 0 && li >= size_t(nnz) && lv >= size_t(nnz), "gatherAxpy: idx/vals length");
  check(lx >= size_t(inRows * stride) && lo >= size_t(batch * outRows), "gatherAxpy: buffer too small");
  for (int64_t p = 0; p < nnz; p++) check(idx[p] >= 0 && idx[p] < inRows, "gatherAxpy: index out of range");
  // 64 floats (8 AVX registers) per block: B = 60 is one block; larger batches take several.
  for (int64_t b0 = 0; b0 < batch; b0 += 64) {
    switch (std::min<int64_t>(64, stride - b0) / 8) {
      case 1: GatherAxpyBlock<8>(ptr, idx, vals, inT, stride, b0, outRows, batch, out); break;
      case 2: GatherAxpyBlock<16>(ptr, idx, vals, inT, stride, b0, outRows, batch, out); break;
      case 3: GatherAxpyBlock<24>(ptr, idx, vals, inT, stride, b0, outRows, batch, out); break;
      case 4: GatherAxpyBlock<32>(ptr, idx, vals, inT, stride, b0, outRows, batch, out); break;
      case 5: GatherAxpyBlock<40>(ptr, idx, vals, inT, stride, b0, outRows, batch, out); break;
      case 6: GatherAxpyBlock<48>(ptr, idx, vals, inT, stride, b0, outRows, batch, out); break;
      case 7: GatherAxpyBlock<56>(ptr, idx, vals, inT, stride, b0, outRows, batch, out); break;
      default: GatherAxpyBlock<64>(ptr, idx, vals, inT, stride, b0, outRows, batch, out); break;
    }
  }
  return Undefined(env);
}

// sampledProduct(rowPtr [K+1], colIdx [nnz], aT [K, stride], bT [N, stride], out [nnz], K, N, stride):
// out[p] = aT[k, :] · bT[colIdx[p], :] for each kept (k, colIdx[p]); the padding is zero.
napi_value SampledProduct(napi_env env, const Args& args) {
  size_t lp, li, la, lb, lo;
  const int32_t* rowPtr = args.i32(0, &lp);
  const int32_t* colIdx = args.i32(1, &li);
  const float* aT = args.f32(2, &la);
  const float* bT = args.f32(3, &lb);
  float* out = args.f32(4, &lo);
  const int64_t K = args.int64(5), N = args.int64(6), stride = args.int64(7);
  check(stride % 8 == 0 && lp == size_t(K + 1), "sampledProduct: bad shape");
  const int64_t nnz = rowPtr[K];
  check(rowPtr[0] == 0 && li >= size_t(nnz) && lo >= size_t(nnz), "sampledProduct: idx/out length");
  check(la >= size_t(K * stride) && lb >= size_t(N * stride), "sampledProduct: buffer too small");
  for (int64_t p = 0; p < nnz; p++) check(colIdx[p] >= 0 && colIdx[p] < N, "sampledProduct: index out of range");
  for (int64_t k = 0; k < K; k++) {
    const float* __restrict a = aT + k * stride;
    for (int32_t p = rowPtr[k], e = rowPtr[k + 1]; p < e; p++) {
      const float* __restrict b = bT + int64_t(colIdx[p]) * stride;
      float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // 8 partial sums: one AVX register, no serial chain
      for (int64_t t = 0; t < stride; t += 8)
        for (int l = 0; l < 8; l++) s[l] += a[t + l] * b[t + l];
      out[p] = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    }
  }
  return Undefined(env);
}

// Reads the common arguments of the sparse updates: kept flat indices, whether the gradient is
// compact (one value per kept entry) or dense, and the compact weight outputs in both orders.
struct SparseUpdateArgs {
  const int32_t* flat;
  const int32_t* cscOf;
  int64_t nnz;
  size_t n;
  bool compact;
  float* valsCsr;
  float* valsCsc;
};

// adamSparse(flat, cscOf, w, g, gCompact, m, v, outW, outM, outV, valsCsr, valsCsc,
//            lr, beta1, beta2, eps, step, weightDecay)
// Writes zeros at the pruned positions of outW/outM/outV, and at each kept index i = flat[p]
// exactly what optimizers.cc's masked loop writes there (mask 1), plus the new weight into
// valsCsr[p] and valsCsc[cscOf[p]] for the next step's sparse products.
napi_value AdamSparse(napi_env env, const Args& args) {
  size_t nnz, l, n, lg;
  const int32_t* flat = args.i32(0, &nnz);
  const int32_t* cscOf = args.i32(1, &l); check(l == nnz, "adamSparse: cscOf length");
  const float* w = args.f32(2, &n);
  const float* g = args.f32(3, &lg);
  const bool compact = args.flag(4);
  check(lg == (compact ? nnz : n), "adamSparse: grad size");
  const float* m = args.f32(5, &l); check(l == n, "adamSparse: m size");
  const float* v = args.f32(6, &l); check(l == n, "adamSparse: v size");
  float* ow = args.f32(7, &l); check(l >= n, "adamSparse: out size");
  float* om = args.f32(8, &l); check(l >= n, "adamSparse: out size");
  float* ov = args.f32(9, &l); check(l >= n, "adamSparse: out size");
  float* valsCsr = args.f32(10, &l); check(l >= nnz, "adamSparse: vals size");
  float* valsCsc = args.f32(11, &l); check(l >= nnz, "adamSparse: vals size");
  const double lr = args.num(12), b1 = args.num(13), b2 = args.num(14), eps = args.num(15);
  const double step = args.num(16), wd = args.num(17);
  for (size_t p = 0; p < nnz; p++)
    check(flat[p] >= 0 && size_t(flat[p]) < n && cscOf[p] >= 0 && size_t(cscOf[p]) < nnz, "adamSparse: index out of range");
  // The same float constants as optimizers.cc's Adam, so each kept weight gets the same bits.
  const float fb1 = float(b1), fb2 = float(b2), c1 = float(1 - b1), c2 = float(1 - b2);
  const float bc1 = float(1.0 / (1.0 - std::pow(b1, step)));
  const float bc2 = float(1.0 / (1.0 - std::pow(b2, step)));
  const float flr = float(lr), feps = float(eps), fwd = float(wd);
  std::memset(ow, 0, n * sizeof(float));
  std::memset(om, 0, n * sizeof(float));
  std::memset(ov, 0, n * sizeof(float));
  for (size_t p = 0; p < nnz; p++) {
    const size_t i = size_t(flat[p]);
    const float k = 1.f;
    const float gi = ((compact ? g[p] : g[i]) + fwd * w[i]) * k;
    const float mi = (fb1 * m[i] + c1 * gi) * k;
    const float vi = (fb2 * v[i] + c2 * gi * gi) * k;
    const float upd = flr * (mi * bc1) / (std::sqrt(vi * bc2) + feps);
    const float wi = (w[i] - upd) * k + 0.f;
    ow[i] = wi;
    om[i] = mi + 0.f;
    ov[i] = vi;
    valsCsr[p] = wi;
    valsCsc[cscOf[p]] = wi;
  }
  return Undefined(env);
}

// sgdSparse(flat, cscOf, w, g, gCompact, vel, outW, outVel, valsCsr, valsCsc, lr, momentum, weightDecay):
// optimizers.cc's masked SGD at the kept entries, zeros elsewhere (see adamSparse).
napi_value SgdSparse(napi_env env, const Args& args) {
  size_t nnz, l, n, lg;
  const int32_t* flat = args.i32(0, &nnz);
  const int32_t* cscOf = args.i32(1, &l); check(l == nnz, "sgdSparse: cscOf length");
  const float* w = args.f32(2, &n);
  const float* g = args.f32(3, &lg);
  const bool compact = args.flag(4);
  check(lg == (compact ? nnz : n), "sgdSparse: grad size");
  const float* vel = args.f32(5, &l); check(l == n, "sgdSparse: velocity size");
  float* ow = args.f32(6, &l); check(l >= n, "sgdSparse: out size");
  float* ovel = args.f32(7, &l); check(l >= n, "sgdSparse: out size");
  float* valsCsr = args.f32(8, &l); check(l >= nnz, "sgdSparse: vals size");
  float* valsCsc = args.f32(9, &l); check(l >= nnz, "sgdSparse: vals size");
  const float lr = float(args.num(10)), mom = float(args.num(11)), wd = float(args.num(12));
  for (size_t p = 0; p < nnz; p++)
    check(flat[p] >= 0 && size_t(flat[p]) < n && cscOf[p] >= 0 && size_t(cscOf[p]) < nnz, "sgdSparse: index out of range");
  std::memset(ow, 0, n * sizeof(float));
  std::memset(ovel, 0, n * sizeof(float));
  for (size_t p = 0; p < nnz; p++) {
    const size_t i = size_t(flat[p]);
    const float k = 1.f;
    const float gi = ((compact ? g[p] : g[i]) + wd * w[i]) * k;
    const float vi = (mom * vel[i] + gi) * k;
    const float wi = (w[i] - lr * vi) * k + 0.f;
    ow[i] = wi;
    ovel[i] = vi + 0.f;
    valsCsr[p] = wi;
    valsCsc[cscOf[p]] = wi;
  }
  return Undefined(env);
}

}  // namespace

void InitSparse(napi_env env, napi_value exports) {
  Export(env, exports, "transposePad", Wrap<Transpose>);
  Export(env, exports, "gatherAxpy", Wrap<GatherAxpy>);
  Export(env, exports, "sampledProduct", Wrap<SampledProduct>);
  Export(env, exports, "adamSparse", Wrap<AdamSparse>);
  Export(env, exports, "sgdSparse", Wrap<SgdSparse>);
}

}  // namespace lth
