// Elementwise, reduction and softmax entries, the CPU addon's (native/addon/binary.cc, eltwise.cc) with device
// buffers and the same op codes, continued by the ops only the GPU has (ngcuda/eltwise.h):
//   binaryF32(opCode, a, b, out)                       out[i] = a[i] op b[i % b.length]; out may be a, or b if same length
//   binaryBroadcastF32(opCode, a, b, out, outShape, aStrides, bStrides)
//                                                      out = a op b read through per-input strides (0 on broadcast axes)
//   unaryF32(opCode, x, y, alpha)                      y may be x
//   unaryGradF32(opCode, x, y, dy, dx, alpha)          dx may be x, y or dy
//   reduceF32(opCode, x, y, outer, len, inner)
//   softmaxF32(x, y, outer, len, inner), logSoftmaxF32(...)   along the middle axis (the CPU's rows: inner 1); y may be x
//   softmaxCrossEntropyF32(logits, labels, loss, n, c)             labels: int32 [n] or float32 [n, c] buffer
//   softmaxCrossEntropyBackwardF32(dloss, logits, labels, dlogits, n, c)
//       an int label outside [0, c): NaN row, reported to the index-error record (takeIndexError, addon.cc)
//   axpbyF32(alpha, x, beta, y)                        y = alpha x + beta y in double (moving averages, accumulation)
#include <cstdint>
#include <iterator>
#include <string>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/eltwise.h"
#include "nodegrad/eltwise.h"
#include "nodegrad/kernels.h"
#include "shape_args.h"

