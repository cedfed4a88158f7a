// binaryF32(opCode, a, b, out): checks its arguments, then hands them to the dispatched elementwise kernel.
#include <string>

#include "args.h"
#include "entry.h"
#include "nodegrad/dispatch.h"

namespace nodegrad {

static const char* const kFn = "binaryF32";

// out[i] = a[i] op b[i % b.length]; b.length is a.length, 1, or a divisor of it (a row over the last axes).
// out.length == a.length. out may be a itself, or b itself when b.length == a.length; any other overlap of
// out with an input is rejected because SIMD and scalar orders would then give different results.
static Napi::Value BinaryF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kFn, 4, "opCode, a, b, out");
  const int op = EnumArg(info, 0, kFn, "opCode", NG_BINARY_OP_COUNT, "0 add, 1 sub, 2 mul, 3 div");
  const F32Span a = Float32Arg(info, 1, kFn, "a");
  const F32Span b = Float32Arg(info, 2, kFn, "b");
  const F32Span out = Float32Arg(info, 3, kFn, "out");

  const size_t n = a.length, bn = b.length;
  if (out.length != n) {
    throw Napi::RangeError::New(env, std::string(kFn) + ": argument 'out' has length " + std::to_string(out.length) +
                                         " but 'a' has length " + std::to_string(n) + "; they must be equal");
  }
  const bool b_ok = bn == n || (bn >= 1 && n % bn == 0);
  if (!b_ok) {
    throw Napi::RangeError::New(env, std::string(kFn) + ": argument 'b' has length " + std::to_string(bn) +
                                         ", which must equal a's length " + std::to_string(n) +
                                         ", be 1, or divide it (a row repeated over the last axes)");
  }
  if (Overlaps(out, a) && out.data != a.data) {
    throw Napi::RangeError::New(env, std::string(kFn) +
                                         ": argument 'out' partly overlaps 'a'; out may be a itself or a separate array");
  }
  if (Overlaps(out, b) && !(out.data == b.data && bn == n)) {
    throw Napi::RangeError::New(env, std::string(kFn) +
                                         ": argument 'out' overlaps 'b'; out may be b itself only when b has a's "
                                         "length, otherwise use a separate array");
  }

  ng_dispatch_get()->kernels.f32_binary(op, a.data, b.data, out.data, n, bn);
  return env.Undefined();
}

static void InitBinary(Napi::Env env, Napi::Object exports) {
  exports.Set("binaryF32", Napi::Function::New(env, BinaryF32, kFn));
  Napi::Object codes = Napi::Object::New(env);
  codes.Set("add", Napi::Number::New(env, NG_BINARY_ADD));
  codes.Set("sub", Napi::Number::New(env, NG_BINARY_SUB));
  codes.Set("mul", Napi::Number::New(env, NG_BINARY_MUL));
  codes.Set("div", Napi::Number::New(env, NG_BINARY_DIV));
  codes.Freeze();
  exports.Set("binaryOpCodes", codes);
}

NG_REGISTER_EXPORTS(binary, InitBinary);

}  // namespace nodegrad
