// Module entry: collects every kernel file's exports.
#include <malloc.h>

#include "common.h"

namespace lth {

void Export(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &f);
  napi_set_named_property(env, exports, name, f);
}

namespace {

// tuneMalloc(): keeps large freed blocks in glibc's heap instead of unmapping them, so fresh
// tensors of a training step do not page-fault on every step (PyTorch needs the same tweak).
napi_value TuneMalloc(napi_env env, const Args&) {
  mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
  return Undefined(env);
}

napi_value Features(napi_env env, const Args&) {
  napi_value o;
  napi_create_object(env, &o);
#ifdef LTH_HAVE_DNNL
  const bool dnnl = true;
#else
  const bool dnnl = false;
#endif
  napi_value b;
  napi_get_boolean(env, dnnl, &b);
  napi_set_named_property(env, o, "dnnl", b);
  return o;
}

napi_value Init(napi_env env, napi_value exports) {
  Export(env, exports, "tuneMalloc", Wrap<TuneMalloc>);
  Export(env, exports, "features", Wrap<Features>);
  InitGemm(env, exports);
  InitElementwise(env, exports);
  InitReduce(env, exports);
  InitOptimizers(env, exports);
  InitConv(env, exports);
  InitPool(env, exports);
  InitSparse(env, exports);
  return exports;
}

}  // namespace
}  // namespace lth

NAPI_MODULE(NODE_GYP_MODULE_NAME, lth::Init)
