// Batch-norm entries: batchNormTrainF32, batchNormInferF32, batchNormBackwardF32. Each checks every array,
// length and scalar (TypeError / RangeError naming the function and argument), then calls the driver
// (native/runtime/norm.h). The channel count is gamma's length; x is [rows, c] with c its last axis.
#include <math.h>

#include <string>

#include "args.h"
#include "entry.h"
#include "nodegrad/norm.h"
#include "../runtime/norm.h"

namespace nodegrad {
namespace {

// x's length must be a multiple of c (c == 0: x must be empty); returns the row count.
size_t RowsOf(Napi::Env env, const char* fn, const F32Span& x, size_t c) {
  if (c == 0 ? x.length != 0 : x.length % c != 0) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, "x") + "has length " + std::to_string(x.length) +
                                         ", which is not a multiple of the channel count " + std::to_string(c) +
                                         " (gamma's length)");
  }
  return c == 0 ? 0 : x.length / c;
}

double EpsilonArg(const Napi::CallbackInfo& info, size_t index, const char* fn) {
  const double e = NumberArg(info, index, fn, "epsilon");
  if (!(e >= 0.0) || !isfinite(e)) {
    throw Napi::RangeError::New(info.Env(), ArgPrefix(fn, "epsilon") + "must be a finite number >= 0, got " +
                                                info[index].ToString().Utf8Value());
  }
  return e;
}

// Every output must be disjoint from every input and from the other outputs.
void ExpectAllDisjoint(Napi::Env env, const char* fn, const F32Span* outs, const char* const* out_names, int nout,
                       const F32Span* ins, const char* const* in_names, int nin) {
  for (int i = 0; i < nout; ++i) {
    for (int j = 0; j < nin; ++j) ExpectDisjoint(env, fn, out_names[i], outs[i], in_names[j], ins[j]);
    for (int j = 0; j < i; ++j) ExpectDisjoint(env, fn, out_names[i], outs[i], out_names[j], outs[j]);
  }
}

const char* const kTrainFn = "batchNormTrainF32";
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kTrainFn, 7, "x, gamma, beta, epsilon, y, mean, variance");
  const F32Span x = Float32Arg(info, 0, kTrainFn, "x");
  const F32Span gamma = Float32Arg(info, 1, kTrainFn, "gamma");
  const F32Span beta = Float32Arg(info, 2, kTrainFn, "beta");
  const double eps = EpsilonArg(info, 3, kTrainFn);
  const F32Span y = Float32Arg(info, 4, kTrainFn, "y");
  const F32Span mean = Float32Arg(info, 5, kTrainFn, "mean");
  const F32Span var = Float32Arg(info, 6, kTrainFn, "variance");
  const size_t c = gamma.length, rows = RowsOf(env, kTrainFn, x, c);
  ExpectLength(env, kTrainFn, "beta", beta.length, c, "gamma's length");
  ExpectLength(env, kTrainFn, "y", y.length, x.length, "x's length");
  ExpectLength(env, kTrainFn, "mean", mean.length, c, "gamma's length");
  ExpectLength(env, kTrainFn, "variance", var.length, c, "gamma's length");
  const F32Span outs[] = {y, mean, var};
  const char* const out_names[] = {"y", "mean", "variance"};
  const F32Span ins[] = {x, gamma, beta};
  const char* const in_names[] = {"x", "gamma", "beta"};
  ExpectAllDisjoint(env, kTrainFn, outs, out_names, 3, ins, in_names, 3);
  BatchNormTrainF32(x.data, rows, c, gamma.data, beta.data, eps, y.data, mean.data, var.data);
  return env.Undefined();
}

