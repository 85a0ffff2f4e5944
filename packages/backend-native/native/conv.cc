// Convolutions and pooling over oneDNN (filled in when libdnnl is found at build time).
#include "common.h"

namespace lth {
void InitConv(napi_env, napi_value) {}
}  // namespace lth
