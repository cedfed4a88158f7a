// Pooling entries: maxPool2dF32, maxPool2dBackwardF32, avgPool2dF32, avgPool2dBackwardF32, globalPool2dF32,
// globalPool2dBackwardF32. Each checks every array, integer and length (TypeError / RangeError naming the
// function and argument), then calls the driver (native/runtime/pool.h). Output shapes are the caller's; here
// they are only recomputed to check that the arrays are long enough.
#include <stdint.h>

#include <string>

#include "args.h"
#include "entry.h"
#include "../runtime/pool.h"

namespace nodegrad {
namespace {

// The 12 geometry integers that follow the arrays: n, h, w, c, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight.
struct PoolDims {
  size_t n;
  ng_pool2d_geom g;
  size_t in_len, out_len;
};

const char* const kDimNames = "n, h, w, c, poolH, poolW, strideH, strideW, padTop, padBottom, padLeft, padRight";

PoolDims ReadDims(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  static const char* const names[12] = {"n", "h", "w", "c", "poolH", "poolW", "strideH", "strideW",
                                        "padTop", "padBottom", "padLeft", "padRight"};
  int64_t v[12];
  for (int i = 0; i < 12; ++i) v[i] = IntArg(info, first + i, fn, names[i], (i >= 4 && i < 8) ? 1 : 0, kMaxInt32);
  const int64_t h = v[1], w = v[2], kh = v[4], kw = v[5], sh = v[6], sw = v[7];
  const int64_t span_h = h + v[8] + v[9], span_w = w + v[10] + v[11];
  if (span_h + sh < kh || span_w + sw < kw) {  // the output size would be negative
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": the pool window (" + std::to_string(kh) + "x" +
                                                std::to_string(kw) + ") is larger than the padded input (" +
                                                std::to_string(span_h) + "x" + std::to_string(span_w) + ")");
  }
  PoolDims d;
  d.n = static_cast<size_t>(v[0]);
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
  d.in_len = SaturatingMul(SaturatingMul(SaturatingMul(d.n, static_cast<size_t>(h)), static_cast<size_t>(w)), static_cast<size_t>(v[3]));
  d.out_len = SaturatingMul(SaturatingMul(SaturatingMul(d.n, static_cast<size_t>(d.g.oh)), static_cast<size_t>(d.g.ow)), static_cast<size_t>(v[3]));
  return d;
}

const char* const kMaxFn = "maxPool2dF32";
Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kMaxFn, 14, (std::string("x, y, ") + kDimNames).c_str());
  const F32Span x = Float32Arg(info, 0, kMaxFn, "x");
  const F32Span y = Float32Arg(info, 1, kMaxFn, "y");
  const PoolDims d = ReadDims(info, 2, kMaxFn);
  ExpectLength(env, kMaxFn, "x", x.length, d.in_len, "n*h*w*c");
  ExpectLength(env, kMaxFn, "y", y.length, d.out_len, "n*outH*outW*c");
  ExpectDisjoint(env, kMaxFn, "y", y, "x", x);
  MaxPool2dF32(d.g, d.n, x.data, y.data);
  return env.Undefined();
}

const char* const kMaxBwdFn = "maxPool2dBackwardF32";
Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kMaxBwdFn, 15, (std::string("dy, x, dx, ") + kDimNames).c_str());
  const F32Span dy = Float32Arg(info, 0, kMaxBwdFn, "dy");
  const F32Span x = Float32Arg(info, 1, kMaxBwdFn, "x");
  const F32Span dx = Float32Arg(info, 2, kMaxBwdFn, "dx");
  const PoolDims d = ReadDims(info, 3, kMaxBwdFn);
  ExpectLength(env, kMaxBwdFn, "dy", dy.length, d.out_len, "n*outH*outW*c");
  ExpectLength(env, kMaxBwdFn, "x", x.length, d.in_len, "n*h*w*c");
  ExpectLength(env, kMaxBwdFn, "dx", dx.length, d.in_len, "n*h*w*c");
  ExpectDisjoint(env, kMaxBwdFn, "dx", dx, "dy", dy);
  ExpectDisjoint(env, kMaxBwdFn, "dx", dx, "x", x);
  MaxPool2dBackwardF32(d.g, d.n, dy.data, x.data, dx.data);
  return env.Undefined();
}

const char* const kAvgFn = "avgPool2dF32";
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kAvgFn, 14, (std::string("x, y, ") + kDimNames).c_str());
  const F32Span x = Float32Arg(info, 0, kAvgFn, "x");
  const F32Span y = Float32Arg(info, 1, kAvgFn, "y");
  const PoolDims d = ReadDims(info, 2, kAvgFn);
  ExpectLength(env, kAvgFn, "x", x.length, d.in_len, "n*h*w*c");
  ExpectLength(env, kAvgFn, "y", y.length, d.out_len, "n*outH*outW*c");
  ExpectDisjoint(env, kAvgFn, "y", y, "x", x);
  AvgPool2dF32(d.g, d.n, x.data, y.data);
  return env.Undefined();
}

