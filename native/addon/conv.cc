// Convolution entry points: check every array and integer, then run the drivers (native/runtime/conv.h).
//
//   conv2dF32(x, w, bias | null, out, <geometry>, activation)  y  [n, oh, ow, cout]      = act(conv2d(x, w) + bias)
//   conv2dBackwardDataF32(dy, w, dx, <geometry>)               dx [n, h, width, cin]     (also conv2dTranspose)
//   conv2dBackwardFilterF32(x, dy, dw, <geometry>)             dw [kh, kw, cin/groups, cout]
//   ...Async(same arguments) -> Promise resolving with the output array, computed on the libuv thread pool.
//
// <geometry> = n, h, width, cin, kh, kw, cout, oh, ow, strideH, strideW, dilH, dilW, padTop, padBottom,
// padLeft, padRight, groups: integers in [0, 2^31) (kh, kw, cout, strides, dilations, groups >= 1), with
// groups dividing cin and cout and oh/ow equal to floor((h + padTop + padBottom - (kh-1)*dilH - 1) / strideH) + 1
// (likewise ow). x [n, h, width, cin], w [kh, kw, cin/groups, cout] (HWIO), all Float32Array over ordinary
// ArrayBuffers; the output never overlaps an input. Shapes are worked out in TypeScript; this file only
// guards memory.
#include <stdint.h>

#include <exception>
#include <string>

#include "args.h"
#include "async.h"
#include "entry.h"
#include "../runtime/conv.h"

namespace nodegrad {

namespace {

// The geometry's 18 integers, parsed and checked by the parser both addons share (args.h ConvGeometryArgs).
ConvShape GeometryArgs(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  return ToConvShape<ConvShape>(ConvGeometryArgs(info, first, fn));
}

size_t XLength(const ConvShape& s) { return s.n * s.h * s.w * s.cin; }
size_t YLength(const ConvShape& s) { return s.n * s.oh * s.ow * s.cout; }
size_t WLength(const ConvShape& s) { return s.kh * s.kw * (s.cin / s.groups) * s.cout; }

// Runs a driver on the JS thread; allocation failures become JS errors instead of aborting the process.
template <class F>
void RunSync(Napi::Env env, const char* fn, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string(fn) + ": " + e.what());
  }
}

// --- forward ---------------------------------------------------------------------------------------------

// activation: 0 linear, 1 relu (gemm.h Activation; relu keeps NaN and -0).
constexpr const char* kActivationNames = "0 linear, 1 relu";
constexpr int kActivationCount = 2;
static_assert(static_cast<int>(Activation::kRelu) == 1, "conv activation codes follow gemm.h");

struct ForwardCall {
  ConvShape s;
  F32Span x, w, out;
  const float* bias;
  Activation act = Activation::kNone;
};

ForwardCall ForwardArgs(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, fn, 5 + kConvGeometryCount,
                 (std::string("x, w, bias, out, ") + kConvGeometryNames + ", activation").c_str());
  ForwardCall c;
  c.x = Float32Arg(info, 0, fn, "x");
  c.w = Float32Arg(info, 1, fn, "w");
  bool has_bias = false;
  const F32Span bias = OptionalFloat32Arg(info, 2, fn, "bias", &has_bias);
  c.out = Float32Arg(info, 3, fn, "out");
  c.s = GeometryArgs(info, 4, fn);
  c.act = static_cast<Activation>(EnumArg(info, 4 + kConvGeometryCount, fn, "activation", kActivationCount, kActivationNames));
  const ConvShape& s = c.s;
  ExpectLength(env, fn, "x", c.x.length, XLength(s), "n*h*width*cin");
  ExpectLength(env, fn, "w", c.w.length, WLength(s), "kh*kw*(cin/groups)*cout");
  if (has_bias) ExpectLength(env, fn, "bias", bias.length, s.cout, "cout");
  ExpectLength(env, fn, "out", c.out.length, YLength(s), "n*oh*ow*cout");
  ExpectDisjoint(env, fn, "out", c.out, "x", c.x);
  ExpectDisjoint(env, fn, "out", c.out, "w", c.w);
  ExpectDisjoint(env, fn, "out", c.out, "bias", bias);
  c.bias = bias.data;
  return c;
}

Napi::Value Conv2dF32(const Napi::CallbackInfo& info) {
  static const char* const kFn = "conv2dF32";
  const ForwardCall c = ForwardArgs(info, kFn);
  RunSync(info.Env(), kFn, [&] { Conv2dForward(c.s, c.x.data, c.w.data, c.bias, c.out.data, c.act); });
  return info.Env().Undefined();
}

Napi::Value Conv2dF32Async(const Napi::CallbackInfo& info) {
  static const char* const kFn = "conv2dF32Async";
  const ForwardCall c = ForwardArgs(info, kFn);
  return RunAsync(info.Env(), kFn, {info[0], info[1], info[2], info[3]}, info[3],
                  [c] { Conv2dForward(c.s, c.x.data, c.w.data, c.bias, c.out.data, c.act); });
}

// --- backward data ---------------------------------------------------------------------------------------

