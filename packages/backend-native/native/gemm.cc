// BatchMatMul over OpenBLAS' cblas_sgemm, with the thread count chosen per call; thin GEMMs
// (one dimension <= 128: every GEMM of a batch-60 dense layer and its gradients) go to oneDNN's
// sgemm where the addon has it: faster on one thread for LeNet's shapes, and it splits Conv-2's
// 60x16384x256 layer far better over threads than OpenBLAS.
#include <cblas.h>

#ifdef LTH_HAVE_DNNL
#include <dnnl.h>
#include <omp.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "common.h"

namespace lth {

namespace {
int g_max_threads = 0;
int g_blas_threads = -1;
// Below this many multiply-adds a GEMM runs on one thread: waking OpenBLAS' workers costs
// more than it saves (LeNet-300-100's 60x784x300 stays single-threaded).
double g_parallel_flops = 64.0 * 1024 * 1024;

void SetBlasThreads(int n) {
  if (n != g_blas_threads) {
    openblas_set_num_threads(n);
    g_blas_threads = n;
  }
}
}  // namespace

int MaxThreads() {
  if (g_max_threads <= 0) {
    const char* env = std::getenv("LTH_NATIVE_THREADS");
    int n = env ? std::atoi(env) : 0;
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    g_max_threads = n;
  }
  return g_max_threads;
}

int ThreadsFor(double flops) { return flops < g_parallel_flops ? 1 : MaxThreads(); }

namespace {

// batchMatMul(a, b, out, batch, batchA, batchB, m, n, k, transposeA, transposeB)
// a: [batchA, m, k] (or [batchA, k, m] transposed), b: [batchB, k, n] (or [batchB, n, k]),
// out: [batch, m, n]; batch i reads a[i % batchA] and b[i % batchB], like tfjs' cpu kernel.
napi_value BatchMatMul(napi_env env, const Args& args) {
  size_t la, lb, lc;
  const float* a = args.f32(0, &la);
  const float* b = args.f32(1, &lb);
  float* c = args.f32(2, &lc);
  const int64_t batch = args.int64(3), batchA = args.int64(4), batchB = args.int64(5);
  const int64_t m = args.int64(6), n = args.int64(7), k = args.int64(8);
  const bool ta = args.flag(9), tb = args.flag(10);
  check(batchA > 0 && batchB > 0 && batch >= std::max(batchA, batchB), "bad batch sizes");
  check(la >= size_t(batchA * m * k) && lb >= size_t(batchB * k * n) && lc >= size_t(batch * m * n),
        "buffer too small for the given shapes");
  const int threads = ThreadsFor(double(batch) * m * n * k);
  const int lda = ta ? m : k, ldb = tb ? k : n;
#ifdef LTH_HAVE_DNNL
  // Zen 3, 1 thread: 60x784x300 0.31 ms vs OpenBLAS' 0.34, its weight gradient (784x300x60)
  // 0.32 vs 0.39; 2 threads: 60x16384x256 4.1 ms vs 6.1, its input gradient 3.8 vs 6.2.
  if (std::min({m, n, k}) <= 128 && m * k < (int64_t(1) << 31) && k * n < (int64_t(1) << 31)) {
    omp_set_num_threads(threads);
    bool ok = true;
    for (int64_t i = 0; i < batch && ok; i++) {
      const float* ai = a + (i % batchA) * m * k;
      const float* bi = b + (i % batchB) * k * n;
      float* ci = c + i * m * n;
      if (k == 0) {
        std::fill(ci, ci + m * n, 0.f);
        continue;
      }
      ok = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, ai, lda, bi, ldb, 0.f, ci, n) == dnnl_success;
    }
    if (ok) return Undefined(env);
  }
#endif
  SetBlasThreads(threads);
  for (int64_t i = 0; i < batch; i++) {
    const float* ai = a + (i % batchA) * m * k;
    const float* bi = b + (i % batchB) * k * n;
    float* ci = c + i * m * n;
    if (k == 0) {
      std::fill(ci, ci + m * n, 0.f);
      continue;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, 1.f, ai, lda, bi, ldb, 0.f, ci, n);
  }
  return Undefined(env);
}

// setThreads(max, parallelFlops): the thread policy; returns the max now in force.
napi_value SetThreads(napi_env env, const Args& args) {
  if (args.count() > 0) {
    int n = static_cast<int>(args.num(0));
    g_max_threads = n > 0 ? n : 0;
  }
  if (args.count() > 1) g_parallel_flops = args.num(1);
  g_blas_threads = -1;
  return Number(env, MaxThreads());
}

napi_value BlasInfo(napi_env env, const Args&) {
  std::string s = std::string(openblas_get_config()) + "; core " + openblas_get_corename();
  return String(env, s);
}

}  // namespace

void InitGemm(napi_env env, napi_value exports) {
  Export(env, exports, "batchMatMul", Wrap<BatchMatMul>);
  Export(env, exports, "setThreads", Wrap<SetThreads>);
  Export(env, exports, "blasInfo", Wrap<BlasInfo>);
}

}  // namespace lth
