// SGEMM entries, the CPU addon's (native/addon/gemm.cc) with device buffers:
//   matmulF32(a, b, out, batch, batchA, batchB, m, n, k, transA, transB, bias, activation)
//       out[t] = act(op(a[t or 0]) @ op(b[t or 0]) + bias); a [batchA, m, k] ([batchA, k, m] if transA),
//       b [batchB, k, n] ([batchB, n, k] if transB), out [batch, m, n], batchA and batchB each batch or 1.
//   gemmF32(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, activation)
//       c = act(alpha op(a) op(b) + beta c + bias) with row strides; beta == 0 never reads c.
// Both run on tensor cores in TF32 when setTf32(true) / NODEGRAD_CUDA_TF32=1 (ngcuda/gemm.h states the accuracy).
#include <cstdint>
#include <string>

#include "args.h"
#include "buffer.h"
#include "entry.h"
#include "ngcuda/common.h"
#include "ngcuda/gemm.h"

namespace ngcuda_addon {

namespace {

using nodegrad::ArgPrefix;
using nodegrad::kMaxSafeInteger;

const char* const kActivationNames = "0 linear, 1 relu";
constexpr std::int64_t kMaxDim = 2147483647;  // kernels index rows and columns in int

// x * y, or a RangeError naming what overflowed.
std::uint64_t Mul(Napi::Env env, const char* fn, std::uint64_t x, std::uint64_t y, const char* what) {
  const std::uint64_t limit = SIZE_MAX / sizeof(float);
  if (y != 0 && x > limit / y) {
    throw Napi::RangeError::New(env, std::string(fn) + ": " + what + " overflows (" + std::to_string(x) + " * " +
                                         std::to_string(y) + ")");
  }
  return x * y;
}

DeviceBuffer* BiasArg(const Napi::CallbackInfo& info, std::size_t index, const char* fn, std::uint64_t n) {
  DeviceBuffer* bias = OptionalBufferArg(info, index, fn, "bias", kFloat32);
  if (bias) nodegrad::ExpectLength(info.Env(), fn, "bias", bias->length, static_cast<std::size_t>(n), "n");
  return bias;
}

Napi::Value MatmulF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "matmulF32";
  nodegrad::ExpectArgCount(info, fn, 13, "a, b, out, batch, batchA, batchB, m, n, k, transA, transB, bias, activation");
  DeviceBuffer* a = BufferArg(info, 0, fn, "a", kFloat32);
  DeviceBuffer* b = BufferArg(info, 1, fn, "b", kFloat32);
  DeviceBuffer* out = BufferArg(info, 2, fn, "out", kFloat32);
  const std::uint64_t batch = static_cast<std::uint64_t>(nodegrad::IntArg(info, 3, fn, "batch", 0, kMaxDim));
  const std::uint64_t batch_a = static_cast<std::uint64_t>(nodegrad::IntArg(info, 4, fn, "batchA", 0, kMaxDim));
  const std::uint64_t batch_b = static_cast<std::uint64_t>(nodegrad::IntArg(info, 5, fn, "batchB", 0, kMaxDim));
  const std::uint64_t m = static_cast<std::uint64_t>(nodegrad::IntArg(info, 6, fn, "m", 0, kMaxDim));
  const std::uint64_t n = static_cast<std::uint64_t>(nodegrad::IntArg(info, 7, fn, "n", 0, kMaxDim));
  const std::uint64_t k = static_cast<std::uint64_t>(nodegrad::IntArg(info, 8, fn, "k", 0, kMaxDim));
  const bool trans_a = nodegrad::BoolArg(info, 9, fn, "transA");
  const bool trans_b = nodegrad::BoolArg(info, 10, fn, "transB");
  DeviceBuffer* bias = BiasArg(info, 11, fn, n);
  const int act = nodegrad::EnumArg(info, 12, fn, "activation", 2, kActivationNames);
  if (batch_a != batch && batch_a != 1) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, "batchA") + "must equal batch (" + std::to_string(batch) +
                                         ") or be 1 (broadcast), got " + std::to_string(batch_a));
  }
  if (batch_b != batch && batch_b != 1) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, "batchB") + "must equal batch (" + std::to_string(batch) +
                                         ") or be 1 (broadcast), got " + std::to_string(batch_b));
  }
  const std::uint64_t mk = Mul(env, fn, m, k, "m * k"), kn = Mul(env, fn, k, n, "k * n"), mn = Mul(env, fn, m, n, "m * n");
  nodegrad::ExpectLength(env, fn, "a", a->length, static_cast<std::size_t>(Mul(env, fn, batch_a, mk, "batchA * m * k")),
                         "batchA * m * k");
  nodegrad::ExpectLength(env, fn, "b", b->length, static_cast<std::size_t>(Mul(env, fn, batch_b, kn, "batchB * k * n")),
                         "batchB * k * n");
  nodegrad::ExpectLength(env, fn, "out", out->length, static_cast<std::size_t>(Mul(env, fn, batch, mn, "batch * m * n")),
                         "batch * m * n");
  ExpectDistinct(env, fn, "out", out, "a", a);
  ExpectDistinct(env, fn, "out", out, "b", b);
  ExpectDistinct(env, fn, "out", out, "bias", bias);
  ngcuda::GemmArgs g;
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  g.m = static_cast<std::int64_t>(m);
  g.n = static_cast<std::int64_t>(n);
  g.k = static_cast<std::int64_t>(k);
  g.a = a->f32();
  g.lda = static_cast<std::int64_t>(trans_a ? m : k);
  g.b = b->f32();
  g.ldb = static_cast<std::int64_t>(trans_b ? k : n);
  g.c = out->f32();
  g.ldc = static_cast<std::int64_t>(n);
  g.bias = bias ? bias->f32() : nullptr;
  g.act = static_cast<ngcuda::Activation>(act);
  g.batch = static_cast<std::int64_t>(batch);
  g.stride_a = batch_a == 1 ? 0 : static_cast<std::int64_t>(mk);
  g.stride_b = batch_b == 1 ? 0 : static_cast<std::int64_t>(kn);
  g.stride_c = static_cast<std::int64_t>(mn);
  ngcuda::Sgemm(g, ngcuda::Tf32Enabled());
  return env.Undefined();
}

