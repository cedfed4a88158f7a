// Elementwise entries: unaryF32 (+ unaryOpCodes), reduceF32 (+ reduceOpCodes), softmaxF32, logSoftmaxF32,
// softmaxCrossEntropyF32, softmaxCrossEntropyBackwardF32. Each checks every array, code, integer and length
// (TypeError / RangeError naming the function and argument), then calls the driver (native/runtime/eltwise.h).
#include <stdint.h>

#include <string>

#include "args.h"
#include "entry.h"
#include "nodegrad/eltwise.h"
#include "../runtime/eltwise.h"

namespace nodegrad {
namespace {

constexpr int64_t kMaxDim = 9007199254740991;  // 2^53 - 1: any integer a JS number holds exactly

int64_t IntArg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg) {
  Napi::Value v = info[index];
  if (!v.IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": argument '" + arg + "' must be an integer number, got " +
                                               Describe(v));
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0.0 && d <= static_cast<double>(kMaxDim)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": argument '" + arg +
                                                "' must be a non-negative safe integer, got " + v.ToString().Utf8Value());
  }
  return static_cast<int64_t>(d);
}

// out may be exactly `in` when `may_alias` (an elementwise kernel reads each element before writing it).
void ExpectDisjoint(Napi::Env env, const char* fn, const F32Span& out, const char* out_name, const F32Span& in,
                    const char* in_name, bool may_alias) {
  if (!Overlaps(out, in)) return;
  if (may_alias && out.data == in.data && out.length == in.length) return;
  throw Napi::RangeError::New(env, std::string(fn) + ": argument '" + out_name + "' overlaps '" + in_name + "'" +
                                       (may_alias ? "; it may be that array itself or a separate one"
                                                  : "; pass a separate output array"));
}

// labels: an Int32Array (class indices) or a Float32Array (per-class weights), over a live, non-shared buffer.
struct Labels {
  const int32_t* ints = nullptr;
  F32Span floats = {nullptr, 0};
  size_t length = 0;
};

Labels LabelsArg(const Napi::CallbackInfo& info, size_t index, const char* fn) {
  Napi::Env env = info.Env();
  Napi::Value v = info[index];
  Labels l;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    l.floats = Float32Arg(info, index, fn, "labels");
    l.length = l.floats.length;
    return l;
  }
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, std::string(fn) + ": argument 'labels' must be an Int32Array or a Float32Array, got " +
                                        Describe(v));
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  size_t byte_offset = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &byte_offset), l);
  bool is_plain = false;
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, buffer, &is_plain), l);
  if (!is_plain) {  // napi_is_arraybuffer is false for a SharedArrayBuffer: another thread could write it
    throw Napi::TypeError::New(env, std::string(fn) + ": argument 'labels' is backed by a SharedArrayBuffer; pass a "
                                                      "typed array over an ordinary ArrayBuffer");
  }
  bool detached = false;
  NAPI_THROW_IF_FAILED(env, napi_is_detached_arraybuffer(env, buffer, &detached), l);
  if (detached) {
    throw Napi::TypeError::New(env, std::string(fn) + ": argument 'labels' is backed by a detached ArrayBuffer (it was transferred)");
  }
  l.ints = static_cast<const int32_t*>(data);
  l.length = length;
  return l;
}

bool LabelsOverlap(const Labels& l, const F32Span& out) {
  if (l.floats.data) return Overlaps(l.floats, out);
  F32Span as = {const_cast<float*>(reinterpret_cast<const float*>(l.ints)), l.length};  // same byte width
  return Overlaps(as, out);
}

const char* const kUnaryFn = "unaryF32";
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kUnaryFn, 4, "opCode, x, y, alpha");
  const int op = EnumArg(info, 0, kUnaryFn, "opCode", NG_UNARY_OP_COUNT,
                         "0 relu, 1 sigmoid, 2 tanh, 3 exp, 4 log, 5 sqrt, 6 square, 7 neg, 8 abs, 9 leakyRelu, 10 elu");
  const F32Span x = Float32Arg(info, 1, kUnaryFn, "x");
  const F32Span y = Float32Arg(info, 2, kUnaryFn, "y");
  if (!info[3].IsNumber()) {
    throw Napi::TypeError::New(env, std::string(kUnaryFn) + ": argument 'alpha' must be a number, got " + Describe(info[3]));
  }
  const double alpha = info[3].As<Napi::Number>().DoubleValue();
  ExpectLength(env, kUnaryFn, "y", y.length, x.length, "x's length");
  ExpectDisjoint(env, kUnaryFn, y, "y", x, "x", true);
  UnaryF32(op, x.data, y.data, x.length, alpha);
  return env.Undefined();
}