struct BackwardDataCall {
  ConvShape s;
  F32Span dy, w, dx;
};

BackwardDataCall BackwardDataArgs(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, fn, 3 + kConvGeometryCount, (std::string("dy, w, dx, ") + kConvGeometryNames).c_str());
  BackwardDataCall c;
  c.dy = Float32Arg(info, 0, fn, "dy");
  c.w = Float32Arg(info, 1, fn, "w");
  c.dx = Float32Arg(info, 2, fn, "dx");
  c.s = GeometryArgs(info, 3, fn);
  const ConvShape& s = c.s;
  ExpectLength(env, fn, "dy", c.dy.length, YLength(s), "n*oh*ow*cout");
  ExpectLength(env, fn, "w", c.w.length, WLength(s), "kh*kw*(cin/groups)*cout");
  ExpectLength(env, fn, "dx", c.dx.length, XLength(s), "n*h*width*cin");
  ExpectDisjoint(env, fn, "dx", c.dx, "dy", c.dy);
  ExpectDisjoint(env, fn, "dx", c.dx, "w", c.w);
  return c;
}

Napi::Value Conv2dBackwardDataF32(const Napi::CallbackInfo& info) {
  static const char* const kFn = "conv2dBackwardDataF32";
  const BackwardDataCall c = BackwardDataArgs(info, kFn);
  RunSync(info.Env(), kFn, [&] { Conv2dBackwardData(c.s, c.dy.data, c.w.data, c.dx.data); });
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardDataF32Async(const Napi::CallbackInfo& info) {
  static const char* const kFn = "conv2dBackwardDataF32Async";
  const BackwardDataCall c = BackwardDataArgs(info, kFn);
  return RunAsync(info.Env(), kFn, {info[0], info[1], info[2]}, info[2],
                  [c] { Conv2dBackwardData(c.s, c.dy.data, c.w.data, c.dx.data); });
}

// --- backward filter -------------------------------------------------------------------------------------

struct BackwardFilterCall {
  ConvShape s;
  F32Span x, dy, dw;
};

BackwardFilterCall BackwardFilterArgs(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, fn, 3 + kConvGeometryCount, (std::string("x, dy, dw, ") + kConvGeometryNames).c_str());
  BackwardFilterCall c;
  c.x = Float32Arg(info, 0, fn, "x");
  c.dy = Float32Arg(info, 1, fn, "dy");
  c.dw = Float32Arg(info, 2, fn, "dw");
  c.s = GeometryArgs(info, 3, fn);
  const ConvShape& s = c.s;
  ExpectLength(env, fn, "x", c.x.length, XLength(s), "n*h*width*cin");
  ExpectLength(env, fn, "dy", c.dy.length, YLength(s), "n*oh*ow*cout");
  ExpectLength(env, fn, "dw", c.dw.length, WLength(s), "kh*kw*(cin/groups)*cout");
  ExpectDisjoint(env, fn, "dw", c.dw, "x", c.x);
  ExpectDisjoint(env, fn, "dw", c.dw, "dy", c.dy);
  return c;
}

Napi::Value Conv2dBackwardFilterF32(const Napi::CallbackInfo& info) {
  static const char* const kFn = "conv2dBackwardFilterF32";
  const BackwardFilterCall c = BackwardFilterArgs(info, kFn);
  RunSync(info.Env(), kFn, [&] { Conv2dBackwardFilter(c.s, c.x.data, c.dy.data, c.dw.data); });
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardFilterF32Async(const Napi::CallbackInfo& info) {
  static const char* const kFn = "conv2dBackwardFilterF32Async";
  const BackwardFilterCall c = BackwardFilterArgs(info, kFn);
  return RunAsync(info.Env(), kFn, {info[0], info[1], info[2]}, info[2],
                  [c] { Conv2dBackwardFilter(c.s, c.x.data, c.dy.data, c.dw.data); });
}

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dF32", Napi::Function::New(env, Conv2dF32, "conv2dF32"));
  exports.Set("conv2dF32Async", Napi::Function::New(env, Conv2dF32Async, "conv2dF32Async"));
  exports.Set("conv2dBackwardDataF32", Napi::Function::New(env, Conv2dBackwardDataF32, "conv2dBackwardDataF32"));
  exports.Set("conv2dBackwardDataF32Async",
              Napi::Function::New(env, Conv2dBackwardDataF32Async, "conv2dBackwardDataF32Async"));
  exports.Set("conv2dBackwardFilterF32", Napi::Function::New(env, Conv2dBackwardFilterF32, "conv2dBackwardFilterF32"));
  exports.Set("conv2dBackwardFilterF32Async",
              Napi::Function::New(env, Conv2dBackwardFilterF32Async, "conv2dBackwardFilterF32Async"));
  ReportKernel("dwconv2dForward", DwConvForwardKernelName());
  ReportKernel("dwconv2dBackwardData", DwConvBackwardDataKernelName());
  ReportKernel("dwconv2dBackwardFilter", DwConvBackwardFilterKernelName());
}

}  // namespace

NG_REGISTER_EXPORTS(conv, InitConv);

}  // namespace nodegrad
