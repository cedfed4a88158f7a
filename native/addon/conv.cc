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

constexpr const char* kGeometryNames =
    "n, h, width, cin, kh, kw, cout, oh, ow, strideH, strideW, dilH, dilW, padTop, padBottom, padLeft, padRight, groups";
constexpr size_t kGeometryCount = 18;

struct Geometry {
  ConvShape s;
  size_t pad_bottom = 0, pad_right = 0;
};

// Product of the factors (zeros counted as 1, so no hidden intermediate overflows), or throws RangeError.
size_t CheckedProduct(Napi::Env env, const char* fn, const char* what, std::initializer_list<size_t> factors) {
  size_t p = 1, real = 1;
  for (size_t f : factors) {
    const size_t g = f == 0 ? 1 : f;
    if (p > SIZE_MAX / g || g > SIZE_MAX / sizeof(float) / p) {
      throw Napi::RangeError::New(env, std::string(fn) + ": " + what + " is too large (the element count overflows)");
    }
    p *= g;
    real *= f;
  }
  return real;
}

// floor((in + before + after - (k-1)*d - 1) / s) + 1, in int64 (every operand < 2^31).
int64_t WindowOut(size_t in, size_t k, size_t s, size_t d, size_t before, size_t after) {
  const int64_t num = static_cast<int64_t>(in) + static_cast<int64_t>(before) + static_cast<int64_t>(after) -
                      (static_cast<int64_t>(k) - 1) * static_cast<int64_t>(d) - 1;
  const int64_t ss = static_cast<int64_t>(s);
  const int64_t q = num >= 0 ? num / ss : -((-num + ss - 1) / ss);
  return q + 1;
}

// The 18 geometry integers starting at info[first], with every consistency check that keeps the drivers in bounds.
Geometry GeometryArgs(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  Napi::Env env = info.Env();
  Geometry g;
  ConvShape& s = g.s;
  size_t i = first;
  auto next = [&](const char* name, int64_t min) {
    return static_cast<size_t>(IntArg(info, i++, fn, name, min, kMaxInt32));
  };
  s.n = next("n", 0);
  s.h = next("h", 0);
  s.w = next("width", 0);
  s.cin = next("cin", 0);
  s.kh = next("kh", 1);
  s.kw = next("kw", 1);
  s.cout = next("cout", 1);
  s.oh = next("oh", 0);
  s.ow = next("ow", 0);
  s.stride_h = next("strideH", 1);
  s.stride_w = next("strideW", 1);
  s.dil_h = next("dilH", 1);
  s.dil_w = next("dilW", 1);
  s.pad_top = next("padTop", 0);
  g.pad_bottom = next("padBottom", 0);
  s.pad_left = next("padLeft", 0);
  g.pad_right = next("padRight", 0);
  s.groups = next("groups", 1);

  const std::string f(fn);
  if (s.cin % s.groups != 0 || s.cout % s.groups != 0) {
    throw Napi::RangeError::New(env, f + ": argument 'groups' = " + std::to_string(s.groups) +
                                         " must divide cin = " + std::to_string(s.cin) + " and cout = " +
                                         std::to_string(s.cout));
  }
  const int64_t oh = WindowOut(s.h, s.kh, s.stride_h, s.dil_h, s.pad_top, g.pad_bottom);
  const int64_t ow = WindowOut(s.w, s.kw, s.stride_w, s.dil_w, s.pad_left, g.pad_right);
  if (oh < 1 || ow < 1) {
    throw Napi::RangeError::New(env, f + ": the dilated kernel (" + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
                                         ", dilation " + std::to_string(s.dil_h) + "x" + std::to_string(s.dil_w) +
                                         ") is larger than the padded input (" + std::to_string(s.h) + "x" +
                                         std::to_string(s.w) + " with pads " + std::to_string(s.pad_top) + "," +
                                         std::to_string(g.pad_bottom) + "," + std::to_string(s.pad_left) + "," +
                                         std::to_string(g.pad_right) + ")");
  }
  if (static_cast<int64_t>(s.oh) != oh || static_cast<int64_t>(s.ow) != ow) {
    throw Napi::RangeError::New(env, f + ": arguments 'oh', 'ow' = " + std::to_string(s.oh) + ", " + std::to_string(s.ow) +
                                         " do not match the output size " + std::to_string(oh) + ", " +
                                         std::to_string(ow) +
                                         " given by h, width, kh, kw, strides, dilations and pads");
  }
  CheckedProduct(env, fn, "n*h*width*cin", {s.n, s.h, s.w, s.cin});
  CheckedProduct(env, fn, "n*oh*ow*cout", {s.n, s.oh, s.ow, s.cout});
  CheckedProduct(env, fn, "kh*kw*(cin/groups)*cout", {s.kh, s.kw, s.cin / s.groups, s.cout});
  return g;
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
  Geometry g;
  F32Span x, w, out;
  const float* bias;
  Activation act = Activation::kNone;
};

