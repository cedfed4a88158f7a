// alignmentOffset(buffer): bytes to skip from the start of an ArrayBuffer so that a view begins on a 64-byte
// (cache line, AVX-512 register) boundary. JS cannot see backing-store addresses; the storage pool
// (src/backends/storage.ts) over-allocates by 60 bytes and starts its Float32Array at this offset.
#include <cstdint>

#include "args.h"
#include "entry.h"

namespace nodegrad {

static Napi::Value AlignmentOffsetJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, "alignmentOffset", 1, "buffer");
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "alignmentOffset: argument 'buffer' must be an ArrayBuffer");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  const auto addr = reinterpret_cast<std::uintptr_t>(ab.Data());
  return Napi::Number::New(env, static_cast<double>((64 - addr % 64) % 64));
}

static void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("alignmentOffset", Napi::Function::New(env, AlignmentOffsetJs, "alignmentOffset"));
}

NG_REGISTER_EXPORTS(memory, InitMemory);

}  // namespace nodegrad
