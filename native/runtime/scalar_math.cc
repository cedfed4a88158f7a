// Broadcasting binary arithmetic and scalar unary maths (scalar_math.h): each op the reference's JavaScript formula in
// double, one float32 rounding on store.
#include "scalar_math.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "broadcast.h"
#include "thread_pool.h"

namespace nodegrad {

namespace {

using i64 = std::int64_t;

// The NaN V8's Math.max and Math.min return for any NaN operand (x86's default NaN), whatever its payload.
constexpr double kNaN = -std::numeric_limits<double>::quiet_NaN();

// Math.max / Math.min: NaN if either is NaN, and +0 above -0.
double Maximum(double a, double b) {
  const double m = a > b ? a : b;
  const double z = a == b && std::signbit(b) ? a : m;  // equal zeros: -0 only if both are
  return a != a || b != b ? kNaN : z;
}

double Minimum(double a, double b) {
  const double m = a < b ? a : b;
  const double z = a == b && std::signbit(a) ? a : m;  // equal zeros: -0 if either is
  return a != a || b != b ? kNaN : z;
}

template <class Op>
void BinaryRows(const float* a, const float* b, float* out, const ng_broadcast_plan& p, Op op) {
  const int last = p.rank - 1;
  WithStride(p.stride[0][last], [&](auto sa) {
    WithStride(p.stride[1][last], [&](auto sb) {
      ForEachRow(p, 2, [&](i64 o, const i64* off, i64 n) {
        const float* x = a + off[0];
        const float* y = b + off[1];
        float* d = out + o;
        for (i64 j = 0; j < n; ++j) d[j] = static_cast<float>(op(double(x[j * sa]), double(y[j * sb])));
      });
    });
  });
}

template <class Op>
void UnaryLoop(const float* x, float* y, std::size_t n, Op op) {
  ForRanges(n, kBroadcastTaskElems, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) y[i] = static_cast<float>(op(double(x[i])));
  });
}

}  // namespace

void BroadcastBinaryF32(int op, const float* a, const float* b, float* out, const ng_broadcast_plan& plan) {
  const ng_broadcast_plan p = SimplifyPlan(plan, 2);
  switch (op) {
    case kBinAdd: return BinaryRows(a, b, out, p, [](double u, double v) { return u + v; });
    case kBinSub: return BinaryRows(a, b, out, p, [](double u, double v) { return u - v; });
    case kBinMul: return BinaryRows(a, b, out, p, [](double u, double v) { return u * v; });
    case kBinDiv: return BinaryRows(a, b, out, p, [](double u, double v) { return u / v; });
    case kBinMaximum: return BinaryRows(a, b, out, p, [](double u, double v) { return Maximum(u, v); });
    case kBinMinimum: return BinaryRows(a, b, out, p, [](double u, double v) { return Minimum(u, v); });
    case kBinFloorDiv: return BinaryRows(a, b, out, p, [](double u, double v) { return std::floor(u / v); });
    case kBinAtan2: return BinaryRows(a, b, out, p, [](double u, double v) { return std::atan2(u, v); });
    default: return BinaryRows(a, b, out, p, [](double u, double v) { return (u - v) * (u - v); });
  }
}

void MathUnaryF32(int op, const float* x, float* y, std::size_t n) {
  switch (op) {
    // Keeps NaN and signed zero.
    case kMathSign: return UnaryLoop(x, y, n, [](double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : v; });
    case kMathRsqrt: return UnaryLoop(x, y, n, [](double v) { return 1 / std::sqrt(v); });
    case kMathReciprocal: return UnaryLoop(x, y, n, [](double v) { return 1 / v; });
    case kMathExpm1: return UnaryLoop(x, y, n, [](double v) { return std::expm1(v); });
    case kMathSin: return UnaryLoop(x, y, n, [](double v) { return std::sin(v); });
    case kMathCos: return UnaryLoop(x, y, n, [](double v) { return std::cos(v); });
    case kMathTan: return UnaryLoop(x, y, n, [](double v) { return std::tan(v); });
    case kMathAtan: return UnaryLoop(x, y, n, [](double v) { return std::atan(v); });
    case kMathSinh: return UnaryLoop(x, y, n, [](double v) { return std::sinh(v); });
    case kMathCosh: return UnaryLoop(x, y, n, [](double v) { return std::cosh(v); });
    case kMathFloor: return UnaryLoop(x, y, n, [](double v) { return std::floor(v); });
    case kMathCeil: return UnaryLoop(x, y, n, [](double v) { return std::ceil(v); });
    // Half to even in the default rounding mode, as the reference's roundHalfEven (-0.5 gives -0 in both).
    default: return UnaryLoop(x, y, n, [](double v) { return std::nearbyint(v); });
  }
}

}  // namespace nodegrad