const char* const kAvgBwdFn = "avgPool2dBackwardF32";
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kAvgBwdFn, 14, (std::string("dy, dx, ") + kDimNames).c_str());
  const F32Span dy = Float32Arg(info, 0, kAvgBwdFn, "dy");
  const F32Span dx = Float32Arg(info, 1, kAvgBwdFn, "dx");
  const PoolDims d = ReadDims(info, 2, kAvgBwdFn);
  ExpectLength(env, kAvgBwdFn, "dy", dy.length, d.out_len, "n*outH*outW*c");
  ExpectLength(env, kAvgBwdFn, "dx", dx.length, d.in_len, "n*h*w*c");
  ExpectDisjoint(env, kAvgBwdFn, "dx", dx, "dy", dy);
  AvgPool2dBackwardF32(d.g, d.n, dy.data, dx.data);
  return env.Undefined();
}

const char* const kGlobalFn = "globalPool2dF32";
Napi::Value GlobalPool2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kGlobalFn, 6, "mode, x, y, n, hw, c");
  const int mode = EnumArg(info, 0, kGlobalFn, "mode", 2, "0 avg, 1 max");
  const F32Span x = Float32Arg(info, 1, kGlobalFn, "x");
  const F32Span y = Float32Arg(info, 2, kGlobalFn, "y");
  const size_t n = static_cast<size_t>(IntArg(info, 3, kGlobalFn, "n", 0, kMaxInt32));
  const size_t hw = static_cast<size_t>(IntArg(info, 4, kGlobalFn, "hw", 0, kMaxInt32));
  const size_t c = static_cast<size_t>(IntArg(info, 5, kGlobalFn, "c", 0, kMaxInt32));
  ExpectLength(env, kGlobalFn, "x", x.length, SaturatingMul(SaturatingMul(n, hw), c), "n*hw*c");
  ExpectLength(env, kGlobalFn, "y", y.length, SaturatingMul(n, c), "n*c");
  ExpectDisjoint(env, kGlobalFn, "y", y, "x", x);
  GlobalPool2dF32(mode == 1, n, hw, c, x.data, y.data);
  return env.Undefined();
}

const char* const kGlobalBwdFn = "globalPool2dBackwardF32";
Napi::Value GlobalPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, kGlobalBwdFn, 7, "mode, dy, x, dx, n, hw, c");
  const int mode = EnumArg(info, 0, kGlobalBwdFn, "mode", 2, "0 avg, 1 max");
  const F32Span dy = Float32Arg(info, 1, kGlobalBwdFn, "dy");
  const F32Span x = Float32Arg(info, 2, kGlobalBwdFn, "x");
  const F32Span dx = Float32Arg(info, 3, kGlobalBwdFn, "dx");
  const size_t n = static_cast<size_t>(IntArg(info, 4, kGlobalBwdFn, "n", 0, kMaxInt32));
  const size_t hw = static_cast<size_t>(IntArg(info, 5, kGlobalBwdFn, "hw", 0, kMaxInt32));
  const size_t c = static_cast<size_t>(IntArg(info, 6, kGlobalBwdFn, "c", 0, kMaxInt32));
  const size_t len = SaturatingMul(SaturatingMul(n, hw), c);
  ExpectLength(env, kGlobalBwdFn, "dy", dy.length, SaturatingMul(n, c), "n*c");
  ExpectLength(env, kGlobalBwdFn, "x", x.length, len, "n*hw*c");
  ExpectLength(env, kGlobalBwdFn, "dx", dx.length, len, "n*hw*c");
  ExpectDisjoint(env, kGlobalBwdFn, "dx", dx, "dy", dy);
  ExpectDisjoint(env, kGlobalBwdFn, "dx", dx, "x", x);
  GlobalPool2dBackwardF32(mode == 1, n, hw, c, dy.data, x.data, dx.data);
  return env.Undefined();
}

void InitPool(Napi::Env env, Napi::Object exports) {
  exports.Set("maxPool2dF32", Napi::Function::New(env, MaxPool2d, kMaxFn));
  exports.Set("maxPool2dBackwardF32", Napi::Function::New(env, MaxPool2dBackward, kMaxBwdFn));
  exports.Set("avgPool2dF32", Napi::Function::New(env, AvgPool2d, kAvgFn));
  exports.Set("avgPool2dBackwardF32", Napi::Function::New(env, AvgPool2dBackward, kAvgBwdFn));
  exports.Set("globalPool2dF32", Napi::Function::New(env, GlobalPool2d, kGlobalFn));
  exports.Set("globalPool2dBackwardF32", Napi::Function::New(env, GlobalPool2dBackward, kGlobalBwdFn));
  const ng_pool_kernels* k = ng_pool_kernels_get();
  ReportKernel("maxPool2d", k->maxpool2d_name);
  ReportKernel("avgPool2d", k->avgpool2d_name);
  ReportKernel("globalMaxPool2d", k->gmaxpool_name);
}

}  // namespace

NG_REGISTER_EXPORTS(pool, InitPool);

}  // namespace nodegrad
