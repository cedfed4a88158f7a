// SGEMM entry points. Every length, size and flag is checked here, on the JS thread, before any kernel runs:
//   matmulF32(a, b, out, batch, batchA, batchB, m, n, k, transA, transB, bias, activation)
//       out[t] = act(op(a[t or 0]) @ op(b[t or 0]) + bias), backend.ts's rank-3 matmul; a [batchA, m, k]
//       ([batchA, k, m] if transA), b [batchB, k, n] ([batchB, n, k] if transB), out [batch, m, n],
//       batchA and batchB each batch or 1, bias null or [n], activation a matmulActivationCodes value.
//   matmulF32Async(...same...) -> Promise<out>, run on the libuv pool (async.h).
//   gemmF32(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, activation)
//       the driver's full BLAS-style form, c = act(alpha op(a) op(b) + beta c + bias) with row strides;
//       beta == 0 never reads c.
// No maths here: the runtime's driver (runtime/gemm.h) does the work.
#include <stdint.h>

#include <algorithm>
#include <string>

#include "args.h"
#include "async.h"
#include "entry.h"
#include "../runtime/gemm.h"

namespace nodegrad {

namespace {

const char* const kMatmul = "matmulF32";
const char* const kMatmulAsync = "matmulF32Async";
const char* const kGemm = "gemmF32";
const char* const kActivationNames = "0 linear, 1 relu";
constexpr int kActivationCount = 2;

// x * y, or a RangeError naming what overflowed.
uint64_t Mul(Napi::Env env, const char* fn, uint64_t x, uint64_t y, const char* what) {
  const uint64_t limit = SIZE_MAX / sizeof(float);  // the most floats a byte count can describe
  if (y != 0 && x > limit / y) {
    throw Napi::RangeError::New(env, std::string(fn) + ": " + what + " overflows (" + std::to_string(x) + " * " +
                                         std::to_string(y) + ")");
  }
  return x * y;
}

// null / undefined, or a Float32Array of exactly n floats.
F32Span BiasArg(const Napi::CallbackInfo& info, size_t index, const char* fn, uint64_t n) {
  bool present = false;
  const F32Span bias = OptionalFloat32Arg(info, index, fn, "bias", &present);
  if (present) ExpectLength(info.Env(), fn, "bias", bias.length, static_cast<size_t>(std::min<uint64_t>(n, SIZE_MAX)), "n");
  return bias;
}

// Everything a checked matmulF32 call needs, by value (the async form runs it on another thread).
struct MatmulCall {
  GemmArgs g;
  std::size_t batch, stride_a, stride_b, stride_c;
};

MatmulCall CheckMatmul(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  ExpectArgCount(info, fn, 13, "a, b, out, batch, batchA, batchB, m, n, k, transA, transB, bias, activation");
  const F32Span a = Float32Arg(info, 0, fn, "a");
  const F32Span b = Float32Arg(info, 1, fn, "b");
  const F32Span out = Float32Arg(info, 2, fn, "out");
  const uint64_t batch = static_cast<uint64_t>(IntArg(info, 3, fn, "batch", 0, kMaxSafeInteger));
  const uint64_t batch_a = static_cast<uint64_t>(IntArg(info, 4, fn, "batchA", 0, kMaxSafeInteger));
  const uint64_t batch_b = static_cast<uint64_t>(IntArg(info, 5, fn, "batchB", 0, kMaxSafeInteger));
  const uint64_t m = static_cast<uint64_t>(IntArg(info, 6, fn, "m", 0, kMaxSafeInteger));
  const uint64_t n = static_cast<uint64_t>(IntArg(info, 7, fn, "n", 0, kMaxSafeInteger));
  const uint64_t k = static_cast<uint64_t>(IntArg(info, 8, fn, "k", 0, kMaxSafeInteger));
  const bool trans_a = BoolArg(info, 9, fn, "transA");
  const bool trans_b = BoolArg(info, 10, fn, "transB");
  const F32Span bias = BiasArg(info, 11, fn, n);
  const int act = EnumArg(info, 12, fn, "activation", kActivationCount, kActivationNames);

  if (batch_a != batch && batch_a != 1) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, "batchA") + "must equal batch (" + std::to_string(batch) +
                                         ") or be 1 (broadcast), got " + std::to_string(batch_a));
  }
  if (batch_b != batch && batch_b != 1) {
    throw Napi::RangeError::New(env, ArgPrefix(fn, "batchB") + "must equal batch (" + std::to_string(batch) +
                                         ") or be 1 (broadcast), got " + std::to_string(batch_b));
  }
  const uint64_t mk = Mul(env, fn, m, k, "m * k");
  const uint64_t kn = Mul(env, fn, k, n, "k * n");
  const uint64_t mn = Mul(env, fn, m, n, "m * n");
  const uint64_t a_len = Mul(env, fn, batch_a, mk, "batchA * m * k");
  const uint64_t b_len = Mul(env, fn, batch_b, kn, "batchB * k * n");
  const uint64_t out_len = Mul(env, fn, batch, mn, "batch * m * n");
  ExpectLength(env, fn, "a", a.length, static_cast<size_t>(a_len), "batchA * m * k");
  ExpectLength(env, fn, "b", b.length, static_cast<size_t>(b_len), "batchB * k * n");
  ExpectLength(env, fn, "out", out.length, static_cast<size_t>(out_len), "batch * m * n");
  ExpectDisjoint(env, fn, "out", out, "a", a);
  ExpectDisjoint(env, fn, "out", out, "b", b);
  ExpectDisjoint(env, fn, "out", out, "bias", bias);

  MatmulCall call;
  call.g.trans_a = trans_a;
  call.g.trans_b = trans_b;
  call.g.m = static_cast<std::size_t>(m);
  call.g.n = static_cast<std::size_t>(n);
  call.g.k = static_cast<std::size_t>(k);
  call.g.alpha = 1.0f;
  call.g.a = a.data;
  call.g.lda = static_cast<std::size_t>(trans_a ? m : k);
  call.g.b = b.data;
  call.g.ldb = static_cast<std::size_t>(trans_b ? k : n);
  call.g.beta = 0.0f;
  call.g.c = out.data;
  call.g.ldc = static_cast<std::size_t>(n);
  call.g.bias = bias.data;
  call.g.act = static_cast<Activation>(act);
  call.batch = static_cast<std::size_t>(batch);
  call.stride_a = batch_a == 1 ? 0 : static_cast<std::size_t>(mk);
  call.stride_b = batch_b == 1 ? 0 : static_cast<std::size_t>(kn);
  call.stride_c = static_cast<std::size_t>(mn);
  return call;
}

