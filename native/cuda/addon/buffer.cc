// Buffer entries: alloc(length, dtype), free(buf), upload(buf, typedArray), download(buf, typedArray),
// fill(buf, value), copy(dst, src), bufferInfo(buf), and the argument checks every other entry uses.
#include "buffer.h"

#include <atomic>
#include <string>

#include "args.h"
#include "entry.h"
#include "ngcuda/common.h"
#include "ngcuda/eltwise.h"

namespace ngcuda_addon {

using nodegrad::ArgPrefix;
using nodegrad::Describe;

namespace {

// Tags Externals made here, so that an External from another addon is never taken for a DeviceBuffer.
const napi_type_tag kBufferTag = {0x6e6f646567726164ULL, 0x6375646162756631ULL};

std::atomic<std::int64_t> g_live_bytes{0};

const char* DTypeName(int dtype) { return dtype == kInt32 ? "int32" : "float32"; }

void Release(Napi::Env env, DeviceBuffer* b) {
  if (b->freed) return;
  b->freed = true;
  ngcuda::Free(b->ptr);
  b->ptr = nullptr;
  g_live_bytes -= static_cast<std::int64_t>(b->bytes());
  Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<std::int64_t>(b->bytes()));
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "alloc";
  nodegrad::ExpectArgCount(info, fn, 2, "length, dtype");
  // 2^40 elements: far beyond any device, but keeps length * 4 exact and positive.
  const std::int64_t length = nodegrad::IntArg(info, 0, fn, "length", 0, std::int64_t{1} << 40);
  const int dtype = nodegrad::EnumArg(info, 1, fn, "dtype", 2, "0 float32, 1 int32");
  DeviceBuffer* b = new DeviceBuffer();
  b->length = static_cast<std::size_t>(length);
  b->dtype = dtype;
  try {
    b->ptr = ngcuda::Malloc(b->bytes(), "a device buffer");
  } catch (...) {
    delete b;
    throw;
  }
  Napi::External<DeviceBuffer> ext = Napi::External<DeviceBuffer>::New(env, b, [](Napi::Env e, DeviceBuffer* d) {
    try {
      Release(e, d);
    } catch (...) {  // a finalizer must not throw; the memory is gone with the context anyway
    }
    delete d;
  });
  ext.TypeTag(&kBufferTag);
  g_live_bytes += static_cast<std::int64_t>(b->bytes());
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<std::int64_t>(b->bytes()));
  return ext;
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  nodegrad::ExpectArgCount(info, "free", 1, "buffer");
  Napi::Value v = info[0];
  if (!v.IsExternal() || !v.As<Napi::External<DeviceBuffer>>().CheckTypeTag(&kBufferTag)) {
    throw Napi::TypeError::New(info.Env(), ArgPrefix("free", "buffer") + "must be a CUDA buffer (from alloc), got " +
                                               Describe(v));
  }
  Release(info.Env(), v.As<Napi::External<DeviceBuffer>>().Data());  // freeing twice is allowed and does nothing
  return info.Env().Undefined();
}

// The typed array at info[index] matching b's dtype and length.
void* HostArray(const Napi::CallbackInfo& info, std::size_t index, const char* fn, const DeviceBuffer* b) {
  std::size_t length = 0;
  void* data = nullptr;
  if (b->dtype == kFloat32) {
    const nodegrad::F32Span s = nodegrad::Float32Arg(info, index, fn, "array");
    length = s.length;
    data = s.data;
  } else {
    const nodegrad::I32Span s = nodegrad::Int32Arg(info, index, fn, "array");
    length = s.length;
    data = s.data;
  }
  nodegrad::ExpectLength(info.Env(), fn, "array", length, b->length, "the buffer's length");
  return data;
}

Napi::Value Upload(const Napi::CallbackInfo& info) {
  const char* fn = "upload";
  nodegrad::ExpectArgCount(info, fn, 2, "buffer, array");
  DeviceBuffer* b = BufferArg(info, 0, fn, "buffer", kAnyDType);
  void* host = HostArray(info, 1, fn, b);
  ngcuda::CopyToDevice(b->ptr, host, b->bytes());
  return info.Env().Undefined();
}

