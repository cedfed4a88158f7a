// Elementwise entries: unaryF32 (+ unaryOpCodes), unaryGradF32 (+ unaryGradOpCodes), reduceF32 (+ reduceOpCodes),
// softmaxF32, logSoftmaxF32, softmaxCrossEntropyF32, softmaxCrossEntropyBackwardF32. Each checks every array,
// code, integer and length (TypeError / RangeError naming the function and argument), then calls the driver
// (native/runtime/eltwise.h).
#include <stdint.h>

#include "args.h"
#include "entry.h"
#include "nodegrad/eltwise.h"
#include "../runtime/eltwise.h"

namespace nodegrad {
namespace {

// labels: an Int32Array (class indices) or a Float32Array (per-class weights), over a live, non-shared buffer.
struct Labels {
  const int32_t* ints = nullptr;
  F32Span floats = {nullptr, 0};
  size_t length = 0;
};

Labels LabelsArg(const Napi::CallbackInfo& info, size_t index, const char* fn) {
  Labels l;
  if (IsTypedArrayOf(info[index], napi_float32_array)) {
    l.floats = Float32Arg(info, index, fn, "labels");
    l.length = l.floats.length;
    return l;
  }
  if (!IsTypedArrayOf(info[index], napi_int32_array)) {
    throw Napi::TypeError::New(info.Env(), ArgPrefix(fn, "labels") + "must be an Int32Array or a Float32Array, got " +
                                               Describe(info[index]));
  }
  const I32Span ints = Int32Arg(info, index, fn, "labels");
  l.ints = ints.data;
  l.length = ints.length;
  return l;
}

// The labels' bytes as a span, for the overlap check (int32 and float32 have the same width).
F32Span LabelsBytes(const Labels& l) {
  if (l.floats.data) return l.floats;
  return F32Span{const_cast<float*>(reinterpret_cast<const float*>(l.ints)), l.length};
}

const char* const kUnaryFn = "unaryF32";
const char* const kUnaryCodes =
    "0 relu, 1 sigmoid, 2 tanh, 3 exp, 4 log, 5 sqrt, 6 square, 7 neg, 8 abs, 9 leakyRelu, 10 elu, 11 relu6, "
    "12 selu, 13 softplus, 14 softsign, 15 gelu, 16 silu, 17 hardSigmoid, 18 logSigmoid";
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kUnaryFn, 4, "opCode, x, y, alpha");
  const int op = EnumArg(info, 0, kUnaryFn, "opCode", NG_UNARY_OP_COUNT, kUnaryCodes);
  const F32Span x = Float32Arg(info, 1, kUnaryFn, "x");
  const F32Span y = Float32Arg(info, 2, kUnaryFn, "y");
  const double alpha = NumberArg(info, 3, kUnaryFn, "alpha");
  ExpectLength(env, kUnaryFn, "y", y.length, x.length, "x's length");
  ExpectDisjoint(env, kUnaryFn, "y", y, "x", x, true);
  UnaryF32(op, x.data, y.data, x.length, alpha);
  return env.Undefined();
}

const char* const kUnaryGradFn = "unaryGradF32";
const char* const kUnaryGradCodes =
    "0 relu, 1 relu6, 2 leakyRelu, 3 elu, 4 selu, 5 hardSigmoid, 6 sigmoid, 7 tanh, 8 softsign, 9 softplus, "
    "10 logSigmoid, 11 silu, 12 gelu";
Napi::Value UnaryGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kUnaryGradFn, 6, "opCode, x, y, dy, dx, alpha");
  const int op = EnumArg(info, 0, kUnaryGradFn, "opCode", NG_UNARY_GRAD_OP_COUNT, kUnaryGradCodes);
  const F32Span x = Float32Arg(info, 1, kUnaryGradFn, "x");
  const F32Span y = Float32Arg(info, 2, kUnaryGradFn, "y");
  const F32Span dy = Float32Arg(info, 3, kUnaryGradFn, "dy");
  const F32Span dx = Float32Arg(info, 4, kUnaryGradFn, "dx");
  const double alpha = NumberArg(info, 5, kUnaryGradFn, "alpha");
  ExpectLength(env, kUnaryGradFn, "y", y.length, x.length, "x's length");
  ExpectLength(env, kUnaryGradFn, "dy", dy.length, x.length, "x's length");
  ExpectLength(env, kUnaryGradFn, "dx", dx.length, x.length, "x's length");
  // Each element is read before it is written: dx may be exactly one of the inputs, but not straddle one.
  ExpectDisjoint(env, kUnaryGradFn, "dx", dx, "x", x, true);
  ExpectDisjoint(env, kUnaryGradFn, "dx", dx, "y", y, true);
  ExpectDisjoint(env, kUnaryGradFn, "dx", dx, "dy", dy, true);
  UnaryGradF32(op, x.data, y.data, dy.data, dx.data, x.length, alpha);
  return env.Undefined();
}

