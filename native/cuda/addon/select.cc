// Comparison, selection and conversion entries (ngcuda/select.h), the reference backend's semantics on device
// buffers. Broadcasting arrives as per-input strides over the output shape (0 on broadcast axes), worked out by
// src/backends/cuda/kernels.ts; every read is checked to stay inside its buffer:
//   compare(opCode, a, b, out, outShape, aStrides, bStrides)          a, b float32 or int32 (same); out int32 0/1
//   where(cond, a, b, out, outShape, condStrides, aStrides, bStrides)  cond int32; a, b, out one dtype
//   clip(x, out, lo, hi)                                               x, out one dtype; out may be x
//   cast(x, out)                                                       float32 <-> int32 (or a copy); out may not be x
//   argReduce(opCode, x, out, outer, len, inner)                       x [outer, len, inner] -> out int32 [outer, inner]
#include <cstdint>
#include <string>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/common.h"
#include "ngcuda/select.h"
#include "shape_args.h"

namespace ngcuda_addon {

namespace {

constexpr std::int64_t kSafe = 9007199254740991;  // 2^53 - 1
const char* const kCompareCodes =
    "0 equal, 1 notEqual, 2 less, 3 lessEqual, 4 greater, 5 greaterEqual, 6 logicalAnd, 7 logicalOr";
const char* const kCompareNames[] = {"equal", "notEqual", "less", "lessEqual", "greater", "greaterEqual", "logicalAnd",
                                     "logicalOr"};
static_assert(sizeof(kCompareNames) / sizeof(kCompareNames[0]) == ngcuda::kCompareOpCount, "name every compare op code");

Napi::Value Compare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "compare";
  nodegrad::ExpectArgCount(info, fn, 7, "opCode, a, b, out, outShape, aStrides, bStrides");
  const int op = nodegrad::EnumArg(info, 0, fn, "opCode", ngcuda::kCompareOpCount, kCompareCodes);
  DeviceBuffer* a = BufferArg(info, 1, fn, "a", kAnyDType);
  DeviceBuffer* b = BufferArg(info, 2, fn, "b", kAnyDType);
  DeviceBuffer* out = BufferArg(info, 3, fn, "out", kInt32);
  ExpectSameDType(env, fn, "a", a, "b", b);
  ExpectDistinct(env, fn, "out", out, "a", a);
  ExpectDistinct(env, fn, "out", out, "b", b);
  const ngcuda::BroadcastPlan plan = ReadPlan(info, fn, 4, {a, b}, {"a", "b"}, out);
  ngcuda::Compare(op, a->dtype == kInt32, a->ptr, b->ptr, out->i32(), plan);
  return env.Undefined();
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "where";
  nodegrad::ExpectArgCount(info, fn, 8, "cond, a, b, out, outShape, condStrides, aStrides, bStrides");
  DeviceBuffer* cond = BufferArg(info, 0, fn, "cond", kInt32);
  DeviceBuffer* a = BufferArg(info, 1, fn, "a", kAnyDType);
  DeviceBuffer* b = BufferArg(info, 2, fn, "b", kAnyDType);
  DeviceBuffer* out = BufferArg(info, 3, fn, "out", kAnyDType);
  ExpectSameDType(env, fn, "a", a, "b", b);
  ExpectSameDType(env, fn, "a", a, "out", out);
  ExpectDistinct(env, fn, "out", out, "cond", cond);
  ExpectDistinct(env, fn, "out", out, "a", a);
  ExpectDistinct(env, fn, "out", out, "b", b);
  const ngcuda::BroadcastPlan plan = ReadPlan(info, fn, 4, {cond, a, b}, {"cond", "a", "b"}, out);
  ngcuda::Where32(cond->i32(), static_cast<const std::uint32_t*>(a->ptr), static_cast<const std::uint32_t*>(b->ptr),
                  static_cast<std::uint32_t*>(out->ptr), plan);
  return env.Undefined();
}

Napi::Value Clip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "clip";
  nodegrad::ExpectArgCount(info, fn, 4, "x, out, lo, hi");
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kAnyDType);
  DeviceBuffer* out = BufferArg(info, 1, fn, "out", kAnyDType);
  ExpectSameDType(env, fn, "x", x, "out", out);
  const double lo = nodegrad::NumberArg(info, 2, fn, "lo");
  const double hi = nodegrad::NumberArg(info, 3, fn, "hi");
  nodegrad::ExpectLength(env, fn, "out", out->length, x->length, "x's length");
  const std::int64_t n = static_cast<std::int64_t>(x->length);
  if (x->dtype == kInt32) ngcuda::ClipI32(x->i32(), out->i32(), n, lo, hi);
  else ngcuda::ClipF32(x->f32(), out->f32(), n, lo, hi);
  return env.Undefined();
}

