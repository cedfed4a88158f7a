// Batch-norm entries, the CPU addon's (native/addon/norm.cc) with device buffers; c is gamma's length and x is
// [rows, c]:
//   batchNormTrainF32(x, gamma, beta, epsilon, y, mean, variance)
//   batchNormInferF32(x, gamma, beta, mean, variance, epsilon, y)
//   batchNormBackwardF32(training, dy, x, gamma, mean, variance, epsilon, dx, dgamma, dbeta)
#include <cmath>
#include <cstdint>
#include <string>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/norm.h"

namespace ngcuda_addon {

namespace {

using nodegrad::ArgPrefix;

std::int64_t RowsOf(Napi::Env env, const char* fn, const DeviceBuffer* x, std::size_t c) {
  if (c == 0 ? x->length != 0 : x->length % c != 0) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, "x") + "has length " + std::to_string(x->length) +
                                         ", which is not a multiple of the channel count " + std::to_string(c) +
                                         " (gamma's length)");
  }
  return c == 0 ? 0 : static_cast<std::int64_t>(x->length / c);
}

double EpsilonArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn) {
  const double e = nodegrad::NumberArg(info, index, fn, "epsilon");
  if (!(e >= 0.0) || !std::isfinite(e)) {
    throw Napi::RangeError::New(info.Env(), ArgPrefix(fn, "epsilon") + "must be a finite number >= 0, got " +
                                                info[index].ToString().Utf8Value());
  }
  return e;
}

// Every output distinct from every input and from the other outputs.
void ExpectAllDistinct(Napi::Env env, const char* fn, DeviceBuffer* const* outs, const char* const* out_names, int nout,
                       DeviceBuffer* const* ins, const char* const* in_names, int nin) {
  for (int i = 0; i < nout; ++i) {
    for (int j = 0; j < nin; ++j) ExpectDistinct(env, fn, out_names[i], outs[i], in_names[j], ins[j]);
    for (int j = 0; j < i; ++j) ExpectDistinct(env, fn, out_names[i], outs[i], out_names[j], outs[j]);
  }
}

Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "batchNormTrainF32";
  nodegrad::ExpectArgCount(info, fn, 7, "x, gamma, beta, epsilon, y, mean, variance");
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kFloat32);
  DeviceBuffer* gamma = BufferArg(info, 1, fn, "gamma", kFloat32);
  DeviceBuffer* beta = BufferArg(info, 2, fn, "beta", kFloat32);
  const double eps = EpsilonArg(info, 3, fn);
  DeviceBuffer* y = BufferArg(info, 4, fn, "y", kFloat32);
  DeviceBuffer* mean = BufferArg(info, 5, fn, "mean", kFloat32);
  DeviceBuffer* var = BufferArg(info, 6, fn, "variance", kFloat32);
  const std::size_t c = gamma->length;
  const std::int64_t rows = RowsOf(env, fn, x, c);
  nodegrad::ExpectLength(env, fn, "beta", beta->length, c, "gamma's length");
  nodegrad::ExpectLength(env, fn, "y", y->length, x->length, "x's length");
  nodegrad::ExpectLength(env, fn, "mean", mean->length, c, "gamma's length");
  nodegrad::ExpectLength(env, fn, "variance", var->length, c, "gamma's length");
  DeviceBuffer* outs[] = {y, mean, var};
  const char* const out_names[] = {"y", "mean", "variance"};
  DeviceBuffer* ins[] = {x, gamma, beta};
  const char* const in_names[] = {"x", "gamma", "beta"};
  ExpectAllDistinct(env, fn, outs, out_names, 3, ins, in_names, 3);
  ngcuda::BatchNormTrain(x->f32(), rows, static_cast<std::int64_t>(c), gamma->f32(), beta->f32(), eps, y->f32(),
                         mean->f32(), var->f32());
  return env.Undefined();
}

