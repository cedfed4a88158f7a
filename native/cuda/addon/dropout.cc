// Dropout entry (ngcuda/dropout.h), bit-identical to the CPU's draw:
//   dropoutF32(x, y, mask, rate, seed)   y, mask of x's length; y may be x, mask may not; seed an integer in [0, 2^53)
#include <cstdint>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/dropout.h"

namespace ngcuda_addon {

namespace {

Napi::Value Dropout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "dropoutF32";
  nodegrad::ExpectArgCount(info, fn, 5, "x, y, mask, rate, seed");
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kFloat32);
  DeviceBuffer* y = BufferArg(info, 1, fn, "y", kFloat32);
  DeviceBuffer* mask = BufferArg(info, 2, fn, "mask", kFloat32);
  const double rate = nodegrad::NumberArg(info, 3, fn, "rate");
  const std::int64_t seed = nodegrad::IntArg(info, 4, fn, "seed", 0, 9007199254740991LL);
  if (!(rate < 1)) {  // NaN too: the ops layer guarantees 0 <= rate < 1
    throw Napi::RangeError::New(env, nodegrad::ArgPrefix(fn, "rate") + "must be < 1, got " + Napi::Number::New(env, rate).ToString().Utf8Value());
  }
  nodegrad::ExpectLength(env, fn, "y", y->length, x->length, "x's length");
  nodegrad::ExpectLength(env, fn, "mask", mask->length, x->length, "x's length");
  ExpectDistinct(env, fn, "mask", mask, "x", x);
  ExpectDistinct(env, fn, "mask", mask, "y", y);
  ngcuda::DropoutF32(x->f32(), y->f32(), mask->f32(), static_cast<std::int64_t>(x->length), rate,
                     static_cast<std::uint64_t>(seed));
  return env.Undefined();
}

void InitDropout(Napi::Env env, Napi::Object exports) { Export(env, exports, "dropoutF32", Dropout); }

}  // namespace

NGC_REGISTER_EXPORTS(dropout, InitDropout);

}  // namespace ngcuda_addon