namespace ngcuda_addon {

namespace {

using nodegrad::kMaxSafeInteger;
using nodegrad::SaturatingMul;

std::int64_t I64(std::size_t v) { return static_cast<std::int64_t>(v); }

// Op names by code (nodegrad/eltwise.h, nodegrad/kernels.h, ngcuda/eltwise.h); the static_asserts make a new code
// a compile error until it is named here.
const char* const kBinaryNames[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "mod", "floorDiv", "atan2",
                                    "squaredDifference"};
const char* const kUnaryNames[] = {"relu", "sigmoid", "tanh", "exp", "log", "sqrt", "square", "neg", "abs",
                                   "leakyRelu", "elu", "relu6", "selu", "softplus", "softsign", "gelu", "silu",
                                   "hardSigmoid", "logSigmoid", "sign", "rsqrt", "reciprocal", "expm1", "log1p", "sin",
                                   "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "floor", "ceil", "round", "erf"};
const char* const kUnaryGradNames[] = {"relu", "relu6", "leakyRelu", "elu", "selu", "hardSigmoid", "sigmoid",
                                       "tanh", "softsign", "softplus", "logSigmoid", "silu", "gelu"};
const char* const kReduceNames[] = {"sum", "mean", "max", "min", "prod"};
static_assert(std::size(kBinaryNames) == ngcuda::kBinaryOpCount, "name every binary op code");
static_assert(std::size(kUnaryNames) == ngcuda::kUnaryOpCount, "name every unary op code");
static_assert(std::size(kUnaryGradNames) == NG_UNARY_GRAD_OP_COUNT, "name every unary gradient op code");
static_assert(std::size(kReduceNames) == ngcuda::kReduceOpCount, "name every reduction op code");

// "0 add, 1 sub, ...": the codes an opCode error lists.
template <std::size_t N>
std::string CodeList(const char* const (&names)[N]) {
  std::string s;
  for (std::size_t i = 0; i < N; ++i) s += (i ? ", " : "") + std::to_string(i) + " " + names[i];
  return s;
}
const std::string kBinaryCodes = CodeList(kBinaryNames);
const std::string kUnaryCodes = CodeList(kUnaryNames);
const std::string kUnaryGradCodes = CodeList(kUnaryGradNames);
const std::string kReduceCodes = CodeList(kReduceNames);

// {name: code} for JavaScript, frozen.
template <std::size_t N>
Napi::Object CodeObject(Napi::Env env, const char* const (&names)[N]) {
  Napi::Object o = Napi::Object::New(env);
  for (std::size_t i = 0; i < N; ++i) o.Set(names[i], static_cast<int>(i));
  o.Freeze();
  return o;
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "binaryF32";
  nodegrad::ExpectArgCount(info, fn, 4, "opCode, a, b, out");
  const int op = nodegrad::EnumArg(info, 0, fn, "opCode", ngcuda::kBinaryOpCount, kBinaryCodes.c_str());
  DeviceBuffer* a = BufferArg(info, 1, fn, "a", kFloat32);
  DeviceBuffer* b = BufferArg(info, 2, fn, "b", kFloat32);
  DeviceBuffer* out = BufferArg(info, 3, fn, "out", kFloat32);
  const std::size_t n = a->length, bn = b->length;
  nodegrad::ExpectLength(env, fn, "out", out->length, n, "a's length");
  if (!(bn == n || (bn >= 1 && n % bn == 0))) {
    throw Napi::RangeError::New(env, std::string(fn) + ": argument 'b' has length " + std::to_string(bn) +
                                         ", which must equal a's length " + std::to_string(n) +
                                         ", be 1, or divide it (a row repeated over the last axes)");
  }
  if (out == b && bn != n) {
    throw Napi::RangeError::New(env, std::string(fn) + ": argument 'out' is 'b', which is only allowed when b has a's "
                                                       "length; use a separate buffer");
  }
  ngcuda::BinaryF32(op, a->f32(), b->f32(), out->f32(), I64(n), I64(bn));
  return env.Undefined();
}

Napi::Value BinaryBroadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "binaryBroadcastF32";
  nodegrad::ExpectArgCount(info, fn, 7, "opCode, a, b, out, outShape, aStrides, bStrides");
  const int op = nodegrad::EnumArg(info, 0, fn, "opCode", ngcuda::kBinaryOpCount, kBinaryCodes.c_str());
  DeviceBuffer* a = BufferArg(info, 1, fn, "a", kFloat32);
  DeviceBuffer* b = BufferArg(info, 2, fn, "b", kFloat32);
  DeviceBuffer* out = BufferArg(info, 3, fn, "out", kFloat32);
  ExpectDistinct(env, fn, "out", out, "a", a);
  ExpectDistinct(env, fn, "out", out, "b", b);
  const ngcuda::BroadcastPlan plan = ReadPlan(info, fn, 4, {a, b}, {"a", "b"}, out);
  ngcuda::BinaryBroadcastF32(op, a->f32(), b->f32(), out->f32(), plan);
  return env.Undefined();
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "unaryF32";
  nodegrad::ExpectArgCount(info, fn, 4, "opCode, x, y, alpha");
  const int op = nodegrad::EnumArg(info, 0, fn, "opCode", ngcuda::kUnaryOpCount, kUnaryCodes.c_str());
  DeviceBuffer* x = BufferArg(info, 1, fn, "x", kFloat32);
  DeviceBuffer* y = BufferArg(info, 2, fn, "y", kFloat32);
  const double alpha = nodegrad::NumberArg(info, 3, fn, "alpha");
  nodegrad::ExpectLength(env, fn, "y", y->length, x->length, "x's length");
  ngcuda::UnaryF32(op, x->f32(), y->f32(), I64(x->length), alpha);
  return env.Undefined();
}

Napi::Value UnaryGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "unaryGradF32";
  nodegrad::ExpectArgCount(info, fn, 6, "opCode, x, y, dy, dx, alpha");
  const int op = nodegrad::EnumArg(info, 0, fn, "opCode", NG_UNARY_GRAD_OP_COUNT, kUnaryGradCodes.c_str());
  DeviceBuffer* x = BufferArg(info, 1, fn, "x", kFloat32);
  DeviceBuffer* y = BufferArg(info, 2, fn, "y", kFloat32);
  DeviceBuffer* dy = BufferArg(info, 3, fn, "dy", kFloat32);
  DeviceBuffer* dx = BufferArg(info, 4, fn, "dx", kFloat32);
  const double alpha = nodegrad::NumberArg(info, 5, fn, "alpha");
  nodegrad::ExpectLength(env, fn, "y", y->length, x->length, "x's length");
  nodegrad::ExpectLength(env, fn, "dy", dy->length, x->length, "x's length");
  nodegrad::ExpectLength(env, fn, "dx", dx->length, x->length, "x's length");
  ngcuda::UnaryGradF32(op, x->f32(), y->f32(), dy->f32(), dx->f32(), I64(x->length), alpha);
  return env.Undefined();
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "reduceF32";
  nodegrad::ExpectArgCount(info, fn, 6, "opCode, x, y, outer, len, inner");
  const int op = nodegrad::EnumArg(info, 0, fn, "opCode", ngcuda::kReduceOpCount, kReduceCodes.c_str());
  DeviceBuffer* x = BufferArg(info, 1, fn, "x", kFloat32);
  DeviceBuffer* y = BufferArg(info, 2, fn, "y", kFloat32);
  const std::size_t outer = static_cast<std::size_t>(nodegrad::IntArg(info, 3, fn, "outer", 0, kMaxSafeInteger));
  const std::size_t len = static_cast<std::size_t>(nodegrad::IntArg(info, 4, fn, "len", 0, kMaxSafeInteger));
  const std::size_t inner = static_cast<std::size_t>(nodegrad::IntArg(info, 5, fn, "inner", 0, kMaxSafeInteger));
  nodegrad::ExpectLength(env, fn, "x", x->length, SaturatingMul(SaturatingMul(outer, len), inner), "outer*len*inner");
  nodegrad::ExpectLength(env, fn, "y", y->length, SaturatingMul(outer, inner), "outer*inner");
  ExpectDistinct(env, fn, "y", y, "x", x);
  ngcuda::ReduceF32(op, x->f32(), I64(outer), I64(len), I64(inner), y->f32());
  return env.Undefined();
}

template <bool kLog>
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = kLog ? "logSoftmaxF32" : "softmaxF32";
  nodegrad::ExpectArgCount(info, fn, 5, "x, y, outer, len, inner");
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kFloat32);
  DeviceBuffer* y = BufferArg(info, 1, fn, "y", kFloat32);
  const std::size_t outer = static_cast<std::size_t>(nodegrad::IntArg(info, 2, fn, "outer", 0, kMaxSafeInteger));
  const std::size_t len = static_cast<std::size_t>(nodegrad::IntArg(info, 3, fn, "len", 0, kMaxSafeInteger));
  const std::size_t inner = static_cast<std::size_t>(nodegrad::IntArg(info, 4, fn, "inner", 0, kMaxSafeInteger));
  nodegrad::ExpectLength(env, fn, "x", x->length, SaturatingMul(SaturatingMul(outer, len), inner), "outer*len*inner");
  nodegrad::ExpectLength(env, fn, "y", y->length, x->length, "x's length");
  ngcuda::SoftmaxF32(kLog, x->f32(), I64(outer), I64(len), I64(inner), y->f32());
  return env.Undefined();
}