const char* const kReduceFn = "reduceF32";
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kReduceFn, 6, "opCode, x, y, outer, len, inner");
  const int op = EnumArg(info, 0, kReduceFn, "opCode", NG_REDUCE_OP_COUNT, "0 sum, 1 mean, 2 max, 3 min");
  const F32Span x = Float32Arg(info, 1, kReduceFn, "x");
  const F32Span y = Float32Arg(info, 2, kReduceFn, "y");
  const size_t outer = static_cast<size_t>(IntArg(info, 3, kReduceFn, "outer", 0, kMaxSafeInteger));
  const size_t len = static_cast<size_t>(IntArg(info, 4, kReduceFn, "len", 0, kMaxSafeInteger));
  const size_t inner = static_cast<size_t>(IntArg(info, 5, kReduceFn, "inner", 0, kMaxSafeInteger));
  ExpectLength(env, kReduceFn, "x", x.length, SaturatingMul(SaturatingMul(outer, len), inner), "outer*len*inner");
  ExpectLength(env, kReduceFn, "y", y.length, SaturatingMul(outer, inner), "outer*inner");
  ExpectDisjoint(env, kReduceFn, "y", y, "x", x);
  ReduceF32(op, x.data, outer, len, inner, y.data);
  return env.Undefined();
}

template <bool kLog>
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const char* fn = kLog ? "logSoftmaxF32" : "softmaxF32";
  Napi::Env env = info.Env();
  ExpectArgCount(info, fn, 4, "x, y, rows, cols");
  const F32Span x = Float32Arg(info, 0, fn, "x");
  const F32Span y = Float32Arg(info, 1, fn, "y");
  const size_t rows = static_cast<size_t>(IntArg(info, 2, fn, "rows", 0, kMaxSafeInteger));
  const size_t cols = static_cast<size_t>(IntArg(info, 3, fn, "cols", 0, kMaxSafeInteger));
  ExpectLength(env, fn, "x", x.length, SaturatingMul(rows, cols), "rows*cols");
  ExpectLength(env, fn, "y", y.length, x.length, "x's length");
  ExpectDisjoint(env, fn, "y", y, "x", x, true);
  SoftmaxF32(kLog, x.data, rows, cols, y.data);
  return env.Undefined();
}

// Checks labels against [n] (Int32Array) or [n, c] (Float32Array).
void CheckLabels(Napi::Env env, const char* fn, const Labels& l, size_t n, size_t c) {
  if (l.ints) ExpectLength(env, fn, "labels", l.length, n, "n (Int32Array class indices)");
  else ExpectLength(env, fn, "labels", l.length, SaturatingMul(n, c), "n*c (Float32Array weights)");
}

const char* const kCeFn = "softmaxCrossEntropyF32";
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kCeFn, 5, "logits, labels, loss, n, c");
  const F32Span logits = Float32Arg(info, 0, kCeFn, "logits");
  const Labels labels = LabelsArg(info, 1, kCeFn);
  const F32Span loss = Float32Arg(info, 2, kCeFn, "loss");
  const size_t n = static_cast<size_t>(IntArg(info, 3, kCeFn, "n", 0, kMaxSafeInteger));
  const size_t c = static_cast<size_t>(IntArg(info, 4, kCeFn, "c", 0, kMaxSafeInteger));
  ExpectLength(env, kCeFn, "logits", logits.length, SaturatingMul(n, c), "n*c");
  CheckLabels(env, kCeFn, labels, n, c);
  ExpectLength(env, kCeFn, "loss", loss.length, n, "n");
  ExpectDisjoint(env, kCeFn, "loss", loss, "logits", logits);
  ExpectDisjoint(env, kCeFn, "loss", loss, "labels", LabelsBytes(labels));
  SoftmaxCrossEntropyF32(logits.data, labels.ints, labels.floats.data, n, c, loss.data);
  return env.Undefined();
}