Napi::Value MatmulF32(const Napi::CallbackInfo& info) {
  const MatmulCall c = CheckMatmul(info, kMatmul);
  SgemmBatched(c.g, c.batch, c.stride_a, c.stride_b, c.stride_c);
  return info.Env().Undefined();
}

Napi::Value MatmulF32Async(const Napi::CallbackInfo& info) {
  const MatmulCall c = CheckMatmul(info, kMatmulAsync);
  return RunAsync(info.Env(), kMatmulAsync, {info[0], info[1], info[2], info[11]}, info[2],
                  [c]() { SgemmBatched(c.g, c.batch, c.stride_a, c.stride_b, c.stride_c); });
}

// The extent a rows x cols matrix with row stride ld needs: (rows - 1) * ld + cols, 0 when empty.
uint64_t Extent(Napi::Env env, uint64_t rows, uint64_t cols, uint64_t ld) {
  if (rows == 0 || cols == 0) return 0;
  const uint64_t body = Mul(env, kGemm, rows - 1, ld, "(rows - 1) * ld");
  if (body + cols < body) throw Napi::RangeError::New(env, std::string(kGemm) + ": matrix extent overflows");
  return body + cols;
}

void CheckMatrix(Napi::Env env, const char* name, const char* ld_name, const F32Span& s, uint64_t rows, uint64_t cols,
                 uint64_t ld) {
  if (ld < cols || ld == 0) {
    throw Napi::RangeError::New(env, ArgPrefix(kGemm, ld_name) + "is " + std::to_string(ld) + " but must be at least " +
                                         std::to_string(cols > 0 ? cols : 1) + " (the row length of '" + name + "')");
  }
  const uint64_t need = Extent(env, rows, cols, ld);
  if (s.length < need) {
    throw Napi::RangeError::New(env, ArgPrefix(kGemm, name) + "has length " + std::to_string(s.length) + " but its " +
                                         std::to_string(rows) + " x " + std::to_string(cols) + " matrix with row stride " +
                                         std::to_string(ld) + " needs " + std::to_string(need));
  }
}

