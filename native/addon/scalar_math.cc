// Broadcasting binary arithmetic and scalar unary maths (native/runtime/scalar_math.h has which ops) on Float32Array data.
// Broadcast shapes and strides are worked out in src/backends/native/elementwise.ts; these check types, lengths,
// codes and that every strided read stays inside its array:
//   broadcastBinaryF32(opCode, a, b, out, outShape, aStrides, bStrides)   broadcastBinaryOpCodes
//   mathUnaryF32(opCode, x, y)                                              mathUnaryOpCodes; y may be x itself
// outShape and the strides are Int32Arrays of one entry per axis (at most 8; stride 0 on a broadcast axis).
#include "args.h"
#include "entry.h"
#include "../runtime/scalar_math.h"

namespace nodegrad {
namespace {

const char* const kBinaryNames[kBroadcastBinaryOpCount] = {
    "add", "sub", "mul", "div", "maximum", "minimum", "floorDiv", "atan2", "squaredDifference"};
const char* const kUnaryNames[kMathUnaryOpCount] = {"sign", "rsqrt", "reciprocal", "expm1", "sin",  "cos",  "tan",
                                                     "atan", "sinh",  "cosh",       "floor", "ceil", "round"};

const char* const kBinaryFn = "broadcastBinaryF32";
const char* const kBinaryCodes =
    "0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 minimum, 6 floorDiv, 7 atan2, 8 squaredDifference";
Napi::Value BroadcastBinary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kBinaryFn, 7, "opCode, a, b, out, outShape, aStrides, bStrides");
  const int op = EnumArg(info, 0, kBinaryFn, "opCode", kBroadcastBinaryOpCount, kBinaryCodes);
  const F32Span a = Float32Arg(info, 1, kBinaryFn, "a");
  const F32Span b = Float32Arg(info, 2, kBinaryFn, "b");
  const F32Span out = Float32Arg(info, 3, kBinaryFn, "out");
  size_t n = 0;
  ng_broadcast_plan plan = BroadcastShapeArg(info, 4, kBinaryFn, &n);
  BroadcastStridesArg(info, 5, kBinaryFn, "aStrides", "a", a.length, n, 0, &plan);
  BroadcastStridesArg(info, 6, kBinaryFn, "bStrides", "b", b.length, n, 1, &plan);
  ExpectLength(env, kBinaryFn, "out", out.length, n, "prod(outShape)");
  // Threads write rows while others may still read a broadcast input: out must not overlap either.
  ExpectDisjoint(env, kBinaryFn, "out", out, "a", a);
  ExpectDisjoint(env, kBinaryFn, "out", out, "b", b);
  BroadcastBinaryF32(op, a.data, b.data, out.data, plan);
  return env.Undefined();
}

const char* const kUnaryFn = "mathUnaryF32";
const char* const kUnaryCodes =
    "0 sign, 1 rsqrt, 2 reciprocal, 3 expm1, 4 sin, 5 cos, 6 tan, 7 atan, 8 sinh, 9 cosh, 10 floor, 11 ceil, "
    "12 round";
Napi::Value MathUnary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kUnaryFn, 3, "opCode, x, y");
  const int op = EnumArg(info, 0, kUnaryFn, "opCode", kMathUnaryOpCount, kUnaryCodes);
  const F32Span x = Float32Arg(info, 1, kUnaryFn, "x");
  const F32Span y = Float32Arg(info, 2, kUnaryFn, "y");
  ExpectLength(env, kUnaryFn, "y", y.length, x.length, "x's length");
  ExpectDisjoint(env, kUnaryFn, "y", y, "x", x, true);
  MathUnaryF32(op, x.data, y.data, x.length);
  return env.Undefined();
}

Napi::Object Codes(Napi::Env env, const char* const* names, int count) {
  Napi::Object codes = Napi::Object::New(env);
  for (int i = 0; i < count; ++i) codes.Set(names[i], Napi::Number::New(env, i));
  codes.Freeze();
  return codes;
}

void InitScalarMath(Napi::Env env, Napi::Object exports) {
  exports.Set("broadcastBinaryF32", Napi::Function::New(env, BroadcastBinary, kBinaryFn));
  exports.Set("broadcastBinaryOpCodes", Codes(env, kBinaryNames, kBroadcastBinaryOpCount));
  exports.Set("mathUnaryF32", Napi::Function::New(env, MathUnary, kUnaryFn));
  exports.Set("mathUnaryOpCodes", Codes(env, kUnaryNames, kMathUnaryOpCount));
}

}  // namespace

NG_REGISTER_EXPORTS(scalar_math, InitScalarMath);

}  // namespace nodegrad
