// Sparse kernels for pruned dense layers (y = x·W with W [K, N] mostly zero, at batch B).
//
// A pruned layer's products touch only W's surviving entries, so each kernel loops over them:
//   forward      yᵀ[j, :] = Σ_{k: W[k,j] kept} W[k,j] · xᵀ[k, :]      (columns of W, CSC)
//   input grad  dxᵀ[k, :] = Σ_{j: W[k,j] kept} W[k,j] · dyᵀ[j, :]     (rows of W, CSR)
//   weight grad  dW[k, j] = xᵀ[k, :] · dyᵀ[j, :] at kept (k, j) only  (a sampled dense-dense product)
// Activations are used transposed ([features, B], rows padded with zeros to a multiple of 8) so
// the inner loop over the batch is a contiguous, vectorised multiply-add; a scalar loop over the
// batch would gather and scatter one float at a time and lose to the dense GEMM even at 5 %.
// The fused optimizer updates then run over compact arrays of the kept entries; their arithmetic
// is that of optimizers.cc term by term, so a sparse update equals the masked dense one bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common.h"

#ifdef __FMA__
#include <immintrin.h>
#endif

namespace lth {

namespace {

// GCC/Clang vector extensions: 8 floats, one AVX register (two SSE ones without AVX). Loads and
// stores go through memcpy, which compiles to unaligned vector moves.
typedef float v8 __attribute__((vector_size(32)));
inline v8 Load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
// acc + a·x, fused where the CPU has FMA. Only the products use it: their summation order
// differs from the GEMM's anyway, while the optimizer updates must match optimizers.cc's
// unfused arithmetic bit for bit (the addon is built with -ffp-contract=off for that).
inline v8 MulAdd(v8 acc, v8 a, v8 x) {
#ifdef __FMA__
  return _mm256_fmadd_ps(a, x, acc);
#else
  return acc + a * x;
#endif
}
inline float Sum8(v8 v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

#ifdef __AVX__
// dst[c, 0:8] = src[0:8, c] for c < dstRows <= 8 (an 8x8 block; rows past `rows` read as zero).
inline void Transpose8x8(const float* src, int64_t srcStride, int64_t rows, float* dst, int64_t dstStride,
                         int64_t dstRows = 8) {
  __m256 r[8];
  for (int i = 0; i < 8; i++) r[i] = i < rows ? _mm256_loadu_ps(src + i * srcStride) : _mm256_setzero_ps();
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 c[8] = {_mm256_permute2f128_ps(s0, s4, 0x20), _mm256_permute2f128_ps(s1, s5, 0x20),
                       _mm256_permute2f128_ps(s2, s6, 0x20), _mm256_permute2f128_ps(s3, s7, 0x20),
                       _mm256_permute2f128_ps(s0, s4, 0x31), _mm256_permute2f128_ps(s1, s5, 0x31),
                       _mm256_permute2f128_ps(s2, s6, 0x31), _mm256_permute2f128_ps(s3, s7, 0x31)};
  for (int i = 0; i < 8; i++)
    if (i < dstRows) _mm256_storeu_ps(dst + i * dstStride, c[i]);
}
#endif

// transposePad(src [rows, cols], dst [cols, stride]): dst[c, r] = src[r, c], zero for r >= rows.
// Every step transposes each sparse layer's input and output gradient, so this runs in 8x8
// register blocks (a scalar loop cost as much as the sparse products at 3.6 % kept).
void TransposePad(const float* src, float* dst, int64_t rows, int64_t cols, int64_t stride) {
  int64_t c0 = 0;
#ifdef __AVX__
  if (stride % 8 == 0) {
    for (; c0 + 8 <= cols; c0 += 8)
      for (int64_t r0 = 0; r0 < stride; r0 += 8)
        Transpose8x8(src + r0 * cols + c0, cols, std::max<int64_t>(0, std::min<int64_t>(8, rows - r0)), dst + c0 * stride + r0,
                     stride);
  }
#endif
  for (int64_t c = c0; c < cols; c++) {
    for (int64_t r = 0; r < rows; r++) dst[c * stride + r] = src[r * cols + c];
    std::fill(dst + c * stride + rows, dst + (c + 1) * stride, 0.f);
  }
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

// Up to 8 vector registers named one by one: with an array of vectors indexed in a loop GCC
// keeps the array in memory and stores every register after each entry (about 4x slower).
#define LTH_FOR_LANES(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

// One block of 8*NV floats of the batch: for every output feature o,
// acc = Σ_p vals[p] · inT[idx[p], b0 : b0 + 8*NV], written to out[b, o] (out is [B, outRows]).
template <int NV>
void GatherAxpyBlock(const int32_t* ptr, const int32_t* idx, const float* vals, const float* inT, int64_t stride,
                     int64_t b0, int64_t outRows, int64_t batch, float* out, int64_t o0, int64_t o1) {
  const int64_t valid = std::min<int64_t>(8 * NV, batch - b0);
  alignas(32) float tile[8 * 64];
  for (int64_t o = o0; o < o1; o++) {
#define LTH_DECL(t) v8 acc##t = v8{};
    LTH_FOR_LANES(LTH_DECL)
#undef LTH_DECL
    for (int32_t p = ptr[o], e = ptr[o + 1]; p < e; p++) {
      // The rows are scattered over inT (L2-sized): fetch the one 8 entries ahead, every line.
      if (p + 8 < e) {
        const float* next = inT + int64_t(idx[p + 8]) * stride + b0;
        for (int t = 0; t < NV; t += 2) __builtin_prefetch(next + 8 * t);
      }
      const v8 a = v8{} + vals[p];
      const float* x = inT + int64_t(idx[p]) * stride + b0;
#define LTH_STEP(t) if constexpr (NV > t) acc##t = MulAdd(acc##t, a, Load8(x + 8 * t));
      LTH_FOR_LANES(LTH_STEP)
#undef LTH_STEP
    }
    // Eight outputs' sums are collected in `tile` and written to out's rows 8 floats at a time
    // (one float per batch row, strided by outRows, cost as much as the products at 3.6 %).
    float* lanes = tile + (o % 8) * 64;
#define LTH_STORE(t) if constexpr (NV > t) std::memcpy(lanes + 8 * t, &acc##t, sizeof(v8));
    LTH_FOR_LANES(LTH_STORE)
#undef LTH_STORE
    if (o % 8 == 7 || o == o1 - 1) {
      const int64_t o0 = o - o % 8, n = o - o0 + 1;
#ifdef __AVX__
      if (n == 8) {
        for (int64_t t = 0; t < valid; t += 8)
          Transpose8x8(tile + t, 64, 8, out + (b0 + t) * outRows + o0, outRows, std::min<int64_t>(8, valid - t));
        continue;
      }
#endif
      for (int64_t j = 0; j < n; j++)
        for (int64_t t = 0; t < valid; t++) out[(b0 + t) * outRows + o0 + j] = tile[j * 64 + t];
    }
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
  // Outputs in groups of 8 (one register transpose each) split over threads when the work is
  // large: a kept entry costs about 4 GEMM multiply-adds (memory-bound), so the GEMMs' thread
  // policy applies to 4x the entries' multiply-adds (Conv-2's 16384x256 layer; never LeNet's).
  const int threads = ThreadsFor(4.0 * double(nnz) * double(stride));
  const int64_t groups = (outRows + 7) / 8;
  auto run = [&](int64_t g0, int64_t g1) {
    const int64_t o0 = g0 * 8, o1 = std::min(outRows, g1 * 8);
    // 64 floats (8 AVX registers) per block: B = 60 is one block; larger batches take several.
    for (int64_t b0 = 0; b0 < batch; b0 += 64) {
      switch (std::min<int64_t>(64, stride - b0) / 8) {
        case 1: GatherAxpyBlock<1>(ptr, idx, vals, inT, stride, b0, outRows, batch, out, o0, o1); break;
        case 2: GatherAxpyBlock<2>(ptr, idx, vals, inT, stride, b0, outRows, batch, out, o0, o1); break;
        case 3: GatherAxpyBlock<3>(ptr, idx, vals, inT, stride, b0, outRows, batch, out, o0, o1); break;
        case 4: GatherAxpyBlock<4>(ptr, idx, vals, inT, stride, b0, outRows, batch, out, o0, o1); break;
        case 5: GatherAxpyBlock<5>(ptr, idx, vals, inT, stride, b0, outRows, batch, out, o0, o1); break;
        case 6: GatherAxpyBlock<6>(ptr, idx, vals, inT, stride, b0, outRows, batch, out, o0, o1); break;
        case 7: GatherAxpyBlock<7>(ptr, idx, vals, inT, stride, b0, outRows, batch, out, o0, o1); break;
        default: GatherAxpyBlock<8>(ptr, idx, vals, inT, stride, b0, outRows, batch, out, o0, o1); break;
      }
    }
  };
  if (threads <= 1 || groups < 2) {
    run(0, groups);
  } else {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; t++) run(groups * t / threads, groups * (t + 1) / threads);
  }
  return Undefined(env);
}

// One block of 8*NV floats of the batch: out[p] += aT[k, b0:] · bT[colIdx[p], b0:] for every
// kept (k, colIdx[p]); row k of aT stays in registers while its kept columns stream past.
template <int NV>
void SampledBlock(const int32_t* rowPtr, const int32_t* colIdx, const float* aT, const float* bT, float* out,
                  int64_t stride, int64_t b0, int64_t k0, int64_t k1) {
  for (int64_t k = k0; k < k1; k++) {
    if (rowPtr[k] == rowPtr[k + 1]) continue;
    const float* ak = aT + k * stride + b0;
#define LTH_DECL(t) const v8 a##t = NV > t ? Load8(ak + 8 * t) : v8{};
    LTH_FOR_LANES(LTH_DECL)
#undef LTH_DECL
    for (int32_t p = rowPtr[k], e = rowPtr[k + 1]; p < e; p++) {
      if (p + 8 < e) {
        const float* next = bT + int64_t(colIdx[p + 8]) * stride + b0;
        for (int t = 0; t < NV; t += 2) __builtin_prefetch(next + 8 * t);
      }
      const float* b = bT + int64_t(colIdx[p]) * stride + b0;
      // Two partial sums (even and odd registers) halve the dependency chain.
      v8 s0 = a0 * Load8(b), s1 = v8{};
#define LTH_STEP(t) \
  if constexpr (NV > t && t > 0) { \
    if constexpr (t % 2) s1 = MulAdd(s1, a##t, Load8(b + 8 * t)); \
    else s0 = MulAdd(s0, a##t, Load8(b + 8 * t)); \
  }
      LTH_FOR_LANES(LTH_STEP)
#undef LTH_STEP
      out[p] += Sum8(s0 + s1);
    }
  }
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
  // Rows split over threads as in gatherAxpy; each thread writes its rows' entries only.
  const int threads = ThreadsFor(4.0 * double(nnz) * double(stride));
  auto run = [&](int64_t k0, int64_t k1) {
    std::fill(out + rowPtr[k0], out + rowPtr[k1], 0.f);
    for (int64_t b0 = 0; b0 < stride; b0 += 64) {
      switch (std::min<int64_t>(64, stride - b0) / 8) {
        case 1: SampledBlock<1>(rowPtr, colIdx, aT, bT, out, stride, b0, k0, k1); break;
        case 2: SampledBlock<2>(rowPtr, colIdx, aT, bT, out, stride, b0, k0, k1); break;
        case 3: SampledBlock<3>(rowPtr, colIdx, aT, bT, out, stride, b0, k0, k1); break;
        case 4: SampledBlock<4>(rowPtr, colIdx, aT, bT, out, stride, b0, k0, k1); break;
        case 5: SampledBlock<5>(rowPtr, colIdx, aT, bT, out, stride, b0, k0, k1); break;
        case 6: SampledBlock<6>(rowPtr, colIdx, aT, bT, out, stride, b0, k0, k1); break;
        case 7: SampledBlock<7>(rowPtr, colIdx, aT, bT, out, stride, b0, k0, k1); break;
        default: SampledBlock<8>(rowPtr, colIdx, aT, bT, out, stride, b0, k0, k1); break;
      }
    }
  };
  if (threads <= 1 || K < 2) {
    run(0, K);
  } else {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; t++) run(K * t / threads, K * (t + 1) / threads);
  }
  return Undefined(env);
}

// The sparse updates run over compact arrays (one value per kept entry, in row order): the
// weight, its gradient and the optimizer slots of a pruned layer are never touched at the pruned
// positions. The loops are optimizers.cc's with mask 1 (`x * 1.f` is exact, so it is left out;
// `+ 0.f` turns a -0 into the +0 the masked loop writes), so each kept entry gets the same bits.

// gather(flat [nnz], dense, out [nnz]): out[p] = dense[flat[p]].
napi_value Gather(napi_env env, const Args& args) {
  size_t nnz, n, lo;
  const int32_t* flat = args.i32(0, &nnz);
  const float* dense = args.f32(1, &n);
  float* out = args.f32(2, &lo);
  check(lo >= nnz, "gather: out too small");
  for (size_t p = 0; p < nnz; p++) check(flat[p] >= 0 && size_t(flat[p]) < n, "gather: index out of range");
  for (size_t p = 0; p < nnz; p++) out[p] = dense[flat[p]];
  return Undefined(env);
}

// scatter(flat [nnz], compact [nnz], dense): dense[flat[p]] = compact[p]; other entries untouched.
napi_value Scatter(napi_env env, const Args& args) {
  size_t nnz, lc, n;
  const int32_t* flat = args.i32(0, &nnz);
  const float* compact = args.f32(1, &lc);
  float* dense = args.f32(2, &n);
  check(lc >= nnz, "scatter: compact too small");
  for (size_t p = 0; p < nnz; p++) check(flat[p] >= 0 && size_t(flat[p]) < n, "scatter: index out of range");
  for (size_t p = 0; p < nnz; p++) dense[flat[p]] = compact[p];
  return Undefined(env);
}

// Restrict pointers (outputs never alias inputs: the JS side allocates them) let GCC vectorise.
void AdamLoop(size_t n, const float* __restrict w, const float* __restrict g, const float* __restrict m,
              const float* __restrict v, float* __restrict ow, float* __restrict om, float* __restrict ov, float b1,
              float b2, float c1, float c2, float bc1, float bc2, float lr, float eps, float wd) {
  for (size_t j = 0; j < n; j++) {
    const float gi = g[j] + wd * w[j];
    const float mi = b1 * m[j] + c1 * gi;
    const float vi = b2 * v[j] + c2 * gi * gi;
    const float upd = lr * (mi * bc1) / (std::sqrt(vi * bc2) + eps);
    ow[j] = (w[j] - upd) + 0.f;
    om[j] = mi + 0.f;
    ov[j] = vi;
  }
}

void SgdLoop(size_t n, const float* __restrict w, const float* __restrict g, const float* __restrict vel,
             float* __restrict ow, float* __restrict ovel, float lr, float mom, float wd) {
  for (size_t j = 0; j < n; j++) {
    const float gi = g[j] + wd * w[j];
    const float vi = mom * vel[j] + gi;
    ow[j] = (w[j] - lr * vi) + 0.f;
    ovel[j] = vi + 0.f;
  }
}

void CheckPermutation(const int32_t* cscOf, size_t nnz, const char* what) {
  for (size_t p = 0; p < nnz; p++) check(cscOf[p] >= 0 && size_t(cscOf[p]) < nnz, what);
}

// adamCompact(w, g, m, v, outW, outM, outV, cscOf, outCsc, lr, beta1, beta2, eps, step, weightDecay):
// optimizers.cc's masked Adam over compact arrays, plus the new weights in column order
// (outCsc[cscOf[p]] = outW[p]) for the next forward product.
napi_value AdamCompact(napi_env env, const Args& args) {
  size_t nnz, l;
  const float* w = args.f32(0, &nnz);
  const float* g = args.f32(1, &l); check(l >= nnz, "adamCompact: grad size");
  const float* m = args.f32(2, &l); check(l >= nnz, "adamCompact: m size");
  const float* v = args.f32(3, &l); check(l >= nnz, "adamCompact: v size");
  float* ow = args.f32(4, &l); check(l >= nnz, "adamCompact: out size");
  float* om = args.f32(5, &l); check(l >= nnz, "adamCompact: out size");
  float* ov = args.f32(6, &l); check(l >= nnz, "adamCompact: out size");
  const int32_t* cscOf = args.i32(7, &l); check(l == nnz, "adamCompact: cscOf length");
  float* oc = args.f32(8, &l); check(l >= nnz, "adamCompact: csc size");
  const double lr = args.num(9), b1 = args.num(10), b2 = args.num(11), eps = args.num(12);
  const double step = args.num(13), wd = args.num(14);
  CheckPermutation(cscOf, nnz, "adamCompact: cscOf out of range");
  // The same float constants as optimizers.cc's Adam.
  const float fb1 = float(b1), fb2 = float(b2), c1 = float(1 - b1), c2 = float(1 - b2);
  const float bc1 = float(1.0 / (1.0 - std::pow(b1, step)));
  const float bc2 = float(1.0 / (1.0 - std::pow(b2, step)));
  const float flr = float(lr), feps = float(eps), fwd = float(wd);
  AdamLoop(nnz, w, g, m, v, ow, om, ov, fb1, fb2, c1, c2, bc1, bc2, flr, feps, fwd);
  for (size_t p = 0; p < nnz; p++) oc[cscOf[p]] = ow[p];
  return Undefined(env);
}

// sgdCompact(w, g, vel, outW, outVel, cscOf, outCsc, lr, momentum, weightDecay): optimizers.cc's
// masked SGD over compact arrays (see adamCompact).
napi_value SgdCompact(napi_env env, const Args& args) {
  size_t nnz, l;
  const float* w = args.f32(0, &nnz);
  const float* g = args.f32(1, &l); check(l >= nnz, "sgdCompact: grad size");
  const float* vel = args.f32(2, &l); check(l >= nnz, "sgdCompact: velocity size");
  float* ow = args.f32(3, &l); check(l >= nnz, "sgdCompact: out size");
  float* ovel = args.f32(4, &l); check(l >= nnz, "sgdCompact: out size");
  const int32_t* cscOf = args.i32(5, &l); check(l == nnz, "sgdCompact: cscOf length");
  float* oc = args.f32(6, &l); check(l >= nnz, "sgdCompact: csc size");
  const float lr = float(args.num(7)), mom = float(args.num(8)), wd = float(args.num(9));
  CheckPermutation(cscOf, nnz, "sgdCompact: cscOf out of range");
  SgdLoop(nnz, w, g, vel, ow, ovel, lr, mom, wd);
  for (size_t p = 0; p < nnz; p++) oc[cscOf[p]] = ow[p];
  return Undefined(env);
}

}  // namespace

void InitSparse(napi_env env, napi_value exports) {
  Export(env, exports, "transposePad", Wrap<Transpose>);
  Export(env, exports, "gatherAxpy", Wrap<GatherAxpy>);
  Export(env, exports, "sampledProduct", Wrap<SampledProduct>);
  Export(env, exports, "gather", Wrap<Gather>);
  Export(env, exports, "scatter", Wrap<Scatter>);
  Export(env, exports, "adamCompact", Wrap<AdamCompact>);
  Export(env, exports, "sgdCompact", Wrap<SgdCompact>);
}

}  // namespace lth