// A rows x cols matrix with row stride ld inside a buffer of `length` floats.
void CheckMatrix(Napi::Env env, const char* fn, const char* name, const char* ld_name, std::size_t length,
                 std::uint64_t rows, std::uint64_t cols, std::uint64_t ld) {
  if (ld < cols || ld == 0) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, ld_name) + "is " + std::to_string(ld) + " but must be at least " +
                                         std::to_string(cols > 0 ? cols : 1) + " (the row length of '" + name + "')");
  }
  if (rows == 0 || cols == 0) return;
  const std::uint64_t need = Mul(env, fn, rows - 1, ld, "(rows - 1) * ld") + cols;
  if (length < need) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, name) + "has length " + std::to_string(length) + " but its " +
                                         std::to_string(rows) + " x " + std::to_string(cols) +
                                         " matrix with row stride " + std::to_string(ld) + " needs " +
                                         std::to_string(need));
  }
}

Napi::Value GemmF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "gemmF32";
  nodegrad::ExpectArgCount(info, fn, 15, "transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, activation");
  const bool trans_a = nodegrad::BoolArg(info, 0, fn, "transA");
  const bool trans_b = nodegrad::BoolArg(info, 1, fn, "transB");
  const std::uint64_t m = static_cast<std::uint64_t>(nodegrad::IntArg(info, 2, fn, "m", 0, kMaxDim));
  const std::uint64_t n = static_cast<std::uint64_t>(nodegrad::IntArg(info, 3, fn, "n", 0, kMaxDim));
  const std::uint64_t k = static_cast<std::uint64_t>(nodegrad::IntArg(info, 4, fn, "k", 0, kMaxDim));
  const float alpha = static_cast<float>(nodegrad::NumberArg(info, 5, fn, "alpha"));
  DeviceBuffer* a = BufferArg(info, 6, fn, "a", kFloat32);
  const std::uint64_t lda = static_cast<std::uint64_t>(nodegrad::IntArg(info, 7, fn, "lda", 0, kMaxSafeInteger));
  DeviceBuffer* b = BufferArg(info, 8, fn, "b", kFloat32);
  const std::uint64_t ldb = static_cast<std::uint64_t>(nodegrad::IntArg(info, 9, fn, "ldb", 0, kMaxSafeInteger));
  const float beta = static_cast<float>(nodegrad::NumberArg(info, 10, fn, "beta"));
  DeviceBuffer* c = BufferArg(info, 11, fn, "c", kFloat32);
  const std::uint64_t ldc = static_cast<std::uint64_t>(nodegrad::IntArg(info, 12, fn, "ldc", 0, kMaxSafeInteger));
  DeviceBuffer* bias = BiasArg(info, 13, fn, n);
  const int act = nodegrad::EnumArg(info, 14, fn, "activation", 2, kActivationNames);
  CheckMatrix(env, fn, "a", "lda", a->length, trans_a ? k : m, trans_a ? m : k, lda);
  CheckMatrix(env, fn, "b", "ldb", b->length, trans_b ? n : k, trans_b ? k : n, ldb);
  CheckMatrix(env, fn, "c", "ldc", c->length, m, n, ldc);
  ExpectDistinct(env, fn, "c", c, "a", a);
  ExpectDistinct(env, fn, "c", c, "b", b);
  ExpectDistinct(env, fn, "c", c, "bias", bias);
  ngcuda::GemmArgs g;
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  g.m = static_cast<std::int64_t>(m);
  g.n = static_cast<std::int64_t>(n);
  g.k = static_cast<std::int64_t>(k);
  g.alpha = alpha;
  g.a = a->f32();
  g.lda = static_cast<std::int64_t>(lda);
  g.b = b->f32();
  g.ldb = static_cast<std::int64_t>(ldb);
  g.beta = beta;
  g.c = c->f32();
  g.ldc = static_cast<std::int64_t>(ldc);
  g.bias = bias ? bias->f32() : nullptr;
  g.act = static_cast<ngcuda::Activation>(act);
  ngcuda::Sgemm(g, ngcuda::Tf32Enabled());
  return env.Undefined();
}

void InitGemm(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "matmulF32", MatmulF32);
  Export(env, exports, "gemmF32", GemmF32);
  Napi::Object codes = Napi::Object::New(env);
  codes.Set("linear", static_cast<int>(ngcuda::Activation::kNone));
  codes.Set("relu", static_cast<int>(ngcuda::Activation::kRelu));
  codes.Freeze();
  exports.Set("matmulActivationCodes", codes);
}

}  // namespace

NGC_REGISTER_EXPORTS(gemm, InitGemm);

}  // namespace ngcuda_addon
