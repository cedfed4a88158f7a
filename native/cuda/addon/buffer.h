// Device buffers as JS values: a type-tagged napi External owning one device allocation. free() releases the
// memory at once; otherwise the finalizer does when the External is collected. Both report the size to V8 with
// AdjustExternalMemory, so device memory held by garbage prompts collections. Entries take buffers where the
// CPU addon takes typed arrays; every argument is checked here (type, tag, dtype, not freed) before use.
#ifndef NGCUDA_ADDON_BUFFER_H
#define NGCUDA_ADDON_BUFFER_H

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace ngcuda_addon {

enum DType : int { kFloat32 = 0, kInt32 = 1 };
constexpr int kAnyDType = -1;

struct DeviceBuffer {
  void* ptr = nullptr;
  std::size_t length = 0;  // elements
  int dtype = kFloat32;
  bool freed = false;
  std::size_t bytes() const { return length * 4; }
  float* f32() const { return static_cast<float*>(ptr); }
  std::int32_t* i32() const { return static_cast<std::int32_t*>(ptr); }
};

// info[index] as a live buffer of `dtype` (kAnyDType: either); TypeError / Error naming fn and arg otherwise.
DeviceBuffer* BufferArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn, const char* arg, int dtype);
// BufferArg, or nullptr for null / undefined.
DeviceBuffer* OptionalBufferArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn, const char* arg,
                                int dtype);
// RangeError "<fn>: argument '<out>' is the same buffer as '<in>'; pass a separate output buffer" when out == in.
void ExpectDistinct(Napi::Env env, const char* fn, const char* out_name, const DeviceBuffer* out, const char* in_name,
                    const DeviceBuffer* in);
// RangeError unless the int32 index buffer b has fewer than 2^32 elements (the index-error record's positions).
void ExpectCheckedPositions(Napi::Env env, const char* fn, const char* arg, const DeviceBuffer* b);
// Bytes held by live buffers of this process.
std::int64_t LiveBufferBytes();

}  // namespace ngcuda_addon

#endif  // NGCUDA_ADDON_BUFFER_H
