/*
 * Elementwise kernels (ngcuda/eltwise.h): binary arithmetic in the CPU's row-broadcast forms and under general
 * broadcasting (per-input strides), unary ops and their gradients (in double, rounded once: the reference's
 * formulas, in its order), fill and axpby. Grid-stride loops over 64-bit indices; the op is a kernel template
 * argument so the loop body has no switch.
 */
#include <cuda_runtime.h>

#include <cmath>
#include <type_traits>

#include "common.cuh"
#include "ngcuda/eltwise.h"
#include "nodegrad/eltwise.h"
#include "nodegrad/kernels.h"

namespace ngcuda {

namespace {

// ---- binary ---------------------------------------------------------------------------------------------

// The reference's floatBinary: float32 IEEE ops for the four the CPU has (one rounding, as double then float),
// the others in double rounded once.
template <int OP>
__device__ __forceinline__ float BinaryOp(float x, float y) {
  const double a = x, b = y;
  switch (OP) {
    case NG_BINARY_ADD: return x + y;
    case NG_BINARY_SUB: return x - y;
    case NG_BINARY_MUL: return x * y;
    case NG_BINARY_DIV: return x / y;  // IEEE division (the library is built without fast math)
    case kBinaryPow: return static_cast<float>(pow(a, b));  // C's pow(1, y) = pow(-1, +-Inf) = 1: the reference's cPow
    case kBinaryMaximum: return JsMax(x, y, false);
    case kBinaryMinimum: return JsMax(x, y, true);
    case kBinaryMod: {  // floormod: the remainder takes the divisor's sign
      const double r = fmod(a, b);
      return static_cast<float>(r != 0.0 && (r < 0.0) != (b < 0.0) ? r + b : r);
    }
    case kBinaryFloorDiv: return static_cast<float>(floor(a / b));
    case kBinaryAtan2: return static_cast<float>(atan2(a, b));
    default: {  // squaredDifference
      const double d = a - b;
      return static_cast<float>(d * d);
    }
  }
}

// form 0: b has n elements; 1: b is a scalar; 2: b is a row of bn elements repeated.
template <int OP, int FORM>
__global__ void BinaryKernel(const float* a, const float* b, float* out, i64 n, i64 bn) {
  const float b0 = FORM == 1 ? b[0] : 0.0f;
  NGC_FOR(i, n) {
    const float y = FORM == 0 ? b[i] : FORM == 1 ? b0 : b[i % bn];
    out[i] = BinaryOp<OP>(a[i], y);
  }
}

template <int OP>
__global__ void BinaryBroadcastKernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out,
                                      i64 n, BroadcastPlan plan) {
  NGC_FOR(i, n) {
    i64 off[2];
    BroadcastOffsets(plan, i, 2, off);
    out[i] = BinaryOp<OP>(a[off[0]], b[off[1]]);
  }
}

template <int OP>
void LaunchBinary(const float* a, const float* b, float* out, i64 n, i64 bn) {
  const unsigned grid = GridFor(n);
  if (bn == n) NGC_LAUNCH(grid, kThreads, BinaryKernel<OP, 0>)(a, b, out, n, bn);
  else if (bn == 1) NGC_LAUNCH(grid, kThreads, BinaryKernel<OP, 1>)(a, b, out, n, bn);
  else NGC_LAUNCH(grid, kThreads, BinaryKernel<OP, 2>)(a, b, out, n, bn);
}

// fn(std::integral_constant<int, op>{}) for a run-time binary op code; false for an unknown code.
template <class F>
bool ForBinaryOp(int op, F&& fn) {
  switch (op) {
#define NGC_CASE(C) \
  case C: fn(std::integral_constant<int, C>{}); return true;
    NGC_CASE(NG_BINARY_ADD)
    NGC_CASE(NG_BINARY_SUB)
    NGC_CASE(NG_BINARY_MUL)
    NGC_CASE(NG_BINARY_DIV)
    NGC_CASE(kBinaryPow)
    NGC_CASE(kBinaryMaximum)
    NGC_CASE(kBinaryMinimum)
    NGC_CASE(kBinaryMod)
    NGC_CASE(kBinaryFloorDiv)
    NGC_CASE(kBinaryAtan2)
    NGC_CASE(kBinarySquaredDifference)
#undef NGC_CASE
    default: return false;
  }
}

// ---- unary ----------------------------------------------------------------------------------------------

__device__ __forceinline__ double SigmoidD(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  const double e = exp(x);
  return e / (1.0 + e);
}

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSqrt1_2 = 0.70710678118654752440084436210485;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;

// log1p(e^-|x|), the stable half of softplus and logSigmoid.
__device__ __forceinline__ double Log1pExpNegAbs(double x) { return log1p(exp(-fabs(x))); }

template <int OP>
__device__ __forceinline__ float UnaryOp(float x, double alpha) {
  const double v = static_cast<double>(x);
  switch (OP) {
    case NG_UNARY_RELU: return x > 0.0f || x != x ? x : 0.0f;  // NaN stays, -0 -> +0
    case NG_UNARY_SIGMOID: return static_cast<float>(SigmoidD(static_cast<double>(x)));
    case NG_UNARY_TANH: return static_cast<float>(tanh(static_cast<double>(x)));
    case NG_UNARY_EXP: return static_cast<float>(exp(static_cast<double>(x)));
    case NG_UNARY_LOG: return static_cast<float>(log(static_cast<double>(x)));
    case NG_UNARY_SQRT: return sqrtf(x);  // IEEE (prec-sqrt)
    case NG_UNARY_SQUARE: return x * x;
    case NG_UNARY_NEG: return -x;
    case NG_UNARY_ABS: return fabsf(x);
    case NG_UNARY_LEAKY_RELU: return x > 0.0f ? x : static_cast<float>(alpha * static_cast<double>(x));
    case NG_UNARY_ELU: return x > 0.0f ? x : static_cast<float>(alpha * expm1(static_cast<double>(x)));
    case NG_UNARY_RELU6: {
      const float r = x > 0.0f || x != x ? x : 0.0f;  // NaN stays, -0 -> +0
      return r > 6.0f ? 6.0f : r;
    }
    case NG_UNARY_SELU: return static_cast<float>(kSeluScale * (v > 0 ? v : kSeluAlpha * expm1(v)));
    case NG_UNARY_SOFTPLUS: return static_cast<float>(Log1pExpNegAbs(v) + (v > 0 || v != v ? v : 0.0));
    case NG_UNARY_SOFTSIGN: return static_cast<float>(v / (1.0 + fabs(v)));
    case NG_UNARY_GELU: return static_cast<float>(0.5 * v * erfc(-v * kSqrt1_2));
    case NG_UNARY_SILU: return static_cast<float>(v * SigmoidD(v));
    case NG_UNARY_HARD_SIGMOID: {
      const double t = 0.2 * v + 0.5;  // two roundings (--fmad=false), as the reference
      const double r = t < 1.0 || t != t ? t : 1.0;
      return static_cast<float>(r > 0.0 || r != r ? r : 0.0);
    }
    case NG_UNARY_LOG_SIGMOID: return static_cast<float>((v < 0 || v != v ? v : 0.0) - Log1pExpNegAbs(v));
    case kUnarySign: return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;  // NaN and -0 stay
    case kUnaryRsqrt: return static_cast<float>(1.0 / sqrt(v));
    case kUnaryReciprocal: return static_cast<float>(1.0 / v);
    case kUnaryExpm1: return static_cast<float>(expm1(v));
    case kUnaryLog1p: return static_cast<float>(log1p(v));
    case kUnarySin: return static_cast<float>(sin(v));
    case kUnaryCos: return static_cast<float>(cos(v));
    case kUnaryTan: return static_cast<float>(tan(v));
    case kUnaryAsin: return static_cast<float>(asin(v));
    case kUnaryAcos: return static_cast<float>(acos(v));
    case kUnaryAtan: return static_cast<float>(atan(v));
    case kUnarySinh: return static_cast<float>(sinh(v));
    case kUnaryCosh: return static_cast<float>(cosh(v));
    case kUnaryFloor: return static_cast<float>(floor(v));
    case kUnaryCeil: return static_cast<float>(ceil(v));
    case kUnaryRound: return static_cast<float>(rint(v));  // half to even (the default rounding mode)
    case kUnaryErf: return static_cast<float>(erf(v));
    default: return x;
  }
}

template <int OP>
__global__ void UnaryKernel(const float* x, float* y, i64 n, double alpha) {
  NGC_FOR(i, n) y[i] = UnaryOp<OP>(x[i], alpha);
}

constexpr double kSeluScaleAlpha = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;

template <int OP>
__device__ __forceinline__ float UnaryGradOp(float xf, float yf, float gf, double alpha) {
  const double xv = xf, yv = yf, g = gf;
  switch (OP) {
    case NG_UNARY_GRAD_RELU: return xf > 0.0f ? gf : 0.0f;
    case NG_UNARY_GRAD_RELU6: return xf > 0.0f && xf < 6.0f ? gf : 0.0f;
    case NG_UNARY_GRAD_LEAKY_RELU: return static_cast<float>(xv > 0 ? g : alpha * g);
    case NG_UNARY_GRAD_ELU: return static_cast<float>(xv > 0 ? g : g * (yv + alpha));
    case NG_UNARY_GRAD_SELU: return static_cast<float>(xv > 0 ? g * kSeluScale : g * (yv + kSeluScaleAlpha));
    case NG_UNARY_GRAD_HARD_SIGMOID: return static_cast<float>(xv > -2.5 && xv < 2.5 ? g * 0.2 : 0.0);
    case NG_UNARY_GRAD_SIGMOID: return static_cast<float>(g * (yv * (1.0 - yv)));
    case NG_UNARY_GRAD_TANH: return static_cast<float>(g * (1.0 - yv * yv));
    case NG_UNARY_GRAD_SOFTSIGN: return static_cast<float>(g / ((1.0 + fabs(xv)) * (1.0 + fabs(xv))));
    case NG_UNARY_GRAD_GELU:
      return static_cast<float>(g * (0.5 * erfc(-xv * kSqrt1_2) + xv * (kInvSqrt2Pi * exp(-0.5 * xv * xv))));
    default: {
      // softplus, logSigmoid, silu: sigmoid(x) and sigmoid(-x) from one e = exp(-|x|), the larger one first.
      const double e = exp(-fabs(xv));
      const double r = 1.0 / (1.0 + e);
      const double p = r, q = e * r;
      const double s = xv >= 0 ? p : q, t = xv >= 0 ? q : p;
      const double d = OP == NG_UNARY_GRAD_SOFTPLUS ? s : OP == NG_UNARY_GRAD_LOG_SIGMOID ? t : s * (1.0 + xv * t);
      return static_cast<float>(g * d);
    }
  }
}

template <int OP>
__global__ void UnaryGradKernel(const float* x, const float* y, const float* dy, float* dx, i64 n, double alpha) {
  NGC_FOR(i, n) dx[i] = UnaryGradOp<OP>(x[i], y[i], dy[i], alpha);
}

__global__ void FillKernel(float* y, i64 n, float v) {
  NGC_FOR(i, n) y[i] = v;
}

__global__ void AxpbyKernel(double alpha, const float* x, double beta, float* y, i64 n) {
  NGC_FOR(i, n) y[i] = static_cast<float>(alpha * static_cast<double>(x[i]) + beta * static_cast<double>(y[i]));
}

// Op code -> kernel instantiation, checked at compile time against the code counts.
template <int OP>
void LaunchUnary(const float* x, float* y, i64 n, double alpha) {
  NGC_LAUNCH(GridFor(n), kThreads, UnaryKernel<OP>)(x, y, n, alpha);
}
template <int OP>
void LaunchUnaryGrad(const float* x, const float* y, const float* dy, float* dx, i64 n, double alpha) {
  NGC_LAUNCH(GridFor(n), kThreads, UnaryGradKernel<OP>)(x, y, dy, dx, n, alpha);
}

static_assert(kUnaryOpCount == 36 && NG_UNARY_GRAD_OP_COUNT == 13 && kBinaryOpCount == 11,
              "a new op code needs its case here");

}  // namespace

