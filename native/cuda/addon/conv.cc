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

using nodegrad::kConvGeometryCount;

// The geometry's 18 integers, parsed and checked as the CPU addon's (args.h ConvGeometryArgs), plus the bound of the
// GPU's SGEMM: one image's column matrix must fit an int32 row count times its width.
ngcuda::ConvShape GeometryArgs(const Napi::CallbackInfo& info, std::size_t first, const char* fn) {
  const ngcuda::ConvShape s = nodegrad::ToConvShape<ngcuda::ConvShape>(nodegrad::ConvGeometryArgs(info, first, fn));
  auto z = [](std::int64_t v) { return static_cast<std::size_t>(v); };
  nodegrad::CheckedProduct(info.Env(), fn, "oh*ow*kh*kw*(cin/groups)",
                           {z(s.oh), z(s.ow), z(s.kh), z(s.kw), z(s.cin / s.groups)});
  return s;
}

std::size_t XLength(const ngcuda::ConvShape& s) { return static_cast<std::size_t>(s.n * s.h * s.w * s.cin); }
std::size_t YLength(const ngcuda::ConvShape& s) { return static_cast<std::size_t>(s.n * s.oh * s.ow * s.cout); }
std::size_t WLength(const ngcuda::ConvShape& s) {
  return static_cast<std::size_t>(s.kh * s.kw * (s.cin / s.groups) * s.cout);
}

std::string WithGeometry(const char* first) { return std::string(first) + nodegrad::kConvGeometryNames; }

Napi::Value Conv2dF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "conv2dF32";
  nodegrad::ExpectArgCount(info, fn, 5 + kConvGeometryCount, (WithGeometry("x, w, bias, out, ") + ", activation").c_str());
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kFloat32);
  DeviceBuffer* w = BufferArg(info, 1, fn, "w", kFloat32);
  DeviceBuffer* bias = OptionalBufferArg(info, 2, fn, "bias", kFloat32);
  DeviceBuffer* out = BufferArg(info, 3, fn, "out", kFloat32);
  const ngcuda::ConvShape s = GeometryArgs(info, 4, fn);
  const int act = nodegrad::EnumArg(info, 4 + kConvGeometryCount, fn, "activation", 2, "0 linear, 1 relu");
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
  nodegrad::ExpectArgCount(info, fn, 3 + kConvGeometryCount, WithGeometry("dy, w, dx, ").c_str());
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
  nodegrad::ExpectArgCount(info, fn, 3 + kConvGeometryCount, WithGeometry("x, dy, dw, ").c_str());
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
  nodegrad::ExpectArgCount(info, fn, kConvGeometryCount, nodegrad::kConvGeometryNames);
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
