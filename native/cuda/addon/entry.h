// The CUDA addon's export registry and error boundary: each op family's file registers an init with
// NGC_REGISTER_EXPORTS, and every entry is exported through Export(), which turns any C++ error (a CudaError
// naming the kernel, an allocation failure) into a JS Error "<entry>: <kernel>: <cudaError name>: <text>" with
// code 'ERR_NODEGRAD_CUDA', instead of terminating the process.
#ifndef NGCUDA_ADDON_ENTRY_H
#define NGCUDA_ADDON_ENTRY_H

#include <napi.h>

namespace ngcuda_addon {

using ExportsInit = void (*)(Napi::Env env, Napi::Object exports);
using EntryFn = Napi::Value (*)(const Napi::CallbackInfo& info);

int RegisterExports(const char* family, ExportsInit fn);
void InitAllExports(Napi::Env env, Napi::Object exports);

// exports[name] = fn behind the error boundary.
void Export(Napi::Env env, Napi::Object exports, const char* name, EntryFn fn);

}  // namespace ngcuda_addon

#define NGC_CONCAT_INNER(a, b) a##b
#define NGC_CONCAT(a, b) NGC_CONCAT_INNER(a, b)
#define NGC_REGISTER_EXPORTS(family, fn) \
  static const int NGC_CONCAT(ngc_registered_, family) = ::ngcuda_addon::RegisterExports(#family, fn)

#endif  // NGCUDA_ADDON_ENTRY_H