void BinaryF32(int op, const float* a, const float* b, float* out, i64 n, i64 bn) {
  if (n <= 0) return;
  const bool known = ForBinaryOp(op, [&](auto c) { LaunchBinary<decltype(c)::value>(a, b, out, n, bn); });
  if (!known) throw CudaError("ng_cuda_binary_f32", 0, "unknown op code " + std::to_string(op));
  CheckLaunch("ng_cuda_binary_f32");
}

void BinaryBroadcastF32(int op, const float* a, const float* b, float* out, const BroadcastPlan& plan) {
  const i64 n = PlanSize(plan);
  if (n <= 0) return;
  const bool known = ForBinaryOp(op, [&](auto c) {
    NGC_LAUNCH(GridFor(n), kThreads, BinaryBroadcastKernel<decltype(c)::value>)(a, b, out, n, plan);
  });
  if (!known) throw CudaError("ng_cuda_binary_broadcast_f32", 0, "unknown op code " + std::to_string(op));
  CheckLaunch("ng_cuda_binary_broadcast_f32");
}

void UnaryF32(int op, const float* x, float* y, i64 n, double alpha) {
  if (n <= 0) return;
  switch (op) {
#define NGC_CASE(C) \
  case C: LaunchUnary<C>(x, y, n, alpha); break;
    NGC_CASE(NG_UNARY_RELU)
    NGC_CASE(NG_UNARY_SIGMOID)
    NGC_CASE(NG_UNARY_TANH)
    NGC_CASE(NG_UNARY_EXP)
    NGC_CASE(NG_UNARY_LOG)
    NGC_CASE(NG_UNARY_SQRT)
    NGC_CASE(NG_UNARY_SQUARE)
    NGC_CASE(NG_UNARY_NEG)
    NGC_CASE(NG_UNARY_ABS)
    NGC_CASE(NG_UNARY_LEAKY_RELU)
    NGC_CASE(NG_UNARY_ELU)
    NGC_CASE(NG_UNARY_RELU6)
    NGC_CASE(NG_UNARY_SELU)
    NGC_CASE(NG_UNARY_SOFTPLUS)
    NGC_CASE(NG_UNARY_SOFTSIGN)
    NGC_CASE(NG_UNARY_GELU)
    NGC_CASE(NG_UNARY_SILU)
    NGC_CASE(NG_UNARY_HARD_SIGMOID)
    NGC_CASE(NG_UNARY_LOG_SIGMOID)
    NGC_CASE(kUnarySign)
    NGC_CASE(kUnaryRsqrt)
    NGC_CASE(kUnaryReciprocal)
    NGC_CASE(kUnaryExpm1)
    NGC_CASE(kUnaryLog1p)
    NGC_CASE(kUnarySin)
    NGC_CASE(kUnaryCos)
    NGC_CASE(kUnaryTan)
    NGC_CASE(kUnaryAsin)
    NGC_CASE(kUnaryAcos)
    NGC_CASE(kUnaryAtan)
    NGC_CASE(kUnarySinh)
    NGC_CASE(kUnaryCosh)
    NGC_CASE(kUnaryFloor)
    NGC_CASE(kUnaryCeil)
    NGC_CASE(kUnaryRound)
    NGC_CASE(kUnaryErf)
#undef NGC_CASE
    default: throw CudaError("ng_cuda_unary_f32", 0, "unknown op code " + std::to_string(op));
  }
  CheckLaunch("ng_cuda_unary_f32");
}

