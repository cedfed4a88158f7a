// Each op family's file registers its exports here; addon.cc calls them all from the module init.
#ifndef NODEGRAD_ADDON_ENTRY_H
#define NODEGRAD_ADDON_ENTRY_H

#include <napi.h>

namespace nodegrad {

// binaryF32 and binaryOpCodes (binary.cc).
void InitBinary(Napi::Env env, Napi::Object exports);

}  // namespace nodegrad

#endif  // NODEGRAD_ADDON_ENTRY_H