const char* const kCeBwdFn = "softmaxCrossEntropyBackwardF32";
Napi::Value SoftmaxCrossEntropyBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kCeBwdFn, 6, "dloss, logits, labels, dlogits, n, c");
  const F32Span dloss = Float32Arg(info, 0, kCeBwdFn, "dloss");
  const F32Span logits = Float32Arg(info, 1, kCeBwdFn, "logits");
  const Labels labels = LabelsArg(info, 2, kCeBwdFn);
  const F32Span dlogits = Float32Arg(info, 3, kCeBwdFn, "dlogits");
  const size_t n = static_cast<size_t>(IntArg(info, 4, kCeBwdFn, "n", 0, kMaxSafeInteger));
  const size_t c = static_cast<size_t>(IntArg(info, 5, kCeBwdFn, "c", 0, kMaxSafeInteger));
  ExpectLength(env, kCeBwdFn, "dloss", dloss.length, n, "n");
  ExpectLength(env, kCeBwdFn, "logits", logits.length, SaturatingMul(n, c), "n*c");
  CheckLabels(env, kCeBwdFn, labels, n, c);
  ExpectLength(env, kCeBwdFn, "dlogits", dlogits.length, SaturatingMul(n, c), "n*c");
  ExpectDisjoint(env, kCeBwdFn, "dlogits", dlogits, "dloss", dloss);
  ExpectDisjoint(env, kCeBwdFn, "dlogits", dlogits, "logits", logits);
  ExpectDisjoint(env, kCeBwdFn, "dlogits", dlogits, "labels", LabelsBytes(labels));
  SoftmaxCrossEntropyBackwardF32(dloss.data, logits.data, labels.ints, labels.floats.data, n, c, dlogits.data);
  return env.Undefined();
}

void InitEltwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unaryF32", Napi::Function::New(env, Unary, kUnaryFn));
  exports.Set("unaryGradF32", Napi::Function::New(env, UnaryGrad, kUnaryGradFn));
  exports.Set("reduceF32", Napi::Function::New(env, Reduce, kReduceFn));
  exports.Set("softmaxF32", Napi::Function::New(env, Softmax<false>, "softmaxF32"));
  exports.Set("logSoftmaxF32", Napi::Function::New(env, Softmax<true>, "logSoftmaxF32"));
  exports.Set("softmaxCrossEntropyF32", Napi::Function::New(env, SoftmaxCrossEntropy, kCeFn));
  exports.Set("softmaxCrossEntropyBackwardF32", Napi::Function::New(env, SoftmaxCrossEntropyBackward, kCeBwdFn));
  Napi::Object unary = Napi::Object::New(env);
  static const char* const kUnaryNames[NG_UNARY_OP_COUNT] = {
      "relu", "sigmoid", "tanh", "exp", "log", "sqrt", "square", "neg", "abs", "leakyRelu", "elu", "relu6",
      "selu", "softplus", "softsign", "gelu", "silu", "hardSigmoid", "logSigmoid"};
  for (int i = 0; i < NG_UNARY_OP_COUNT; ++i) unary.Set(kUnaryNames[i], Napi::Number::New(env, i));
  unary.Freeze();
  exports.Set("unaryOpCodes", unary);
  Napi::Object unary_grad = Napi::Object::New(env);
  static const char* const kUnaryGradNames[NG_UNARY_GRAD_OP_COUNT] = {
      "relu", "relu6", "leakyRelu", "elu", "selu", "hardSigmoid", "sigmoid", "tanh", "softsign", "softplus",
      "logSigmoid", "silu", "gelu"};
  for (int i = 0; i < NG_UNARY_GRAD_OP_COUNT; ++i) unary_grad.Set(kUnaryGradNames[i], Napi::Number::New(env, i));
  unary_grad.Freeze();
  exports.Set("unaryGradOpCodes", unary_grad);
  Napi::Object reduce = Napi::Object::New(env);
  reduce.Set("sum", Napi::Number::New(env, NG_REDUCE_SUM));
  reduce.Set("mean", Napi::Number::New(env, NG_REDUCE_MEAN));
  reduce.Set("max", Napi::Number::New(env, NG_REDUCE_MAX));
  reduce.Set("min", Napi::Number::New(env, NG_REDUCE_MIN));
  reduce.Freeze();
  exports.Set("reduceOpCodes", reduce);
  const ng_eltwise_kernels* k = ng_eltwise_kernels_get();
  ReportKernel("unaryF32", k->unary_name);
  ReportKernel("unaryGradF32", k->unary_grad_name);
  ReportKernel("reduceF32", k->reduce_name);
}

}  // namespace

NG_REGISTER_EXPORTS(eltwise, InitEltwise);

}  // namespace nodegrad
