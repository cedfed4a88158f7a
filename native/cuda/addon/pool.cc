// Pooling entries, the CPU addon's (native/addon/pool.cc) with device buffers:
//   maxPool2dF32(x, y, <dims>), maxPool2dBackwardF32(dy, x, dx, <dims>), avgPool2dF32(x, y, <dims>),
//   avgPool2dBackwardF32(dy, dx, <dims>), globalPool2dF32(mode, x, y, n, hw, c),
//   globalPool2dBackwardF32(mode, dy, x, dx, n, hw, c)   (mode 0 avg, 1 max)
// <dims> = n, h, w, c, poolH, poolW, strideH, strideW, padTop, padBottom, padLeft, padRight.
#include <cstdint>
#include <string>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/pool.h"

namespace ngcuda_addon {

namespace {

using nodegrad::kMaxInt32;
using nodegrad::SaturatingMul;

const char* const kDimNames = "n, h, w, c, poolH, poolW, strideH, strideW, padTop, padBottom, padLeft, padRight";

struct PoolDims {
  ngcuda::PoolGeom g;
  std::size_t in_len, out_len;
};

PoolDims ReadDims(const Napi::CallbackInfo& info, std::size_t first, const char* fn) {
  static const char* const names[12] = {"n", "h", "w", "c", "poolH", "poolW", "strideH", "strideW",
                                        "padTop", "padBottom", "padLeft", "padRight"};
  std::int64_t v[12];
  for (int i = 0; i < 12; ++i) v[i] = nodegrad::IntArg(info, first + i, fn, names[i], (i >= 4 && i < 8) ? 1 : 0, kMaxInt32);
  const std::int64_t h = v[1], w = v[2], kh = v[4], kw = v[5], sh = v[6], sw = v[7];
  const std::int64_t span_h = h + v[8] + v[9], span_w = w + v[10] + v[11];
  if (span_h + sh < kh || span_w + sw < kw) {  // the output size would be negative
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": the pool window (" + std::to_string(kh) + "x" +
                                                std::to_string(kw) + ") is larger than the padded input (" +
                                                std::to_string(span_h) + "x" + std::to_string(span_w) + ")");
  }
  PoolDims d;
  d.g.n = v[0];
  d.g.h = h;
  d.g.w = w;
  d.g.c = v[3];
  d.g.kh = kh;
  d.g.kw = kw;
  d.g.sh = sh;
  d.g.sw = sw;
  d.g.pad_top = v[8];
  d.g.pad_left = v[10];
  d.g.oh = (span_h - kh + sh) / sh;  // floor((h + pads - kh) / sh) + 1, non-negative here
  d.g.ow = (span_w - kw + sw) / sw;
  auto z = [](std::int64_t x) { return static_cast<std::size_t>(x); };
  d.in_len = SaturatingMul(SaturatingMul(SaturatingMul(z(v[0]), z(h)), z(w)), z(v[3]));
  d.out_len = SaturatingMul(SaturatingMul(SaturatingMul(z(v[0]), z(d.g.oh)), z(d.g.ow)), z(v[3]));
  return d;
}

// x [n, h, w, c] -> y [n, outH, outW, c]: the max and average forwards differ only in the kernel they launch.
Napi::Value PoolForward(const Napi::CallbackInfo& info, const char* fn,
                        void (*kernel)(const ngcuda::PoolGeom&, const float*, float*)) {
  Napi::Env env = info.Env();
  nodegrad::ExpectArgCount(info, fn, 14, (std::string("x, y, ") + kDimNames).c_str());
  DeviceBuffer* x = BufferArg(info, 0, fn, "x", kFloat32);
  DeviceBuffer* y = BufferArg(info, 1, fn, "y", kFloat32);
  const PoolDims d = ReadDims(info, 2, fn);
  nodegrad::ExpectLength(env, fn, "x", x->length, d.in_len, "n*h*w*c");
  nodegrad::ExpectLength(env, fn, "y", y->length, d.out_len, "n*outH*outW*c");
  ExpectDistinct(env, fn, "y", y, "x", x);
  kernel(d.g, x->f32(), y->f32());
  return env.Undefined();
}

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  return PoolForward(info, "maxPool2dF32", ngcuda::MaxPool2dForward);
}

Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "maxPool2dBackwardF32";
  nodegrad::ExpectArgCount(info, fn, 15, (std::string("dy, x, dx, ") + kDimNames).c_str());
  DeviceBuffer* dy = BufferArg(info, 0, fn, "dy", kFloat32);
  DeviceBuffer* x = BufferArg(info, 1, fn, "x", kFloat32);
  DeviceBuffer* dx = BufferArg(info, 2, fn, "dx", kFloat32);
  const PoolDims d = ReadDims(info, 3, fn);
  nodegrad::ExpectLength(env, fn, "dy", dy->length, d.out_len, "n*outH*outW*c");
  nodegrad::ExpectLength(env, fn, "x", x->length, d.in_len, "n*h*w*c");
  nodegrad::ExpectLength(env, fn, "dx", dx->length, d.in_len, "n*h*w*c");
  ExpectDistinct(env, fn, "dx", dx, "dy", dy);
  ExpectDistinct(env, fn, "dx", dx, "x", x);
  ngcuda::MaxPool2dBackward(d.g, dy->f32(), x->f32(), dx->f32());
  return env.Undefined();
}

Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  return PoolForward(info, "avgPool2dF32", ngcuda::AvgPool2dForward);
}

Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "avgPool2dBackwardF32";
  nodegrad::ExpectArgCount(info, fn, 14, (std::string("dy, dx, ") + kDimNames).c_str());
  DeviceBuffer* dy = BufferArg(info, 0, fn, "dy", kFloat32);
  DeviceBuffer* dx = BufferArg(info, 1, fn, "dx", kFloat32);
  const PoolDims d = ReadDims(info, 2, fn);
  nodegrad::ExpectLength(env, fn, "dy", dy->length, d.out_len, "n*outH*outW*c");
  nodegrad::ExpectLength(env, fn, "dx", dx->length, d.in_len, "n*h*w*c");
  ExpectDistinct(env, fn, "dx", dx, "dy", dy);
  ngcuda::AvgPool2dBackward(d.g, dy->f32(), dx->f32());
  return env.Undefined();
}

