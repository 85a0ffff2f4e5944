// Element-wise binary ops with broadcasting, and unary ops, over float32.
#include <algorithm>
#include <cmath>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lth {

namespace {

enum BinaryOp { kAdd = 0, kSub, kMul, kDiv, kMaximum, kMinimum, kSquaredDifference };

// Walks `out` (rank r, shape `shape`) with per-operand strides (0 on broadcast dims); the last
// dim is the inner loop, specialised for the contiguous/broadcast stride pairs that dominate.
// Walks rows [o0, o1) of `out` (rank r, shape `shape`, viewed as [outer, inner]) with
// per-operand strides (0 on broadcast dims); the last dim is the inner loop, specialised for the
// contiguous/broadcast stride pairs that dominate.
template <typename F>
void BroadcastRows(F f, const float* a, const int32_t* sa, const float* b, const int32_t* sb, float* out,
                   const int32_t* shape, int rank, int64_t o0, int64_t o1) {
  const int64_t inner = shape[rank - 1];
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  int64_t idx[8] = {0};
  int64_t offA = 0, offB = 0;
  // The outer multi-index of row o0, and the operand offsets there.
  for (int64_t d = rank - 2, rest = o0; d >= 0; d--) {
    idx[d] = rest % shape[d];
    rest /= shape[d];
    offA += idx[d] * sa[d];
    offB += idx[d] * sb[d];
  }
  for (int64_t o = o0; o < o1; o++) {
    const float* pa = a + offA;
    const float* pb = b + offB;
    float* po = out + o * inner;
    if (ia == 1 && ib == 1) {
      for (int64_t i = 0; i < inner; i++) po[i] = f(pa[i], pb[i]);
    } else if (ia == 1 && ib == 0) {
      const float vb = pb[0];
      for (int64_t i = 0; i < inner; i++) po[i] = f(pa[i], vb);
    } else if (ia == 0 && ib == 1) {
      const float va = pa[0];
      for (int64_t i = 0; i < inner; i++) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < inner; i++) po[i] = f(pa[i * ia], pb[i * ib]);
    }
    // Advance the outer multi-index (odometer), keeping the operand offsets in step.
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      offA += sa[d];
      offB += sb[d];
      if (idx[d] < shape[d]) break;
      offA -= sa[d] * shape[d];
      offB -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

// The whole of `out`, its rows split over threads when it is large.
template <typename F>
void Broadcast(F f, const float* a, const int32_t* sa, const float* b, const int32_t* sb, float* out,
               const int32_t* shape, int rank) {
  if (rank == 0) {
    out[0] = f(a[0], b[0]);
    return;
  }
  const int64_t inner = shape[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= shape[d];
  const int threads = outer > 1 ? ThreadsForElements(double(outer) * inner) : 1;
  if (threads <= 1) {
    BroadcastRows(f, a, sa, b, sb, out, shape, rank, 0, outer);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
#ifdef _OPENMP
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int64_t t = 0, nt = 1;
#endif
    BroadcastRows(f, a, sa, b, sb, out, shape, rank, outer * t / nt, outer * (t + 1) / nt);
  }
}

// binary(op, a, aStrides, b, bStrides, out, outShape)
napi_value Binary(napi_env env, const Args& args) {
  const int op = static_cast<int>(args.num(0));
  size_t lsa, lsb, lshape, lout;
  const float* a = args.f32(1);
  const int32_t* sa = args.i32(2, &lsa);
  const float* b = args.f32(3);
  const int32_t* sb = args.i32(4, &lsb);
  float* out = args.f32(5, &lout);
  const int32_t* shape = args.i32(6, &lshape);
  const int rank = static_cast<int>(lshape);
  check(rank <= 8 && lsa == lshape && lsb == lshape, "binary: rank > 8 or stride/shape mismatch");
  switch (op) {
    case kAdd: Broadcast([](float x, float y) { return x + y; }, a, sa, b, sb, out, shape, rank); break;
    case kSub: Broadcast([](float x, float y) { return x - y; }, a, sa, b, sb, out, shape, rank); break;
    case kMul: Broadcast([](float x, float y) { return x * y; }, a, sa, b, sb, out, shape, rank); break;
    case kDiv: Broadcast([](float x, float y) { return x / y; }, a, sa, b, sb, out, shape, rank); break;
    case kMaximum:
      // NaN propagates like tfjs' cpu kernel (Math.max).
      Broadcast([](float x, float y) { return (x != x || y != y) ? NAN : (x > y ? x : y); }, a, sa, b, sb,
                out, shape, rank);
      break;
    case kMinimum:
      Broadcast([](float x, float y) { return (x != x || y != y) ? NAN : (x < y ? x : y); }, a, sa, b, sb,
                out, shape, rank);
      break;
    case kSquaredDifference:
      Broadcast([](float x, float y) { return (x - y) * (x - y); }, a, sa, b, sb, out, shape, rank);
      break;
    default: throw ArgError{"binary: unknown op"};
  }
  return Undefined(env);
}

enum UnaryOp {
  kRelu = 0, kStep, kExp, kLog, kNeg, kSqrt, kSquare, kSigmoid, kTanh, kAbs, kReciprocal, kRsqrt, kRelu6
};

template <typename F>
void MapRange(F f, const float* __restrict x, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = f(x[i]);
}

// Contiguous ranges, one per thread, each a plain loop (vectorised as the one-thread case;
// an `omp for` over the lambda kept Step scalar and branchy, ~12x slower).
template <typename F>
void Map(F f, const float* x, float* out, size_t n) {
  const int threads = ThreadsForElements(double(n));
  const int64_t count = static_cast<int64_t>(n);
  if (threads <= 1) {
    MapRange(f, x, out, count);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; t++) {
    const int64_t lo = count * t / threads, hi = count * (t + 1) / threads;
    MapRange(f, x + lo, out + lo, hi - lo);
  }
}

// unary(op, x, out, alpha)
napi_value Unary(napi_env env, const Args& args) {
  const int op = static_cast<int>(args.num(0));
  size_t n, lout;
  const float* x = args.f32(1, &n);
  float* out = args.f32(2, &lout);
  check(lout >= n, "unary: output too small");
  const float alpha = args.count() > 3 ? static_cast<float>(args.num(3)) : 0.f;
  switch (op) {
    case kRelu: Map([](float v) { return v < 0.f ? 0.f : v; }, x, out, n); break;  // NaN stays NaN
    case kRelu6: Map([](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); }, x, out, n); break;
    case kStep: Map([alpha](float v) { return v != v ? NAN : (v > 0.f ? 1.f : alpha); }, x, out, n); break;
    case kExp: Map([](float v) { return std::exp(v); }, x, out, n); break;
    case kLog: Map([](float v) { return std::log(v); }, x, out, n); break;
    case kNeg: Map([](float v) { return -v; }, x, out, n); break;
    case kSqrt: Map([](float v) { return std::sqrt(v); }, x, out, n); break;
    case kSquare: Map([](float v) { return v * v; }, x, out, n); break;
    case kSigmoid: Map([](float v) { return 1.f / (1.f + std::exp(-v)); }, x, out, n); break;
    case kTanh: Map([](float v) { return std::tanh(v); }, x, out, n); break;
    case kAbs: Map([](float v) { return std::fabs(v); }, x, out, n); break;
    case kReciprocal: Map([](float v) { return 1.f / v; }, x, out, n); break;
    case kRsqrt: Map([](float v) { return 1.f / std::sqrt(v); }, x, out, n); break;
    default: throw ArgError{"unary: unknown op"};
  }
  return Undefined(env);
}

}  // namespace

void InitElementwise(napi_env env, napi_value exports) {
  Export(env, exports, "binary", Wrap<Binary>);
  Export(env, exports, "unary", Wrap<Unary>);
}

}  // namespace lth