Napi::Value Cast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "cast";
  nodegrad::ExpectArgCount(info, fn, 2, "x, out");
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kAnyDType);
  DeviceBuffer* out = BufferArg(info, 1, fn, "out", kAnyDType);
  ExpectDistinct(env, fn, "out", out, "x", x);
  nodegrad::ExpectLength(env, fn, "out", out->length, x->length, "x's length");
  const std::int64_t n = static_cast<std::int64_t>(x->length);
  if (n == 0) return env.Undefined();
  if (x->dtype == out->dtype) ngcuda::CopyDeviceToDevice(out->ptr, x->ptr, x->bytes());
  else if (x->dtype == kFloat32) ngcuda::CastF32ToI32(x->f32(), out->i32(), n);
  else ngcuda::CastI32ToF32(x->i32(), out->f32(), n);
  return env.Undefined();
}

Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "argReduce";
  nodegrad::ExpectArgCount(info, fn, 6, "opCode, x, out, outer, len, inner");
  const int op = nodegrad::EnumArg(info, 0, fn, "opCode", 2, "0 argMax, 1 argMin");
  DeviceBuffer* x = BufferArg(info, 1, fn, "x", kAnyDType);
  DeviceBuffer* out = BufferArg(info, 2, fn, "out", kInt32);
  ExpectDistinct(env, fn, "out", out, "x", x);
  const std::int64_t outer = nodegrad::IntArg(info, 3, fn, "outer", 0, kSafe);
  const std::int64_t len = nodegrad::IntArg(info, 4, fn, "len", 0, 2147483647);  // indices are int32
  const std::int64_t inner = nodegrad::IntArg(info, 5, fn, "inner", 0, kSafe);
  nodegrad::ExpectLength(env, fn, "x", x->length, nodegrad::SaturatingMul(nodegrad::SaturatingMul(outer, len), inner),
                         "outer * len * inner");
  nodegrad::ExpectLength(env, fn, "out", out->length, nodegrad::SaturatingMul(outer, inner), "outer * inner");
  ngcuda::ArgReduce(op == 1, x->dtype == kInt32, x->ptr, out->i32(), outer, len, inner);
  return env.Undefined();
}

void InitSelect(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "compare", Compare);
  Export(env, exports, "where", Where);
  Export(env, exports, "clip", Clip);
  Export(env, exports, "cast", Cast);
  Export(env, exports, "argReduce", ArgReduce);
  Napi::Object cmp = Napi::Object::New(env);
  for (int i = 0; i < ngcuda::kCompareOpCount; ++i) cmp.Set(kCompareNames[i], i);
  cmp.Freeze();
  exports.Set("compareOpCodes", cmp);
  Napi::Object arg = Napi::Object::New(env);
  arg.Set("argMax", 0);
  arg.Set("argMin", 1);
  arg.Freeze();
  exports.Set("argReduceOpCodes", arg);
}

}  // namespace

NGC_REGISTER_EXPORTS(select, InitSelect);

}  // namespace ngcuda_addon
