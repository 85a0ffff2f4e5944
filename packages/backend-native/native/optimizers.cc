// Fused, masked optimizer updates (PyTorch semantics), one pass over each parameter.
#include <cmath>

#include "common.h"

namespace lth {

namespace {

// Runs f(lo, hi) over [0, n) split into one contiguous range per thread when n is large (a
// Conv-2 dense layer's 4M weights). From 1M floats only: LeNet's 235K-weight layer is faster on
// one thread (the update then stays in cache, and no worker needs waking).
template <typename F>
void Chunked(size_t n, F f) {
  const int threads = n < (size_t(1) << 20) ? 1 : ThreadsForElements(double(n));
  if (threads <= 1) {
    f(size_t(0), n);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; t++) f(n * t / threads, n * (t + 1) / threads);
}

// The loops take restrict pointers (outputs never alias inputs: the JS side allocates them) and
// are specialised on whether there is a mask, so GCC vectorises them.
template <bool kMasked>
void AdamLoop(size_t n, const float* __restrict w, const float* __restrict g, const float* __restrict m,
              const float* __restrict v, const float* __restrict mask, float* __restrict ow, float* __restrict om,
              float* __restrict ov, float b1, float b2, float c1, float c2, float bc1, float bc2, float lr, float eps,
              float wd) {
  for (size_t i = 0; i < n; i++) {
    const float k = kMasked ? mask[i] : 1.f;
    const float gi = (g[i] + wd * w[i]) * k;
    const float mi = (b1 * m[i] + c1 * gi) * k;
    const float vi = (b2 * v[i] + c2 * gi * gi) * k;
    const float upd = lr * (mi * bc1) / (std::sqrt(vi * bc2) + eps);
    // `+ 0.f` turns the -0 of a negative value times a zero mask into +0 (IEEE: -0 + +0 = +0),
    // so a pruned weight and its moments are +0 exactly; branch-free, so it vectorises.
    ow[i] = kMasked ? (w[i] - upd) * k + 0.f : w[i] - upd;
    om[i] = kMasked ? mi + 0.f : mi;
    ov[i] = vi;
  }
}

template <bool kMasked>
void SgdLoop(size_t n, const float* __restrict w, const float* __restrict g, const float* __restrict vel,
             const float* __restrict mask, float* __restrict ow, float* __restrict ovel, float lr, float mom, float wd) {
  for (size_t i = 0; i < n; i++) {
    const float k = kMasked ? mask[i] : 1.f;
    const float gi = (g[i] + wd * w[i]) * k;
    const float vi = (mom * vel[i] + gi) * k;
    ow[i] = kMasked ? (w[i] - lr * vi) * k + 0.f : w[i] - lr * vi;
    ovel[i] = kMasked ? vi + 0.f : vi;
  }
}

// adam(w, g, m, v, mask|null, outW, outM, outV, lr, beta1, beta2, eps, step, weightDecay)
//   g' = (g + wd*w)*mask; m' = (b1*m + (1-b1)*g')*mask; v' = (b2*v + (1-b2)*g'^2)*mask;
//   w' = (w - lr*(m'/(1-b1^t)) / (sqrt(v'/(1-b2^t)) + eps))*mask
napi_value Adam(napi_env env, const Args& args) {
  size_t n, l;
  const float* w = args.f32(0, &n);
  const float* g = args.f32(1, &l); check(l == n, "adam: grad size");
  const float* m = args.f32(2, &l); check(l == n, "adam: m size");
  const float* v = args.f32(3, &l); check(l == n, "adam: v size");
  napi_valuetype t;
  napi_typeof(env, args.raw(4), &t);
  const float* mask = (t == napi_null || t == napi_undefined) ? nullptr : args.f32(4, &l);
  if (mask) check(l == n, "adam: mask size");
  float* ow = args.f32(5, &l); check(l >= n, "adam: out size");
  float* om = args.f32(6, &l); check(l >= n, "adam: out size");
  float* ov = args.f32(7, &l); check(l >= n, "adam: out size");
  const double lr = args.num(8), b1 = args.num(9), b2 = args.num(10), eps = args.num(11);
  const double step = args.num(12), wd = args.num(13);
  const float fb1 = float(b1), fb2 = float(b2), c1 = float(1 - b1), c2 = float(1 - b2);
  const float bc1 = float(1.0 / (1.0 - std::pow(b1, step)));
  const float bc2 = float(1.0 / (1.0 - std::pow(b2, step)));
  const float flr = float(lr), feps = float(eps), fwd = float(wd);
  Chunked(n, [&](size_t lo, size_t hi) {
    const float* mk = mask ? mask + lo : nullptr;
    if (mask) {
      AdamLoop<true>(hi - lo, w + lo, g + lo, m + lo, v + lo, mk, ow + lo, om + lo, ov + lo, fb1, fb2, c1, c2, bc1,
                     bc2, flr, feps, fwd);
    } else {
      AdamLoop<false>(hi - lo, w + lo, g + lo, m + lo, v + lo, mk, ow + lo, om + lo, ov + lo, fb1, fb2, c1, c2, bc1,
                      bc2, flr, feps, fwd);
    }
  });
  return Undefined(env);
}

// sgd(w, g, vel, mask|null, outW, outVel, lr, momentum, weightDecay)
//   g' = (g + wd*w)*mask; vel' = (momentum*vel + g')*mask; w' = (w - lr*vel')*mask
napi_value Sgd(napi_env env, const Args& args) {
  size_t n, l;
  const float* w = args.f32(0, &n);
  const float* g = args.f32(1, &l); check(l == n, "sgd: grad size");
  const float* vel = args.f32(2, &l); check(l == n, "sgd: velocity size");
  napi_valuetype t;
  napi_typeof(env, args.raw(3), &t);
  const float* mask = (t == napi_null || t == napi_undefined) ? nullptr : args.f32(3, &l);
  if (mask) check(l == n, "sgd: mask size");
  float* ow = args.f32(4, &l); check(l >= n, "sgd: out size");
  float* ovel = args.f32(5, &l); check(l >= n, "sgd: out size");
  const float lr = float(args.num(6)), mom = float(args.num(7)), wd = float(args.num(8));
  Chunked(n, [&](size_t lo, size_t hi) {
    const float* mk = mask ? mask + lo : nullptr;
    if (mask) {
      SgdLoop<true>(hi - lo, w + lo, g + lo, vel + lo, mk, ow + lo, ovel + lo, lr, mom, wd);
    } else {
      SgdLoop<false>(hi - lo, w + lo, g + lo, vel + lo, mk, ow + lo, ovel + lo, lr, mom, wd);
    }
  });
  return Undefined(env);
}

}  // namespace

void InitOptimizers(napi_env env, napi_value exports) {
  Export(env, exports, "adam", Wrap<Adam>);
  Export(env, exports, "sgd", Wrap<Sgd>);
}

}  // namespace lth