Napi::Value Download(const Napi::CallbackInfo& info) {
  const char* fn = "download";
  nodegrad::ExpectArgCount(info, fn, 2, "buffer, array");
  DeviceBuffer* b = BufferArg(info, 0, fn, "buffer", kAnyDType);
  void* host = HostArray(info, 1, fn, b);
  ngcuda::CopyToHost(host, b->ptr, b->bytes());  // waits for the kernels that write b
  return info[1];
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  const char* fn = "fill";
  nodegrad::ExpectArgCount(info, fn, 2, "buffer, value");
  DeviceBuffer* b = BufferArg(info, 0, fn, "buffer", kFloat32);
  const double v = nodegrad::NumberArg(info, 1, fn, "value");
  ngcuda::FillF32(b->f32(), static_cast<std::int64_t>(b->length), static_cast<float>(v));
  return info.Env().Undefined();
}

Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "copy";
  nodegrad::ExpectArgCount(info, fn, 2, "dst, src");
  DeviceBuffer* dst = BufferArg(info, 0, fn, "dst", kAnyDType);
  DeviceBuffer* src = BufferArg(info, 1, fn, "src", dst->dtype);
  nodegrad::ExpectLength(env, fn, "src", src->length, dst->length, "dst's length");
  if (dst != src) ngcuda::CopyDeviceToDevice(dst->ptr, src->ptr, dst->bytes());
  return env.Undefined();
}

Napi::Value BufferInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nodegrad::ExpectArgCount(info, "bufferInfo", 1, "buffer");
  Napi::Value v = info[0];
  if (!v.IsExternal() || !v.As<Napi::External<DeviceBuffer>>().CheckTypeTag(&kBufferTag)) {
    throw Napi::TypeError::New(env, ArgPrefix("bufferInfo", "buffer") + "must be a CUDA buffer (from alloc), got " +
                                        Describe(v));
  }
  const DeviceBuffer* b = v.As<Napi::External<DeviceBuffer>>().Data();
  Napi::Object o = Napi::Object::New(env);
  o.Set("length", static_cast<double>(b->length));
  o.Set("dtype", DTypeName(b->dtype));
  o.Set("bytes", static_cast<double>(b->bytes()));
  o.Set("freed", b->freed);
  return o;
}

void InitBuffers(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "alloc", Alloc);
  Export(env, exports, "free", Free);
  Export(env, exports, "upload", Upload);
  Export(env, exports, "download", Download);
  Export(env, exports, "fill", Fill);
  Export(env, exports, "copy", Copy);
  Export(env, exports, "bufferInfo", BufferInfo);
  Napi::Object codes = Napi::Object::New(env);
  codes.Set("float32", static_cast<int>(kFloat32));
  codes.Set("int32", static_cast<int>(kInt32));
  codes.Freeze();
  exports.Set("dtypeCodes", codes);
}

}  // namespace

NGC_REGISTER_EXPORTS(buffers, InitBuffers);

DeviceBuffer* BufferArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn, const char* arg, int dtype) {
  Napi::Env env = info.Env();
  Napi::Value v = info[index];
  if (!v.IsExternal() || !v.As<Napi::External<DeviceBuffer>>().CheckTypeTag(&kBufferTag)) {
    throw Napi::TypeError::New(env, ArgPrefix(fn, arg) + "must be a CUDA buffer (from alloc), got " + Describe(v));
  }
  DeviceBuffer* b = v.As<Napi::External<DeviceBuffer>>().Data();
  if (b->freed) throw Napi::Error::New(env, ArgPrefix(fn, arg) + "is a CUDA buffer that was already freed");
  if (dtype != kAnyDType && b->dtype != dtype) {
    throw Napi::TypeError::New(env, ArgPrefix(fn, arg) + "must be " + (dtype == kInt32 ? "an int32" : "a float32") +
                                        " buffer, got " + (b->dtype == kInt32 ? "an int32" : "a float32") + " buffer");
  }
  return b;
}

DeviceBuffer* OptionalBufferArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn, const char* arg,
                                int dtype) {
  if (info[index].IsNull() || info[index].IsUndefined()) return nullptr;
  return BufferArg(info, index, fn, arg, dtype);
}

void ExpectDistinct(Napi::Env env, const char* fn, const char* out_name, const DeviceBuffer* out, const char* in_name,
                    const DeviceBuffer* in) {
  if (out != nullptr && out == in) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, out_name) + "is the same buffer as '" + in_name +
                                         "'; pass a separate output buffer");
  }
}

void ExpectCheckedPositions(Napi::Env env, const char* fn, const char* arg, const DeviceBuffer* b) {
  if (static_cast<std::uint64_t>(b->length) >= static_cast<std::uint64_t>(ngcuda::kMaxCheckedPositions)) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, arg) + "has " + std::to_string(b->length) +
                                         " elements; index checks on the device take fewer than 2^32");
  }
}

std::int64_t LiveBufferBytes() { return g_live_bytes.load(); }

}  // namespace ngcuda_addon