const char* const kReduceFn = "reduceF32";
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kReduceFn, 6, "opCode, x, y, outer, len, inner");
  const int op = EnumArg(info, 0, kReduceFn, "opCode", NG_REDUCE_OP_COUNT, "0 sum, 1 mean, 2 max, 3 min");
  const F32Span x = Float32Arg(info, 1, kReduceFn, "x");
  const F32Span y = Float32Arg(info, 2, kReduceFn, "y");
  const size_t outer = static_cast<size_t>(IntArg(info, 3, kReduceFn, "outer"));
  const size_t len = static_cast<size_t>(IntArg(info, 4, kReduceFn, "len"));
  const size_t inner = static_cast<size_t>(IntArg(info, 5, kReduceFn, "inner"));
  ExpectLength(env, kReduceFn, "x", x.length, SaturatingMul(SaturatingMul(outer, len), inner), "outer*len*inner");
  ExpectLength(env, kReduceFn, "y", y.length, SaturatingMul(outer, inner), "outer*inner");
  ExpectDisjoint(env, kReduceFn, y, "y", x, "x", false);
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
  const size_t rows = static_cast<size_t>(IntArg(info, 2, fn, "rows"));
  const size_t cols = static_cast<size_t>(IntArg(info, 3, fn, "cols"));
  ExpectLength(env, fn, "x", x.length, SaturatingMul(rows, cols), "rows*cols");
  ExpectLength(env, fn, "y", y.length, x.length, "x's length");
  ExpectDisjoint(env, fn, y, "y", x, "x", true);
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
  const size_t n = static_cast<size_t>(IntArg(info, 3, kCeFn, "n"));
  const size_t c = static_cast<size_t>(IntArg(info, 4, kCeFn, "c"));
  ExpectLength(env, kCeFn, "logits", logits.length, SaturatingMul(n, c), "n*c");
  CheckLabels(env, kCeFn, labels, n, c);
  ExpectLength(env, kCeFn, "loss", loss.length, n, "n");
  ExpectDisjoint(env, kCeFn, loss, "loss", logits, "logits", false);
  if (LabelsOverlap(labels, loss)) {
    throw Napi::RangeError::New(env, std::string(kCeFn) + ": argument 'loss' overlaps 'labels'; pass a separate output array");
  }
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
  const size_t n = static_cast<size_t>(IntArg(info, 4, kCeBwdFn, "n"));
  const size_t c = static_cast<size_t>(IntArg(info, 5, kCeBwdFn, "c"));
  ExpectLength(env, kCeBwdFn, "dloss", dloss.length, n, "n");
  ExpectLength(env, kCeBwdFn, "logits", logits.length, SaturatingMul(n, c), "n*c");
  CheckLabels(env, kCeBwdFn, labels, n, c);
  ExpectLength(env, kCeBwdFn, "dlogits", dlogits.length, SaturatingMul(n, c), "n*c");
  ExpectDisjoint(env, kCeBwdFn, dlogits, "dlogits", dloss, "dloss", false);
  ExpectDisjoint(env, kCeBwdFn, dlogits, "dlogits", logits, "logits", false);
  if (LabelsOverlap(labels, dlogits)) {
    throw Napi::RangeError::New(env, std::string(kCeBwdFn) +
                                         ": argument 'dlogits' overlaps 'labels'; pass a separate output array");
  }
  SoftmaxCrossEntropyBackwardF32(dloss.data, logits.data, labels.ints, labels.floats.data, n, c, dlogits.data);
  return env.Undefined();
}

void InitEltwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unaryF32", Napi::Function::New(env, Unary, kUnaryFn));
  exports.Set("reduceF32", Napi::Function::New(env, Reduce, kReduceFn));
  exports.Set("softmaxF32", Napi::Function::New(env, Softmax<false>, "softmaxF32"));
  exports.Set("logSoftmaxF32", Napi::Function::New(env, Softmax<true>, "logSoftmaxF32"));
  exports.Set("softmaxCrossEntropyF32", Napi::Function::New(env, SoftmaxCrossEntropy, kCeFn));
  exports.Set("softmaxCrossEntropyBackwardF32", Napi::Function::New(env, SoftmaxCrossEntropyBackward, kCeBwdFn));
  Napi::Object unary = Napi::Object::New(env);
  static const char* const kUnaryNames[NG_UNARY_OP_COUNT] = {"relu", "sigmoid", "tanh", "exp", "log", "sqrt",
                                                             "square", "neg", "abs", "leakyRelu", "elu"};
  for (int i = 0; i < NG_UNARY_OP_COUNT; ++i) unary.Set(kUnaryNames[i], Napi::Number::New(env, i));
  unary.Freeze();
  exports.Set("unaryOpCodes", unary);
  Napi::Object reduce = Napi::Object::New(env);
  reduce.Set("sum", Napi::Number::New(env, NG_REDUCE_SUM));
  reduce.Set("mean", Napi::Number::New(env, NG_REDUCE_MEAN));
  reduce.Set("max", Napi::Number::New(env, NG_REDUCE_MAX));
  reduce.Set("min", Napi::Number::New(env, NG_REDUCE_MIN));
  reduce.Freeze();
  exports.Set("reduceOpCodes", reduce);
  const ng_eltwise_kernels* k = ng_eltwise_kernels_get();
  ReportKernel("unaryF32", k->unary_name);
  ReportKernel("reduceF32", k->reduce_name);
}

}  // namespace

NG_REGISTER_EXPORTS(eltwise, InitEltwise);

}  // namespace nodegrad