// labels: an int32 buffer [n] (class indices) or a float32 buffer [n, c] (per-class weights).
DeviceBuffer* LabelsArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn, std::size_t n,
                        std::size_t c) {
  DeviceBuffer* l = BufferArg(info, index, fn, "labels", kAnyDType);
  if (l->dtype == kInt32) {
    nodegrad::ExpectLength(info.Env(), fn, "labels", l->length, n, "n (int32 class indices)");
    ExpectCheckedPositions(info.Env(), fn, "labels", l);
  } else nodegrad::ExpectLength(info.Env(), fn, "labels", l->length, SaturatingMul(n, c), "n*c (float32 weights)");
  return l;
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "softmaxCrossEntropyF32";
  nodegrad::ExpectArgCount(info, fn, 5, "logits, labels, loss, n, c");
  DeviceBuffer* logits = BufferArg(info, 0, fn, "logits", kFloat32);
  DeviceBuffer* loss = BufferArg(info, 2, fn, "loss", kFloat32);
  const std::size_t n = static_cast<std::size_t>(nodegrad::IntArg(info, 3, fn, "n", 0, kMaxSafeInteger));
  const std::size_t c = static_cast<std::size_t>(nodegrad::IntArg(info, 4, fn, "c", 0, kMaxSafeInteger));
  DeviceBuffer* labels = LabelsArg(info, 1, fn, n, c);
  nodegrad::ExpectLength(env, fn, "logits", logits->length, SaturatingMul(n, c), "n*c");
  nodegrad::ExpectLength(env, fn, "loss", loss->length, n, "n");
  ExpectDistinct(env, fn, "loss", loss, "logits", logits);
  ExpectDistinct(env, fn, "loss", loss, "labels", labels);
  ngcuda::SoftmaxCrossEntropyF32(logits->f32(), labels->dtype == kInt32 ? labels->i32() : nullptr,
                                 labels->dtype == kFloat32 ? labels->f32() : nullptr, I64(n), I64(c), loss->f32());
  return env.Undefined();
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "softmaxCrossEntropyBackwardF32";
  nodegrad::ExpectArgCount(info, fn, 6, "dloss, logits, labels, dlogits, n, c");
  DeviceBuffer* dloss = BufferArg(info, 0, fn, "dloss", kFloat32);
  DeviceBuffer* logits = BufferArg(info, 1, fn, "logits", kFloat32);
  DeviceBuffer* dlogits = BufferArg(info, 3, fn, "dlogits", kFloat32);
  const std::size_t n = static_cast<std::size_t>(nodegrad::IntArg(info, 4, fn, "n", 0, kMaxSafeInteger));
  const std::size_t c = static_cast<std::size_t>(nodegrad::IntArg(info, 5, fn, "c", 0, kMaxSafeInteger));
  DeviceBuffer* labels = LabelsArg(info, 2, fn, n, c);
  nodegrad::ExpectLength(env, fn, "dloss", dloss->length, n, "n");
  nodegrad::ExpectLength(env, fn, "logits", logits->length, SaturatingMul(n, c), "n*c");
  nodegrad::ExpectLength(env, fn, "dlogits", dlogits->length, SaturatingMul(n, c), "n*c");
  ExpectDistinct(env, fn, "dlogits", dlogits, "dloss", dloss);
  ExpectDistinct(env, fn, "dlogits", dlogits, "logits", logits);
  ExpectDistinct(env, fn, "dlogits", dlogits, "labels", labels);
  ngcuda::SoftmaxCrossEntropyBackwardF32(dloss->f32(), logits->f32(), labels->dtype == kInt32 ? labels->i32() : nullptr,
                                         labels->dtype == kFloat32 ? labels->f32() : nullptr, I64(n), I64(c),
                                         dlogits->f32());
  return env.Undefined();
}