ForwardCall ForwardArgs(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, fn, 5 + kGeometryCount,
                 (std::string("x, w, bias, out, ") + kGeometryNames + ", activation").c_str());
  ForwardCall c;
  c.x = Float32Arg(info, 0, fn, "x");
  c.w = Float32Arg(info, 1, fn, "w");
  bool has_bias = false;
  const F32Span bias = OptionalFloat32Arg(info, 2, fn, "bias", &has_bias);
  c.out = Float32Arg(info, 3, fn, "out");
  c.g = GeometryArgs(info, 4, fn);
  c.act = static_cast<Activation>(EnumArg(info, 4 + kGeometryCount, fn, "activation", kActivationCount, kActivationNames));
  const ConvShape& s = c.g.s;
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
  RunSync(info.Env(), kFn, [&] { Conv2dForward(c.g.s, c.x.data, c.w.data, c.bias, c.out.data, c.act); });
  return info.Env().Undefined();
}

Napi::Value Conv2dF32Async(const Napi::CallbackInfo& info) {
  static const char* const kFn = "conv2dF32Async";
  const ForwardCall c = ForwardArgs(info, kFn);
  return RunAsync(info.Env(), kFn, {info[0], info[1], info[2], info[3]}, info[3],
                  [c] { Conv2dForward(c.g.s, c.x.data, c.w.data, c.bias, c.out.data, c.act); });
}

// --- backward data ---------------------------------------------------------------------------------------

struct BackwardDataCall {
  Geometry g;
  F32Span dy, w, dx;
};

BackwardDataCall BackwardDataArgs(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, fn, 3 + kGeometryCount, (std::string("dy, w, dx, ") + kGeometryNames).c_str());
  BackwardDataCall c;
  c.dy = Float32Arg(info, 0, fn, "dy");
  c.w = Float32Arg(info, 1, fn, "w");
  c.dx = Float32Arg(info, 2, fn, "dx");
  c.g = GeometryArgs(info, 3, fn);
  const ConvShape& s = c.g.s;
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
  RunSync(info.Env(), kFn, [&] { Conv2dBackwardData(c.g.s, c.dy.data, c.w.data, c.dx.data); });
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardDataF32Async(const Napi::CallbackInfo& info) {
  static const char* const kFn = "conv2dBackwardDataF32Async";
  const BackwardDataCall c = BackwardDataArgs(info, kFn);
  return RunAsync(info.Env(), kFn, {info[0], info[1], info[2]}, info[2],
                  [c] { Conv2dBackwardData(c.g.s, c.dy.data, c.w.data, c.dx.data); });
}

// --- backward filter -------------------------------------------------------------------------------------

struct BackwardFilterCall {
  Geometry g;
  F32Span x, dy, dw;
};

BackwardFilterCall BackwardFilterArgs(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, fn, 3 + kGeometryCount, (std::string("x, dy, dw, ") + kGeometryNames).c_str());
  BackwardFilterCall c;
  c.x = Float32Arg(info, 0, fn, "x");
  c.dy = Float32Arg(info, 1, fn, "dy");
  c.dw = Float32Arg(info, 2, fn, "dw");
  c.g = GeometryArgs(info, 3, fn);
  const ConvShape& s = c.g.s;
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
  RunSync(info.Env(), kFn, [&] { Conv2dBackwardFilter(c.g.s, c.x.data, c.dy.data, c.dw.data); });
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardFilterF32Async(const Napi::CallbackInfo& info) {
  static const char* const kFn = "conv2dBackwardFilterF32Async";
  const BackwardFilterCall c = BackwardFilterArgs(info, kFn);
  return RunAsync(info.Env(), kFn, {info[0], info[1], info[2]}, info[2],
                  [c] { Conv2dBackwardFilter(c.g.s, c.x.data, c.dy.data, c.dw.data); });
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
