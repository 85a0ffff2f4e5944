// Reductions over one contiguous block of axes: x viewed as [outer, reduced, inner].
#include <cmath>
#include <limits>
#include <vector>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lth {

namespace {

enum ReduceOp { kSum = 0, kMean, kMax, kMin };

// reduce(op, x, out, outer, reduced, inner). Sums accumulate in double, as tfjs' cpu kernel
// (JS numbers) does, so results match it to float32 rounding.
napi_value Reduce(napi_env env, const Args& args) {
  const int op = static_cast<int>(args.num(0));
  size_t lx, lout;
  const float* x = args.f32(1, &lx);
  float* out = args.f32(2, &lout);
  const int64_t outer = args.int64(3), r = args.int64(4), inner = args.int64(5);
  check(lx >= size_t(outer * r * inner) && lout >= size_t(outer * inner), "reduce: bad sizes");
  const bool additive = op == kSum || op == kMean;
  std::vector<double> acc(inner);
  for (int64_t o = 0; o < outer; o++) {
    const float* base = x + o * r * inner;
    float* po = out + o * inner;
    if (inner == 1) {
      if (additive) {
        double s = 0;
        for (int64_t j = 0; j < r; j++) s += base[j];
        po[0] = static_cast<float>(op == kMean ? s / double(r) : s);
      } else {
        float m = r > 0 ? base[0] : (op == kMax ? -INFINITY : INFINITY);
        for (int64_t j = 1; j < r; j++) {
          const float v = base[j];
          if (v != v) { m = v; break; }
          if (op == kMax ? v > m : v < m) m = v;
        }
        po[0] = m;
      }
      continue;
    }
    const int threads = outer == 1 && additive && r > 1 ? ThreadsForElements(double(r) * inner) : 1;
    if (threads > 1) {
      // One large sum over rows (a conv layer's bias gradient): per-thread partial sums in
      // double over contiguous row ranges, added in thread order.
      std::vector<double> part(size_t(threads) * inner, 0.0);
#pragma omp parallel num_threads(threads)
      {
#ifdef _OPENMP
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        const int64_t t = 0, nt = 1;
#endif
        double* pa = part.data() + t * inner;
        for (int64_t j = r * t / nt; j < r * (t + 1) / nt; j++) {
          const float* row = base + j * inner;
          for (int64_t i = 0; i < inner; i++) pa[i] += row[i];
        }
      }
      const double scale = op == kMean ? 1.0 / double(r) : 1.0;
      for (int64_t i = 0; i < inner; i++) {
        double s = 0;
        for (int t = 0; t < threads; t++) s += part[size_t(t) * inner + i];
        po[i] = static_cast<float>(op == kMean ? s * scale : s);
      }
    } else if (additive) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < r; j++) {
        const float* row = base + j * inner;
        for (int64_t i = 0; i < inner; i++) acc[i] += row[i];
      }
      const double scale = op == kMean ? 1.0 / double(r) : 1.0;
      for (int64_t i = 0; i < inner; i++) po[i] = static_cast<float>(op == kMean ? acc[i] * scale : acc[i]);
    } else {
      for (int64_t i = 0; i < inner; i++) po[i] = r > 0 ? base[i] : (op == kMax ? -INFINITY : INFINITY);
      for (int64_t j = 1; j < r; j++) {
        const float* row = base + j * inner;
        for (int64_t i = 0; i < inner; i++) {
          const float v = row[i], m = po[i];
          po[i] = (v != v || m != m) ? NAN : (op == kMax ? (v > m ? v : m) : (v < m ? v : m));
        }
      }
    }
  }
  return Undefined(env);
}

}  // namespace

void InitReduce(napi_env env, napi_value exports) { Export(env, exports, "reduce", Wrap<Reduce>); }

}  // namespace lth
