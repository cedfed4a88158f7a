// Convolution entries, the CPU addon's (native/addon/conv.cc) with device buffers and the same 18 geometry
// integers and checks:
//   conv2dF32(x, w, bias | null, out, <geometry>, activation)   y  [n, oh, ow, cout] = act(conv2d(x, w) + bias)
//   conv2dBackwardDataF32(dy, w, dx, <geometry>)                dx [n, h, width, cin] (also conv2dTranspose)
//   conv2dBackwardFilterF32(x, dy, dw, <geometry>)              dw [kh, kw, cin/groups, cout]
//   convAlgorithm(<geometry>)                                    "depthwise" | "1x1+sgemm" | "im2col+sgemm"
// <geometry> = n, h, width, cin, kh, kw, cout, oh, ow, strideH, strideW, dilH, dilW, padTop, padBottom, padLeft,
// padRight, groups (integers in [0, 2^31); kh, kw, cout, strides, dilations, groups >= 1; groups divides cin and
// cout; oh, ow the output size those give).
#include <cstdint>
#include <string>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/common.h"
#include "ngcuda/conv.h"

namespace ngcuda_addon {

namespace {

using nodegrad::kMaxInt32;

constexpr const char* kGeometryNames =
    "n, h, width, cin, kh, kw, cout, oh, ow, strideH, strideW, dilH, dilW, padTop, padBottom, padLeft, padRight, groups";
constexpr std::size_t kGeometryCount = 18;

// Product of the factors (zeros counted as 1, so no hidden intermediate overflows), or a RangeError.
std::size_t CheckedProduct(Napi::Env env, const char* fn, const char* what, std::initializer_list<std::size_t> factors) {
  std::size_t p = 1, real = 1;
  for (std::size_t f : factors) {
    const std::size_t g = f == 0 ? 1 : f;
    if (p > SIZE_MAX / g || g > SIZE_MAX / sizeof(float) / p) {
      throw Napi::RangeError::New(env, std::string(fn) + ": " + what + " is too large (the element count overflows)");
    }
    p *= g;
    real *= f;
  }
  return real;
}

// floor((in + before + after - (k-1)*d - 1) / s) + 1, in int64 (every operand < 2^31).
std::int64_t WindowOut(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t before,
                       std::int64_t after) {
  const std::int64_t num = in + before + after - (k - 1) * d - 1;
  const std::int64_t q = num >= 0 ? num / s : -((-num + s - 1) / s);
  return q + 1;
}

ngcuda::ConvShape GeometryArgs(const Napi::CallbackInfo& info, std::size_t first, const char* fn) {
  Napi::Env env = info.Env();
  ngcuda::ConvShape s;
  std::size_t i = first;
  auto next = [&](const char* name, std::int64_t min) { return nodegrad::IntArg(info, i++, fn, name, min, kMaxInt32); };
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
  const std::int64_t pad_bottom = next("padBottom", 0);
  s.pad_left = next("padLeft", 0);
  const std::int64_t pad_right = next("padRight", 0);
  s.groups = next("groups", 1);
  const std::string f(fn);
  if (s.cin % s.groups != 0 || s.cout % s.groups != 0) {
    throw Napi::RangeError::New(env, f + ": argument 'groups' = " + std::to_string(s.groups) + " must divide cin = " +
                                         std::to_string(s.cin) + " and cout = " + std::to_string(s.cout));
  }
  const std::int64_t oh = WindowOut(s.h, s.kh, s.stride_h, s.dil_h, s.pad_top, pad_bottom);
  const std::int64_t ow = WindowOut(s.w, s.kw, s.stride_w, s.dil_w, s.pad_left, pad_right);
  if (oh < 1 || ow < 1) {
    throw Napi::RangeError::New(env, f + ": the dilated kernel (" + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
                                         ", dilation " + std::to_string(s.dil_h) + "x" + std::to_string(s.dil_w) +
                                         ") is larger than the padded input (" + std::to_string(s.h) + "x" +
                                         std::to_string(s.w) + " with pads " + std::to_string(s.pad_top) + "," +
                                         std::to_string(pad_bottom) + "," + std::to_string(s.pad_left) + "," +
                                         std::to_string(pad_right) + ")");
  }
  if (s.oh != oh || s.ow != ow) {
    throw Napi::RangeError::New(env, f + ": arguments 'oh', 'ow' = " + std::to_string(s.oh) + ", " +
                                         std::to_string(s.ow) + " do not match the output size " + std::to_string(oh) +
                                         ", " + std::to_string(ow) +
                                         " given by h, width, kh, kw, strides, dilations and pads");
  }
  auto z = [](std::int64_t v) { return static_cast<std::size_t>(v); };
  CheckedProduct(env, fn, "n*h*width*cin", {z(s.n), z(s.h), z(s.w), z(s.cin)});
  CheckedProduct(env, fn, "n*oh*ow*cout", {z(s.n), z(s.oh), z(s.ow), z(s.cout)});
  CheckedProduct(env, fn, "kh*kw*(cin/groups)*cout", {z(s.kh), z(s.kw), z(s.cin / s.groups), z(s.cout)});
  // The column matrix of one image must fit an int32 row count times its width (the SGEMM's int indices).
  CheckedProduct(env, fn, "oh*ow*kh*kw*(cin/groups)", {z(s.oh), z(s.ow), z(s.kh), z(s.kw), z(s.cin / s.groups)});
  return s;
}

std::size_t XLength(const ngcuda::ConvShape& s) { return static_cast<std::size_t>(s.n * s.h * s.w * s.cin); }
std::size_t YLength(const ngcuda::ConvShape& s) { return static_cast<std::size_t>(s.n * s.oh * s.ow * s.cout); }
std::size_t WLength(const ngcuda::ConvShape& s) {
  return static_cast<std::size_t>(s.kh * s.kw * (s.cin / s.groups) * s.cout);
}

std::string WithGeometry(const char* first) { return std::string(first) + kGeometryNames; }

Napi::Value Conv2dF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "conv2dF32";
  nodegrad::ExpectArgCount(info, fn, 5 + kGeometryCount, (WithGeometry("x, w, bias, out, ") + ", activation").c_str());
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kFloat32);
  DeviceBuffer* w = BufferArg(info, 1, fn, "w", kFloat32);
  DeviceBuffer* bias = OptionalBufferArg(info, 2, fn, "bias", kFloat32);
  DeviceBuffer* out = BufferArg(info, 3, fn, "out", kFloat32);
  const ngcuda::ConvShape s = GeometryArgs(info, 4, fn);
  const int act = nodegrad::EnumArg(info, 4 + kGeometryCount, fn, "activation", 2, "0 linear, 1 relu");
  nodegrad::ExpectLength(env, fn, "x", x->length, XLength(s), "n*h*width*cin");
  nodegrad::ExpectLength(env, fn, "w", w->length, WLength(s), "kh*kw*(cin/groups)*cout");
  if (bias) nodegrad::ExpectLength(env, fn, "bias", bias->length, static_cast<std::size_t>(s.cout), "cout");
  nodegrad::ExpectLength(env, fn, "out", out->length, YLength(s), "n*oh*ow*cout");
  ExpectDistinct(env, fn, "out", out, "x", x);
  ExpectDistinct(env, fn, "out", out, "w", w);
  ExpectDistinct(env, fn, "out", out, "bias", bias);
  ngcuda::Conv2dForward(s, x->f32(), w->f32(), bias ? bias->f32() : nullptr, out->f32(),
                        static_cast<ngcuda::Activation>(act), ngcuda::Tf32Enabled());
  return env.Undefined();
}

