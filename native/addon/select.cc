// Selection and conversion entries (native/runtime/select.h): the Backend's compare, where, clip and cast on
// Float32Array or Int32Array data. Broadcast shapes and strides are worked out in src/backends/native/select.ts;
// these check types, lengths and that every strided read stays inside its array:
//   compare(opCode, a, b, out, outShape, aStrides, bStrides)              out Int32Array 0/1 (compareOpCodes)
//   where32(cond, a, b, out, outShape, condStrides, aStrides, bStrides)   cond Int32Array; a, b, out one type
//   clip(x, out, lo, hi)                                                   x, out one type, same length
//   cast(x, out)                                                           any of the two types each, same length
// outShape and the strides are Int32Arrays of one entry per axis (at most 8; stride 0 on a broadcast axis).
#include <stdint.h>
#include <string.h>

#include "args.h"
#include "entry.h"
#include "../runtime/select.h"

namespace nodegrad {
namespace {

const char* const kCompareFn = "compare";
const char* const kCompareCodes =
    "0 equal, 1 notEqual, 2 less, 3 lessEqual, 4 greater, 5 greaterEqual, 6 logicalAnd, 7 logicalOr";
Napi::Value Compare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kCompareFn, 7, "opCode, a, b, out, outShape, aStrides, bStrides");
  const int op = EnumArg(info, 0, kCompareFn, "opCode", NG_CMP_OP_COUNT, kCompareCodes);
  const W32Span a = Word32Arg(info, 1, kCompareFn, "a");
  const W32Span b = Word32Arg(info, 2, kCompareFn, "b");
  ExpectSameType(env, kCompareFn, "a", a, "b", b);
  const I32Span out = Int32Arg(info, 3, kCompareFn, "out");
  size_t n = 0;
  ng_broadcast_plan plan = BroadcastShapeArg(info, 4, kCompareFn, &n);
  BroadcastStridesArg(info, 5, kCompareFn, "aStrides", "a", a.length, n, 0, &plan);
  BroadcastStridesArg(info, 6, kCompareFn, "bStrides", "b", b.length, n, 1, &plan);
  ExpectLength(env, kCompareFn, "out", out.length, n, "prod(outShape)");
  ExpectDisjoint(env, kCompareFn, "out", out.bytes(), "a", a.bytes());
  ExpectDisjoint(env, kCompareFn, "out", out.bytes(), "b", b.bytes());
  nodegrad::Compare(op, a.is_int, a.data, b.data, out.data, plan);
  return env.Undefined();
}

const char* const kWhereFn = "where32";
Napi::Value Where(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kWhereFn, 8, "cond, a, b, out, outShape, condStrides, aStrides, bStrides");
  const I32Span cond = Int32Arg(info, 0, kWhereFn, "cond");
  const W32Span a = Word32Arg(info, 1, kWhereFn, "a");
  const W32Span b = Word32Arg(info, 2, kWhereFn, "b");
  const W32Span out = Word32Arg(info, 3, kWhereFn, "out");
  ExpectSameType(env, kWhereFn, "a", a, "b", b);
  ExpectSameType(env, kWhereFn, "a", a, "out", out);
  size_t n = 0;
  ng_broadcast_plan plan = BroadcastShapeArg(info, 4, kWhereFn, &n);
  BroadcastStridesArg(info, 5, kWhereFn, "condStrides", "cond", cond.length, n, 0, &plan);
  BroadcastStridesArg(info, 6, kWhereFn, "aStrides", "a", a.length, n, 1, &plan);
  BroadcastStridesArg(info, 7, kWhereFn, "bStrides", "b", b.length, n, 2, &plan);
  ExpectLength(env, kWhereFn, "out", out.length, n, "prod(outShape)");
  ExpectDisjoint(env, kWhereFn, "out", out.bytes(), "cond", cond.bytes());
  ExpectDisjoint(env, kWhereFn, "out", out.bytes(), "a", a.bytes());
  ExpectDisjoint(env, kWhereFn, "out", out.bytes(), "b", b.bytes());
  Where32(cond.data, a.data, b.data, out.data, plan);
  return env.Undefined();
}

const char* const kClipFn = "clip";
Napi::Value Clip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kClipFn, 4, "x, out, lo, hi");
  const W32Span x = Word32Arg(info, 0, kClipFn, "x");
  const W32Span out = Word32Arg(info, 1, kClipFn, "out");
  ExpectSameType(env, kClipFn, "x", x, "out", out);
  const double lo = NumberArg(info, 2, kClipFn, "lo");
  const double hi = NumberArg(info, 3, kClipFn, "hi");
  ExpectLength(env, kClipFn, "out", out.length, x.length, "x's length");
  ExpectDisjoint(env, kClipFn, "out", out.bytes(), "x", x.bytes(), true);
  if (x.is_int) {
    ClipI32(reinterpret_cast<const int32_t*>(x.data), reinterpret_cast<int32_t*>(out.data), x.length, lo, hi);
  } else {
    ClipF32(reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(out.data), x.length, lo, hi);
  }
  return env.Undefined();
}

const char* const kCastFn = "cast";
Napi::Value Cast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kCastFn, 2, "x, out");
  const W32Span x = Word32Arg(info, 0, kCastFn, "x");
  const W32Span out = Word32Arg(info, 1, kCastFn, "out");
  ExpectLength(env, kCastFn, "out", out.length, x.length, "x's length");
  ExpectDisjoint(env, kCastFn, "out", out.bytes(), "x", x.bytes(), true);
  if (x.is_int == out.is_int) {
    if (out.data != x.data && x.length > 0) memcpy(out.data, x.data, x.length * sizeof(uint32_t));
  } else if (x.is_int) {
    CastI32ToF32(reinterpret_cast<const int32_t*>(x.data), reinterpret_cast<float*>(out.data), x.length);
  } else {
    CastF32ToI32(reinterpret_cast<const float*>(x.data), reinterpret_cast<int32_t*>(out.data), x.length);
  }
  return env.Undefined();
}

void InitSelect(Napi::Env env, Napi::Object exports) {
  exports.Set("compare", Napi::Function::New(env, Compare, kCompareFn));
  exports.Set("where32", Napi::Function::New(env, Where, kWhereFn));
  exports.Set("clip", Napi::Function::New(env, Clip, kClipFn));
  exports.Set("cast", Napi::Function::New(env, Cast, kCastFn));
  Napi::Object codes = Napi::Object::New(env);
  static const char* const kNames[NG_CMP_OP_COUNT] = {"equal", "notEqual", "less", "lessEqual", "greater",
                                                  "greaterEqual", "logicalAnd", "logicalOr"};
  for (int i = 0; i < NG_CMP_OP_COUNT; ++i) codes.Set(kNames[i], Napi::Number::New(env, i));
  codes.Freeze();
  exports.Set("compareOpCodes", codes);
}

}  // namespace

NG_REGISTER_EXPORTS(select, InitSelect);

}  // namespace nodegrad
