#include "shape_args.h"

#include <cmath>
#include <string>

#include "args.h"

namespace ngcuda_addon {

using nodegrad::ArgPrefix;

std::vector<std::int64_t> IntListArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn, const char* arg,
                                     std::size_t max_len, std::int64_t want_len, std::int64_t min, std::int64_t max) {
  Napi::Env env = info.Env();
  const Napi::Value v = info[index];
  if (!v.IsArray()) {
    throw Napi::TypeError::New(env, ArgPrefix(fn, arg) + "must be an Array of integers, got " + nodegrad::Describe(v));
  }
  const Napi::Array a = v.As<Napi::Array>();
  const std::size_t n = a.Length();
  if (want_len >= 0 && n != static_cast<std::size_t>(want_len)) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, arg) + "must have " + std::to_string(want_len) + " entries (one per axis), got " +
                                         std::to_string(n));
  }
  if (n > max_len) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, arg) + "has " + std::to_string(n) + " entries; at most " +
                                         std::to_string(max_len) + " axes are supported");
  }
  std::vector<std::int64_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Napi::Value e = a.Get(static_cast<std::uint32_t>(i));
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
    if (!(d == std::trunc(d)) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
      throw Napi::RangeError::New(env, ArgPrefix(fn, arg) + "entry " + std::to_string(i) + " must be an integer in [" +
                                           std::to_string(min) + ", " + std::to_string(max) + "], got " +
                                           (e.IsNumber() ? e.ToString().Utf8Value() : nodegrad::Describe(e)));
    }
    out[i] = static_cast<std::int64_t>(d);
  }
  return out;
}

std::int64_t ProductOf(const std::vector<std::int64_t>& v) {
  double p = 1;
  for (std::int64_t x : v) p *= static_cast<double>(x);
  return p > 9007199254740992.0 ? -1 : static_cast<std::int64_t>(p);
}

const char* DTypeName(int dtype) { return dtype == kInt32 ? "int32" : "float32"; }

void ExpectSameDType(Napi::Env env, const char* fn, const char* a_name, const DeviceBuffer* a, const char* b_name,
                     const DeviceBuffer* b) {
  if (a->dtype != b->dtype) {
    throw Napi::TypeError::New(env, ArgPrefix(fn, b_name) + "is " + DTypeName(b->dtype) + " but '" + a_name + "' is " +
                                        DTypeName(a->dtype) + "; they must share a dtype");
  }
}

}  // namespace ngcuda_addon
