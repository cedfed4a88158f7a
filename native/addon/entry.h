// Each op family's file registers its exports with NG_REGISTER_EXPORTS(InitFn); the module init (addon.cc)
// calls every registered function, so adding a family never edits a shared file.
#ifndef NODEGRAD_ADDON_ENTRY_H
#define NODEGRAD_ADDON_ENTRY_H

#include <napi.h>

namespace nodegrad {

using ExportsInit = void (*)(Napi::Env env, Napi::Object exports);

// Adds fn to the list the module init runs; returns a dummy so it can initialise a static.
int RegisterExports(const char* family, ExportsInit fn);

// Names the kernel a family's dispatch chose for `slot` (e.g. "sgemm" -> "ng_sgemm_ukernel_14x32_avx512"),
// reported by isaInfo().kernels. Call it from the family's init; the last report for a slot wins.
void ReportKernel(const char* slot, const char* name);

// Runs every registered family's init (called once per module instance, i.e. per worker thread too).
void InitAllExports(Napi::Env env, Napi::Object exports);

}  // namespace nodegrad

#define NG_CONCAT_INNER(a, b) a##b
#define NG_CONCAT(a, b) NG_CONCAT_INNER(a, b)
// In a family's .cc, at namespace scope: NG_REGISTER_EXPORTS(conv, InitConv);
#define NG_REGISTER_EXPORTS(family, fn) \
  static const int NG_CONCAT(ng_registered_, family) = ::nodegrad::RegisterExports(#family, fn)

#endif  // NODEGRAD_ADDON_ENTRY_H