Napi::Value Axpby(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "axpbyF32";
  nodegrad::ExpectArgCount(info, fn, 4, "alpha, x, beta, y");
  const double alpha = nodegrad::NumberArg(info, 0, fn, "alpha");
  DeviceBuffer* x = BufferArg(info, 1, fn, "x", kFloat32);
  const double beta = nodegrad::NumberArg(info, 2, fn, "beta");
  DeviceBuffer* y = BufferArg(info, 3, fn, "y", kFloat32);
  nodegrad::ExpectLength(env, fn, "y", y->length, x->length, "x's length");
  ngcuda::AxpbyF32(alpha, x->f32(), beta, y->f32(), I64(x->length));
  return env.Undefined();
}

void InitEltwise(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "binaryF32", Binary);
  Export(env, exports, "binaryBroadcastF32", BinaryBroadcast);
  Export(env, exports, "unaryF32", Unary);
  Export(env, exports, "unaryGradF32", UnaryGrad);
  Export(env, exports, "reduceF32", Reduce);
  Export(env, exports, "softmaxF32", Softmax<false>);
  Export(env, exports, "logSoftmaxF32", Softmax<true>);
  Export(env, exports, "softmaxCrossEntropyF32", CrossEntropy);
  Export(env, exports, "softmaxCrossEntropyBackwardF32", CrossEntropyBackward);
  Export(env, exports, "axpbyF32", Axpby);

  exports.Set("binaryOpCodes", CodeObject(env, kBinaryNames));
  exports.Set("unaryOpCodes", CodeObject(env, kUnaryNames));
  exports.Set("unaryGradOpCodes", CodeObject(env, kUnaryGradNames));
  exports.Set("reduceOpCodes", CodeObject(env, kReduceNames));
}

}  // namespace

NGC_REGISTER_EXPORTS(eltwise, InitEltwise);

}  // namespace ngcuda_addon