Napi::Value Conv2dBackwardDataF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "conv2dBackwardDataF32";
  nodegrad::ExpectArgCount(info, fn, 3 + kGeometryCount, WithGeometry("dy, w, dx, ").c_str());
  DeviceBuffer* dy = BufferArg(info, 0, fn, "dy", kFloat32);
  DeviceBuffer* w = BufferArg(info, 1, fn, "w", kFloat32);
  DeviceBuffer* dx = BufferArg(info, 2, fn, "dx", kFloat32);
  const ngcuda::ConvShape s = GeometryArgs(info, 3, fn);
  nodegrad::ExpectLength(env, fn, "dy", dy->length, YLength(s), "n*oh*ow*cout");
  nodegrad::ExpectLength(env, fn, "w", w->length, WLength(s), "kh*kw*(cin/groups)*cout");
  nodegrad::ExpectLength(env, fn, "dx", dx->length, XLength(s), "n*h*width*cin");
  ExpectDistinct(env, fn, "dx", dx, "dy", dy);
  ExpectDistinct(env, fn, "dx", dx, "w", w);
  ngcuda::Conv2dBackwardData(s, dy->f32(), w->f32(), dx->f32(), ngcuda::Tf32Enabled());
  return env.Undefined();
}

Napi::Value Conv2dBackwardFilterF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "conv2dBackwardFilterF32";
  nodegrad::ExpectArgCount(info, fn, 3 + kGeometryCount, WithGeometry("x, dy, dw, ").c_str());
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kFloat32);
  DeviceBuffer* dy = BufferArg(info, 1, fn, "dy", kFloat32);
  DeviceBuffer* dw = BufferArg(info, 2, fn, "dw", kFloat32);
  const ngcuda::ConvShape s = GeometryArgs(info, 3, fn);
  nodegrad::ExpectLength(env, fn, "x", x->length, XLength(s), "n*h*width*cin");
  nodegrad::ExpectLength(env, fn, "dy", dy->length, YLength(s), "n*oh*ow*cout");
  nodegrad::ExpectLength(env, fn, "dw", dw->length, WLength(s), "kh*kw*(cin/groups)*cout");
  ExpectDistinct(env, fn, "dw", dw, "x", x);
  ExpectDistinct(env, fn, "dw", dw, "dy", dy);
  ngcuda::Conv2dBackwardFilter(s, x->f32(), dy->f32(), dw->f32(), ngcuda::Tf32Enabled());
  return env.Undefined();
}

Napi::Value ConvAlgorithm(const Napi::CallbackInfo& info) {
  const char* fn = "convAlgorithm";
  nodegrad::ExpectArgCount(info, fn, kGeometryCount, kGeometryNames);
  return Napi::String::New(info.Env(), ngcuda::ConvAlgorithm(GeometryArgs(info, 0, fn)));
}

void InitConv(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "conv2dF32", Conv2dF32);
  Export(env, exports, "conv2dBackwardDataF32", Conv2dBackwardDataF32);
  Export(env, exports, "conv2dBackwardFilterF32", Conv2dBackwardFilterF32);
  Export(env, exports, "convAlgorithm", ConvAlgorithm);
}

}  // namespace

NGC_REGISTER_EXPORTS(conv, InitConv);

}  // namespace ngcuda_addon
