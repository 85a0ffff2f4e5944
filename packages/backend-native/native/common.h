// Small helpers over the raw N-API C interface, shared by every kernel file.
#pragma once
#include <node_api.h>
#include <cstddef>
#include <cstdint>
#include <string>

namespace lth {

struct ArgError {
  std::string message;
};

// Reads the arguments of one call; every getter throws ArgError on a type mismatch, and
// `Wrap` turns that into a JS TypeError, so kernels stay free of status plumbing.
class Args {
 public:
  Args(napi_env env, napi_callback_info info) : env_(env) {
    argc_ = kMax;
    napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr);
  }
  size_t count() const { return argc_; }
  napi_value raw(size_t i) const { return i < argc_ ? argv_[i] : nullptr; }

  template <typename T>
  T* typed(size_t i, napi_typedarray_type want, size_t* length, const char* what) const {
    bool is = false;
    if (i >= argc_ || napi_is_typedarray(env_, argv_[i], &is) != napi_ok || !is)
      throw ArgError{std::string("argument ") + std::to_string(i) + " must be a " + what};
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_value ab;
    size_t offset;
    napi_get_typedarray_info(env_, argv_[i], &type, &len, &data, &ab, &offset);
    if (type != want)
      throw ArgError{std::string("argument ") + std::to_string(i) + " must be a " + what};
    if (length) *length = len;
    return static_cast<T*>(data);
  }
  float* f32(size_t i, size_t* length = nullptr) const {
    return typed<float>(i, napi_float32_array, length, "Float32Array");
  }
  int32_t* i32(size_t i, size_t* length = nullptr) const {
    return typed<int32_t>(i, napi_int32_array, length, "Int32Array");
  }
  double num(size_t i) const {
    double v;
    if (i >= argc_ || napi_get_value_double(env_, argv_[i], &v) != napi_ok)
      throw ArgError{std::string("argument ") + std::to_string(i) + " must be a number"};
    return v;
  }
  int64_t int64(size_t i) const { return static_cast<int64_t>(num(i)); }
  bool flag(size_t i) const {
    bool v;
    if (i < argc_ && napi_get_value_bool(env_, argv_[i], &v) == napi_ok) return v;
    return num(i) != 0;
  }

 private:
  static constexpr size_t kMax = 24;
  napi_env env_;
  size_t argc_;
  napi_value argv_[kMax];
};

inline void check(bool ok, const char* message) {
  if (!ok) throw ArgError{message};
}

using Body = napi_value (*)(napi_env, const Args&);

// Registers `body` as an exported function; ArgError and std::exception become JS errors.
template <Body body>
napi_value Wrap(napi_env env, napi_callback_info info) {
  try {
    Args args(env, info);
    return body(env, args);
  } catch (const ArgError& e) {
    napi_throw_type_error(env, nullptr, e.message.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

inline napi_value Undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}
inline napi_value Number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}
inline napi_value String(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

void Export(napi_env env, napi_value exports, const char* name, napi_callback fn);

// Each kernel file contributes its functions through one of these.
void InitGemm(napi_env env, napi_value exports);
void InitElementwise(napi_env env, napi_value exports);
void InitReduce(napi_env env, napi_value exports);
void InitOptimizers(napi_env env, napi_value exports);
void InitConv(napi_env env, napi_value exports);
void InitPool(napi_env env, napi_value exports);
void InitSparse(napi_env env, napi_value exports);

// Thread policy: the most threads any kernel may use, and how many a given amount of work gets.
int MaxThreads();
int ThreadsFor(double flops);
// Threads for a memory-bound loop over `n` floats (element-wise ops, reductions, pooling): one
// below ~128K floats, where waking OpenMP's passive workers costs more than it saves.
inline int ThreadsForElements(double n) { return n < double(1 << 17) ? 1 : MaxThreads(); }

}  // namespace lth