const char* const kInferFn = "batchNormInferF32";
Napi::Value BatchNormInfer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kInferFn, 7, "x, gamma, beta, mean, variance, epsilon, y");
  const F32Span x = Float32Arg(info, 0, kInferFn, "x");
  const F32Span gamma = Float32Arg(info, 1, kInferFn, "gamma");
  const F32Span beta = Float32Arg(info, 2, kInferFn, "beta");
  const F32Span mean = Float32Arg(info, 3, kInferFn, "mean");
  const F32Span var = Float32Arg(info, 4, kInferFn, "variance");
  const double eps = EpsilonArg(info, 5, kInferFn);
  const F32Span y = Float32Arg(info, 6, kInferFn, "y");
  const size_t c = gamma.length, rows = RowsOf(env, kInferFn, x, c);
  ExpectLength(env, kInferFn, "beta", beta.length, c, "gamma's length");
  ExpectLength(env, kInferFn, "mean", mean.length, c, "gamma's length");
  ExpectLength(env, kInferFn, "variance", var.length, c, "gamma's length");
  ExpectLength(env, kInferFn, "y", y.length, x.length, "x's length");
  const F32Span outs[] = {y};
  const char* const out_names[] = {"y"};
  const F32Span ins[] = {x, gamma, beta, mean, var};
  const char* const in_names[] = {"x", "gamma", "beta", "mean", "variance"};
  ExpectAllDisjoint(env, kInferFn, outs, out_names, 1, ins, in_names, 5);
  BatchNormInferF32(x.data, rows, c, gamma.data, beta.data, mean.data, var.data, eps, y.data);
  return env.Undefined();
}

const char* const kBwdFn = "batchNormBackwardF32";
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kBwdFn, 10, "training, dy, x, gamma, mean, variance, epsilon, dx, dgamma, dbeta");
  const bool training = BoolArg(info, 0, kBwdFn, "training");
  const F32Span dy = Float32Arg(info, 1, kBwdFn, "dy");
  const F32Span x = Float32Arg(info, 2, kBwdFn, "x");
  const F32Span gamma = Float32Arg(info, 3, kBwdFn, "gamma");
  const F32Span mean = Float32Arg(info, 4, kBwdFn, "mean");
  const F32Span var = Float32Arg(info, 5, kBwdFn, "variance");
  const double eps = EpsilonArg(info, 6, kBwdFn);
  const F32Span dx = Float32Arg(info, 7, kBwdFn, "dx");
  const F32Span dgamma = Float32Arg(info, 8, kBwdFn, "dgamma");
  const F32Span dbeta = Float32Arg(info, 9, kBwdFn, "dbeta");
  const size_t c = gamma.length, rows = RowsOf(env, kBwdFn, x, c);
  ExpectLength(env, kBwdFn, "dy", dy.length, x.length, "x's length");
  ExpectLength(env, kBwdFn, "mean", mean.length, c, "gamma's length");
  ExpectLength(env, kBwdFn, "variance", var.length, c, "gamma's length");
  ExpectLength(env, kBwdFn, "dx", dx.length, x.length, "x's length");
  ExpectLength(env, kBwdFn, "dgamma", dgamma.length, c, "gamma's length");
  ExpectLength(env, kBwdFn, "dbeta", dbeta.length, c, "gamma's length");
  const F32Span outs[] = {dx, dgamma, dbeta};
  const char* const out_names[] = {"dx", "dgamma", "dbeta"};
  const F32Span ins[] = {dy, x, gamma, mean, var};
  const char* const in_names[] = {"dy", "x", "gamma", "mean", "variance"};
  ExpectAllDisjoint(env, kBwdFn, outs, out_names, 3, ins, in_names, 5);
  BatchNormBackwardF32(training, dy.data, x.data, rows, c, gamma.data, mean.data, var.data, eps, dx.data, dgamma.data,
                       dbeta.data);
  return env.Undefined();
}

void InitNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTrainF32", Napi::Function::New(env, BatchNormTrain, kTrainFn));
  exports.Set("batchNormInferF32", Napi::Function::New(env, BatchNormInfer, kInferFn));
  exports.Set("batchNormBackwardF32", Napi::Function::New(env, BatchNormBackward, kBwdFn));
  ReportKernel("batchNorm", ng_norm_kernels_get()->name);
}

}  // namespace

NG_REGISTER_EXPORTS(norm, InitNorm);

}  // namespace nodegrad
