// 2-D max pooling (NHWC) and its gradient, with tfjs' cpu semantics: the first maximum of a
// window (row-major scan, strictly greater) takes the gradient; windows clipped at the borders.
#include <cmath>
#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"

namespace lth {

namespace {

// params: N, IH, IW, C, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL
struct Pool {
  int64_t n, ih, iw, c, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
};

// For output cell (r, q) of one image: best[d] and at[d] (index into the image, -1 when the
// window holds no value above -inf) for every channel d. Channels are the inner loop, so the
// scan reads contiguous memory; within a channel the row-major scan keeps the first maximum.
inline void WindowMax(const Pool& p, const float* __restrict img, int64_t r, int64_t q, float* __restrict best,
                      int64_t* __restrict at) {
  const int64_t r0 = r * p.sh - p.pt, q0 = q * p.sw - p.pl;
  int64_t rMin = r0, qMin = q0;
  while (rMin < 0) rMin += p.dh;
  while (qMin < 0) qMin += p.dw;
  const int64_t rMax = std::min(p.ih, r0 + (p.kh - 1) * p.dh + 1), qMax = std::min(p.iw, q0 + (p.kw - 1) * p.dw + 1);
  for (int64_t d = 0; d < p.c; d++) {
    best[d] = -INFINITY;
    at[d] = -1;
  }
  for (int64_t y = rMin; y < rMax; y += p.dh) {
    for (int64_t x = qMin; x < qMax; x += p.dw) {
      const int64_t base = (y * p.iw + x) * p.c;
      const float* __restrict px = img + base;
      for (int64_t d = 0; d < p.c; d++) {
        const bool greater = px[d] > best[d];
        best[d] = greater ? px[d] : best[d];
        at[d] = greater ? base + d : at[d];
      }
    }
  }
}

Pool FromParams(const int32_t* v) { return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13]}; }

// maxPool(x, y, params)
napi_value MaxPool(napi_env env, const Args& args) {
  size_t lx, ly, lp;
  const float* x = args.f32(0, &lx);
  float* y = args.f32(1, &ly);
  const int32_t* pv = args.i32(2, &lp);
  check(lp == 14, "maxPool: bad params");
  const Pool p = FromParams(pv);
  check(lx >= size_t(p.n * p.ih * p.iw * p.c) && ly >= size_t(p.n * p.oh * p.ow * p.c), "maxPool: buffer too small");
  // Images are independent: split the batch over threads when the input is large.
  const int threads = ThreadsForElements(double(p.n) * p.ih * p.iw * p.c);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<int64_t> at(p.c);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < p.n; b++) {
      const float* img = x + b * p.ih * p.iw * p.c;
      float* out = y + b * p.oh * p.ow * p.c;
      for (int64_t r = 0; r < p.oh; r++)
        for (int64_t q = 0; q < p.ow; q++) WindowMax(p, img, r, q, out + (r * p.ow + q) * p.c, at.data());
    }
  }
  return Undefined(env);
}

// maxPoolGrad(dy, x, dx, params)
napi_value MaxPoolGrad(napi_env env, const Args& args) {
  size_t ldy, lx, ldx, lp;
  const float* dy = args.f32(0, &ldy);
  const float* x = args.f32(1, &lx);
  float* dx = args.f32(2, &ldx);
  const int32_t* pv = args.i32(3, &lp);
  check(lp == 14, "maxPoolGrad: bad params");
  const Pool p = FromParams(pv);
  const size_t xs = p.n * p.ih * p.iw * p.c;
  check(lx >= xs && ldx >= xs && ldy >= size_t(p.n * p.oh * p.ow * p.c), "maxPoolGrad: buffer too small");
  // Each image's gradient lands in its own slice of dx: split the batch over threads.
  const int threads = ThreadsForElements(double(xs));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<float> best(p.c);
    std::vector<int64_t> at(p.c);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < p.n; b++) {
      const float* img = x + b * p.ih * p.iw * p.c;
      const float* g = dy + b * p.oh * p.ow * p.c;
      float* dimg = dx + b * p.ih * p.iw * p.c;
      std::memset(dimg, 0, p.ih * p.iw * p.c * sizeof(float));
      for (int64_t r = 0; r < p.oh; r++)
        for (int64_t q = 0; q < p.ow; q++) {
          WindowMax(p, img, r, q, best.data(), at.data());
          const float* gc = g + (r * p.ow + q) * p.c;
          for (int64_t d = 0; d < p.c; d++)
            if (at[d] >= 0) dimg[at[d]] += gc[d];
        }
    }
  }
  return Undefined(env);
}

}  // namespace

void InitPool(napi_env env, napi_value exports) {
  Export(env, exports, "maxPool", Wrap<MaxPool>);
  Export(env, exports, "maxPoolGrad", Wrap<MaxPoolGrad>);
}

}  // namespace lth
