// Conv2D and its two backprops over oneDNN (when built with libdnnl), on tfjs' layouts:
// activations NHWC, filters HWIO. Each call returns false when oneDNN cannot do that case, and
// the JS kernel then runs tfjs' cpu kernel. Primitives are cached per shape.
#include "common.h"

#ifdef LTH_HAVE_DNNL
#include <omp.h>

#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <vector>
#endif

namespace lth {

#ifdef LTH_HAVE_DNNL
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// params: N, IH, IW, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR (tfjs dilations, >= 1)
struct Shape {
  memory::dim n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  static Shape From(const int32_t* p) {
    return {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16]};
  }
  memory::desc src(tag t = tag::nhwc) const { return {{n, ic, ih, iw}, dt::f32, t}; }
  memory::desc dst(tag t = tag::nhwc) const { return {{n, oc, oh, ow}, dt::f32, t}; }
  memory::desc weights(tag t) const { return {{oc, ic, kh, kw}, dt::f32, t}; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }
  double flops() const { return double(n) * oh * ow * oc * ic * kh * kw; }
};

dnnl::engine& Engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
dnnl::stream& Stream() {
  static dnnl::stream s(Engine());
  return s;
}

dnnl::convolution_forward::primitive_desc ForwardPd(const Shape& s) {
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, s.src(),
                                    s.weights(tag::any), s.dst(), s.strides(), s.dilates(), s.padL(), s.padR());
  return {d, Engine()};
}

// A 1x1 implementation (name "jit_1x1:<isa>", "brgconv_1x1...") on a strided problem.
bool IsStrided1x1(const char* impl, const Shape& s) {
  return (s.sh > 1 || s.sw > 1) && std::strstr(impl, "1x1") != nullptr;
}

// One cached primitive with the weight layout it wants (reordered from/to HWIO per call).
struct Cached {
  dnnl::primitive prim;
  memory::desc weights;  // the primitive's weight layout
  std::unique_ptr<memory> weightsBuffer;  // its storage when that layout is not HWIO
};

std::map<std::pair<int, std::vector<int32_t>>, std::unique_ptr<Cached>> g_cache;

Cached& Get(int op, const int32_t* p, const Shape& s) {
  auto key = std::make_pair(op, std::vector<int32_t>(p, p + 17));
  auto it = g_cache.find(key);
  if (it != g_cache.end()) return *it->second;
  auto c = std::make_unique<Cached>();
  auto fwd = ForwardPd(s);
  if (op == 0) {
    c->prim = dnnl::convolution_forward(fwd);
    c->weights = fwd.weights_desc();
  } else if (op == 1) {
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, s.src(), s.weights(tag::any), s.dst(),
                                            s.strides(), s.dilates(), s.padL(), s.padR());
    dnnl::convolution_backward_data::primitive_desc pd(d, Engine(), fwd);
    c->prim = dnnl::convolution_backward_data(pd);
    c->weights = pd.weights_desc();
  } else {
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, s.src(), s.weights(tag::any),
                                               s.dst(), s.strides(), s.dilates(), s.padL(), s.padR());
    dnnl::convolution_backward_weights::primitive_desc pd(d, Engine(), fwd);
    // oneDNN 2.x's 1x1 backward-weights kernels (jit_1x1:*) copy a strided NHWC source into a
    // unit-stride scratch buffer ("rtus") and, with fewer input channels than their channel
    // block (IC < 8 on AVX2), write past that buffer: heap corruption (`free(): invalid next
    // size`), hangs or wrong gradients. Seen with 2.6.3 (jit_1x1:avx2, 1x1 stride 2; valgrind
    // shows an 8-byte write past the scratchpad); upstream oneDNN issue #6035. Skip to the next
    // implementation (the general direct kernel) for every strided 1x1 case, on every ISA.
    // When none is left, dnnl::error makes the caller run tfjs' cpu kernel.
    while (IsStrided1x1(pd.impl_info_str(), s))
      if (!pd.next_impl()) throw dnnl::error(dnnl_unimplemented, "conv2d: only 1x1 backward-weights kernels");
    c->prim = dnnl::convolution_backward_weights(pd);
    c->weights = pd.diff_weights_desc();
  }
  if (c->weights != s.weights(tag::hwio)) c->weightsBuffer = std::make_unique<memory>(c->weights, Engine());
  if (g_cache.size() > 256) g_cache.clear();
  return *g_cache.emplace(key, std::move(c)).first->second;
}

// conv2d(op, a, b, out, params): op 0 forward (x, w -> y), 1 backprop input (dy, w -> dx),
// 2 backprop filter (x, dy -> dw). Returns false where oneDNN rejects the case.
napi_value Conv2d(napi_env env, const Args& args) {
  const int op = static_cast<int>(args.num(0));
  size_t la, lb, lout, lp;
  float* a = args.f32(1, &la);
  float* b = args.f32(2, &lb);
  float* out = args.f32(3, &lout);
  const int32_t* p = args.i32(4, &lp);
  check(lp == 17 && op >= 0 && op <= 2, "conv2d: bad params");
  const Shape s = Shape::From(p);
  const size_t xs = s.n * s.ih * s.iw * s.ic, ys = s.n * s.oh * s.ow * s.oc, ws = s.kh * s.kw * s.ic * s.oc;
  const size_t need[3][3] = {{xs, ws, ys}, {ys, ws, xs}, {xs, ys, ws}};
  check(la >= need[op][0] && lb >= need[op][1] && lout >= need[op][2], "conv2d: buffer too small");
  bool ok = true;
  try {
    Cached& c = Get(op, p, s);
    omp_set_num_threads(ThreadsFor(s.flops()));
    auto& eng = Engine();
    auto& strm = Stream();
    const memory::desc hwio = s.weights(tag::hwio);
    if (op == 2) {
      memory src(s.src(), eng, a), diffDst(s.dst(), eng, b), user(hwio, eng, out);
      memory& diffW = c.weightsBuffer ? *c.weightsBuffer : user;
      c.prim.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_DIFF_WEIGHTS, diffW}});
      if (c.weightsBuffer) dnnl::reorder(diffW, user).execute(strm, diffW, user);
    } else {
      memory user(hwio, eng, b);
      memory& w = c.weightsBuffer ? *c.weightsBuffer : user;
      if (c.weightsBuffer) dnnl::reorder(user, w).execute(strm, user, w);
      if (op == 0) {
        memory src(s.src(), eng, a), dst(s.dst(), eng, out);
        c.prim.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}});
      } else {
        memory diffDst(s.dst(), eng, a), diffSrc(s.src(), eng, out);
        c.prim.execute(strm, {{DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, diffSrc}});
      }
    }
    strm.wait();
  } catch (const dnnl::error&) {
    ok = false;
  }
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

}  // namespace

void InitConv(napi_env env, napi_value exports) { Export(env, exports, "conv2d", Wrap<Conv2d>); }
#else
void InitConv(napi_env, napi_value) {}
#endif

}  // namespace lth
