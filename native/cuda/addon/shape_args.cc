#include "shape_args.h"

#include <cmath>
#include <string>

#include "args.h"

namespace ngcuda_addon {

using nodegrad::ArgPrefix;
constexpr std::int64_t kSafe = 9007199254740991;  // 2^53 - 1

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

ngcuda::BroadcastPlan ReadPlan(const Napi::CallbackInfo& info, const char* fn, std::size_t shape_index,
                               const std::vector<const DeviceBuffer*>& ins, const std::vector<const char*>& names,
                               const DeviceBuffer* out) {
  Napi::Env env = info.Env();
  const auto shape = IntListArg(info, shape_index, fn, "outShape", ngcuda::kMaxBroadcastRank, -1, 0, kSafe);
  const std::int64_t rank = static_cast<std::int64_t>(shape.size());
  const std::int64_t n = ProductOf(shape);
  nodegrad::ExpectLength(env, fn, "out", out->length, n < 0 ? SIZE_MAX : static_cast<std::size_t>(n), "prod(outShape)");
  ngcuda::BroadcastPlan plan;
  plan.rank = static_cast<int>(rank);
  for (std::int64_t a = 0; a < rank; ++a) plan.out_shape[a] = shape[a];
  for (std::size_t k = 0; k < ins.size(); ++k) {
    const std::string arg = std::string(names[k]) + "Strides";
    const auto st = IntListArg(info, shape_index + 1 + k, fn, arg.c_str(), ngcuda::kMaxBroadcastRank, rank, 0, kSafe);
    double last = 0;
    for (std::int64_t a = 0; a < rank; ++a) {
      plan.stride[k][a] = st[a];
      last += static_cast<double>(shape[a] > 0 ? shape[a] - 1 : 0) * static_cast<double>(st[a]);
    }
    if (n > 0 && last >= static_cast<double>(ins[k]->length)) {
      throw Napi::RangeError::New(env, ArgPrefix(fn, arg.c_str()) + "reach element " + std::to_string(static_cast<std::int64_t>(last)) +
                                           " of '" + names[k] + "', which has " + std::to_string(ins[k]->length));
    }
  }
  return plan;
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