Napi::Value GemmF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = kGemm;
  ExpectArgCount(info, fn, 15, "transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, activation");
  const bool trans_a = BoolArg(info, 0, fn, "transA");
  const bool trans_b = BoolArg(info, 1, fn, "transB");
  const uint64_t m = static_cast<uint64_t>(IntArg(info, 2, fn, "m", 0, kMaxSafeInteger));
  const uint64_t n = static_cast<uint64_t>(IntArg(info, 3, fn, "n", 0, kMaxSafeInteger));
  const uint64_t k = static_cast<uint64_t>(IntArg(info, 4, fn, "k", 0, kMaxSafeInteger));
  const float alpha = static_cast<float>(NumberArg(info, 5, fn, "alpha"));
  const F32Span a = Float32Arg(info, 6, fn, "a");
  const uint64_t lda = static_cast<uint64_t>(IntArg(info, 7, fn, "lda", 0, kMaxSafeInteger));
  const F32Span b = Float32Arg(info, 8, fn, "b");
  const uint64_t ldb = static_cast<uint64_t>(IntArg(info, 9, fn, "ldb", 0, kMaxSafeInteger));
  const float beta = static_cast<float>(NumberArg(info, 10, fn, "beta"));
  const F32Span c = Float32Arg(info, 11, fn, "c");
  const uint64_t ldc = static_cast<uint64_t>(IntArg(info, 12, fn, "ldc", 0, kMaxSafeInteger));
  const F32Span bias = BiasArg(info, 13, fn, n);
  const int act = EnumArg(info, 14, fn, "activation", kActivationCount, kActivationNames);

  // Stored shapes: A is m x k (k x m when transA), B is k x n (n x k when transB), C is m x n.
  CheckMatrix(env, "a", "lda", a, trans_a ? k : m, trans_a ? m : k, lda);
  CheckMatrix(env, "b", "ldb", b, trans_b ? n : k, trans_b ? k : n, ldb);
  CheckMatrix(env, "c", "ldc", c, m, n, ldc);
  ExpectDisjoint(env, fn, "c", c, "a", a);
  ExpectDisjoint(env, fn, "c", c, "b", b);
  ExpectDisjoint(env, fn, "c", c, "bias", bias);

  GemmArgs g;
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  g.m = static_cast<std::size_t>(m);
  g.n = static_cast<std::size_t>(n);
  g.k = static_cast<std::size_t>(k);
  g.alpha = alpha;
  g.a = a.data;
  g.lda = static_cast<std::size_t>(lda);
  g.b = b.data;
  g.ldb = static_cast<std::size_t>(ldb);
  g.beta = beta;
  g.c = c.data;
  g.ldc = static_cast<std::size_t>(ldc);
  g.bias = bias.data;
  g.act = static_cast<Activation>(act);
  Sgemm(g);
  return env.Undefined();
}

void InitGemm(Napi::Env env, Napi::Object exports) {
  exports.Set(kMatmul, Napi::Function::New(env, MatmulF32, kMatmul));
  exports.Set(kMatmulAsync, Napi::Function::New(env, MatmulF32Async, kMatmulAsync));
  exports.Set(kGemm, Napi::Function::New(env, GemmF32, kGemm));
  Napi::Object codes = Napi::Object::New(env);
  codes.Set("linear", Napi::Number::New(env, static_cast<int>(Activation::kNone)));
  codes.Set("relu", Napi::Number::New(env, static_cast<int>(Activation::kRelu)));
  codes.Freeze();
  exports.Set("matmulActivationCodes", codes);
  ReportKernel("sgemm", SgemmKernelName());
}

}  // namespace

NG_REGISTER_EXPORTS(gemm, InitGemm);

}  // namespace nodegrad