Napi::Value GlobalPool2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "globalPool2dF32";
  nodegrad::ExpectArgCount(info, fn, 6, "mode, x, y, n, hw, c");
  const int mode = nodegrad::EnumArg(info, 0, fn, "mode", 2, "0 avg, 1 max");
  DeviceBuffer* x = BufferArg(info, 1, fn, "x", kFloat32);
  DeviceBuffer* y = BufferArg(info, 2, fn, "y", kFloat32);
  const std::size_t n = static_cast<std::size_t>(nodegrad::IntArg(info, 3, fn, "n", 0, kMaxInt32));
  const std::size_t hw = static_cast<std::size_t>(nodegrad::IntArg(info, 4, fn, "hw", 0, kMaxInt32));
  const std::size_t c = static_cast<std::size_t>(nodegrad::IntArg(info, 5, fn, "c", 0, kMaxInt32));
  nodegrad::ExpectLength(env, fn, "x", x->length, SaturatingMul(SaturatingMul(n, hw), c), "n*hw*c");
  nodegrad::ExpectLength(env, fn, "y", y->length, SaturatingMul(n, c), "n*c");
  ExpectDistinct(env, fn, "y", y, "x", x);
  ngcuda::GlobalPool2dForward(mode == 1, static_cast<std::int64_t>(n), static_cast<std::int64_t>(hw),
                              static_cast<std::int64_t>(c), x->f32(), y->f32());
  return env.Undefined();
}

Napi::Value GlobalPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "globalPool2dBackwardF32";
  nodegrad::ExpectArgCount(info, fn, 7, "mode, dy, x, dx, n, hw, c");
  const int mode = nodegrad::EnumArg(info, 0, fn, "mode", 2, "0 avg, 1 max");
  DeviceBuffer* dy = BufferArg(info, 1, fn, "dy", kFloat32);
  DeviceBuffer* x = BufferArg(info, 2, fn, "x", kFloat32);
  DeviceBuffer* dx = BufferArg(info, 3, fn, "dx", kFloat32);
  const std::size_t n = static_cast<std::size_t>(nodegrad::IntArg(info, 4, fn, "n", 0, kMaxInt32));
  const std::size_t hw = static_cast<std::size_t>(nodegrad::IntArg(info, 5, fn, "hw", 0, kMaxInt32));
  const std::size_t c = static_cast<std::size_t>(nodegrad::IntArg(info, 6, fn, "c", 0, kMaxInt32));
  const std::size_t len = SaturatingMul(SaturatingMul(n, hw), c);
  nodegrad::ExpectLength(env, fn, "dy", dy->length, SaturatingMul(n, c), "n*c");
  nodegrad::ExpectLength(env, fn, "x", x->length, len, "n*hw*c");
  nodegrad::ExpectLength(env, fn, "dx", dx->length, len, "n*hw*c");
  ExpectDistinct(env, fn, "dx", dx, "dy", dy);
  ExpectDistinct(env, fn, "dx", dx, "x", x);
  ngcuda::GlobalPool2dBackward(mode == 1, static_cast<std::int64_t>(n), static_cast<std::int64_t>(hw),
                               static_cast<std::int64_t>(c), dy->f32(), x->f32(), dx->f32());
  return env.Undefined();
}

void InitPool(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "maxPool2dF32", MaxPool2d);
  Export(env, exports, "maxPool2dBackwardF32", MaxPool2dBackward);
  Export(env, exports, "avgPool2dF32", AvgPool2d);
  Export(env, exports, "avgPool2dBackwardF32", AvgPool2dBackward);
  Export(env, exports, "globalPool2dF32", GlobalPool2d);
  Export(env, exports, "globalPool2dBackwardF32", GlobalPool2dBackward);
}

}  // namespace

NGC_REGISTER_EXPORTS(pool, InitPool);

}  // namespace ngcuda_addon