void UnaryGradF32(int op, const float* x, const float* y, const float* dy, float* dx, i64 n, double alpha) {
  if (n <= 0) return;
  switch (op) {
#define NGC_CASE(C) \
  case C: LaunchUnaryGrad<C>(x, y, dy, dx, n, alpha); break;
    NGC_CASE(NG_UNARY_GRAD_RELU)
    NGC_CASE(NG_UNARY_GRAD_RELU6)
    NGC_CASE(NG_UNARY_GRAD_LEAKY_RELU)
    NGC_CASE(NG_UNARY_GRAD_ELU)
    NGC_CASE(NG_UNARY_GRAD_SELU)
    NGC_CASE(NG_UNARY_GRAD_HARD_SIGMOID)
    NGC_CASE(NG_UNARY_GRAD_SIGMOID)
    NGC_CASE(NG_UNARY_GRAD_TANH)
    NGC_CASE(NG_UNARY_GRAD_SOFTSIGN)
    NGC_CASE(NG_UNARY_GRAD_SOFTPLUS)
    NGC_CASE(NG_UNARY_GRAD_LOG_SIGMOID)
    NGC_CASE(NG_UNARY_GRAD_SILU)
    NGC_CASE(NG_UNARY_GRAD_GELU)
#undef NGC_CASE
    default: throw CudaError("ng_cuda_unary_grad_f32", 0, "unknown op code " + std::to_string(op));
  }
  CheckLaunch("ng_cuda_unary_grad_f32");
}

void FillF32(float* y, i64 n, float value) {
  if (n <= 0) return;
  NGC_LAUNCH(GridFor(n), kThreads, FillKernel)(y, n, value);
  CheckLaunch("ng_cuda_fill_f32");
}

void AxpbyF32(double alpha, const float* x, double beta, float* y, i64 n) {
  if (n <= 0) return;
  NGC_LAUNCH(GridFor(n), kThreads, AxpbyKernel)(alpha, x, beta, y, n);
  CheckLaunch("ng_cuda_axpby_f32");
}

}  // namespace ngcuda