Napi::Value BatchNormInfer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "batchNormInferF32";
  nodegrad::ExpectArgCount(info, fn, 7, "x, gamma, beta, mean, variance, epsilon, y");
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kFloat32);
  DeviceBuffer* gamma = BufferArg(info, 1, fn, "gamma", kFloat32);
  DeviceBuffer* beta = BufferArg(info, 2, fn, "beta", kFloat32);
  DeviceBuffer* mean = BufferArg(info, 3, fn, "mean", kFloat32);
  DeviceBuffer* var = BufferArg(info, 4, fn, "variance", kFloat32);
  const double eps = EpsilonArg(info, 5, fn);
  DeviceBuffer* y = BufferArg(info, 6, fn, "y", kFloat32);
  const std::size_t c = gamma->length;
  const std::int64_t rows = RowsOf(env, fn, x, c);
  nodegrad::ExpectLength(env, fn, "beta", beta->length, c, "gamma's length");
  nodegrad::ExpectLength(env, fn, "mean", mean->length, c, "gamma's length");
  nodegrad::ExpectLength(env, fn, "variance", var->length, c, "gamma's length");
  nodegrad::ExpectLength(env, fn, "y", y->length, x->length, "x's length");
  DeviceBuffer* outs[] = {y};
  const char* const out_names[] = {"y"};
  DeviceBuffer* ins[] = {x, gamma, beta, mean, var};
  const char* const in_names[] = {"x", "gamma", "beta", "mean", "variance"};
  ExpectAllDistinct(env, fn, outs, out_names, 1, ins, in_names, 5);
  ngcuda::BatchNormInfer(x->f32(), rows, static_cast<std::int64_t>(c), gamma->f32(), beta->f32(), mean->f32(),
                         var->f32(), eps, y->f32());
  return env.Undefined();
}

Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "batchNormBackwardF32";
  nodegrad::ExpectArgCount(info, fn, 10, "training, dy, x, gamma, mean, variance, epsilon, dx, dgamma, dbeta");
  const bool training = nodegrad::BoolArg(info, 0, fn, "training");
  DeviceBuffer* dy = BufferArg(info, 1, fn, "dy", kFloat32);
  DeviceBuffer* x = BufferArg(info, 2, fn, "x", kFloat32);
  DeviceBuffer* gamma = BufferArg(info, 3, fn, "gamma", kFloat32);
  DeviceBuffer* mean = BufferArg(info, 4, fn, "mean", kFloat32);
  DeviceBuffer* var = BufferArg(info, 5, fn, "variance", kFloat32);
  const double eps = EpsilonArg(info, 6, fn);
  DeviceBuffer* dx = BufferArg(info, 7, fn, "dx", kFloat32);
  DeviceBuffer* dgamma = BufferArg(info, 8, fn, "dgamma", kFloat32);
  DeviceBuffer* dbeta = BufferArg(info, 9, fn, "dbeta", kFloat32);
  const std::size_t c = gamma->length;
  const std::int64_t rows = RowsOf(env, fn, x, c);
  nodegrad::ExpectLength(env, fn, "dy", dy->length, x->length, "x's length");
  nodegrad::ExpectLength(env, fn, "mean", mean->length, c, "gamma's length");
  nodegrad::ExpectLength(env, fn, "variance", var->length, c, "gamma's length");
  nodegrad::ExpectLength(env, fn, "dx", dx->length, x->length, "x's length");
  nodegrad::ExpectLength(env, fn, "dgamma", dgamma->length, c, "gamma's length");
  nodegrad::ExpectLength(env, fn, "dbeta", dbeta->length, c, "gamma's length");
  DeviceBuffer* outs[] = {dx, dgamma, dbeta};
  const char* const out_names[] = {"dx", "dgamma", "dbeta"};
  DeviceBuffer* ins[] = {dy, x, gamma, mean, var};
  const char* const in_names[] = {"dy", "x", "gamma", "mean", "variance"};
  ExpectAllDistinct(env, fn, outs, out_names, 3, ins, in_names, 5);
  ngcuda::BatchNormBackward(training, dy->f32(), x->f32(), rows, static_cast<std::int64_t>(c), gamma->f32(),
                            mean->f32(), var->f32(), eps, dx->f32(), dgamma->f32(), dbeta->f32());
  return env.Undefined();
}

void InitNorm(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "batchNormTrainF32", BatchNormTrain);
  Export(env, exports, "batchNormInferF32", BatchNormInfer);
  Export(env, exports, "batchNormBackwardF32", BatchNormBackward);
}

}  // namespace

NGC_REGISTER_EXPORTS(norm, InitNorm);

}  // namespace ngcuda_addon
