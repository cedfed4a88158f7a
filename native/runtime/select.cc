// Selection and conversion drivers (select.h); broadcast plans run row by row (broadcast.h).
#include "select.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "broadcast.h"
#include "thread_pool.h"

namespace nodegrad {

namespace {

using i64 = std::int64_t;

constexpr std::size_t kTaskElems = kBroadcastTaskElems;

template <class T, class Op>
void CompareRows(const T* a, const T* b, std::int32_t* out, const ng_broadcast_plan& p, Op op) {
  const int last = p.rank - 1;
  WithStride(p.stride[0][last], [&](auto sa) {
    WithStride(p.stride[1][last], [&](auto sb) {
      ForEachRow(p, 2, [&](i64 o, const i64* off, i64 n) {
        const T* x = a + off[0];
        const T* y = b + off[1];
        std::int32_t* d = out + o;
        for (i64 j = 0; j < n; ++j) d[j] = op(x[j * sa], y[j * sb]) ? 1 : 0;
      });
    });
  });
}

template <class T>
void CompareTyped(int op, const T* a, const T* b, std::int32_t* out, const ng_broadcast_plan& p) {
  switch (op) {
    case NG_CMP_EQUAL: return CompareRows(a, b, out, p, [](T u, T v) { return u == v; });
    case NG_CMP_NOT_EQUAL: return CompareRows(a, b, out, p, [](T u, T v) { return u != v; });
    case NG_CMP_LESS: return CompareRows(a, b, out, p, [](T u, T v) { return u < v; });
    case NG_CMP_LESS_EQUAL: return CompareRows(a, b, out, p, [](T u, T v) { return u <= v; });
    case NG_CMP_GREATER: return CompareRows(a, b, out, p, [](T u, T v) { return u > v; });
    case NG_CMP_GREATER_EQUAL: return CompareRows(a, b, out, p, [](T u, T v) { return u >= v; });
    // NaN != 0, so NaN counts as true (C's truthiness, as the reference's a !== 0).
    case NG_CMP_LOGICAL_AND: return CompareRows(a, b, out, p, [](T u, T v) { return u != T(0) && v != T(0); });
    default: return CompareRows(a, b, out, p, [](T u, T v) { return u != T(0) || v != T(0); });
  }
}

// ECMAScript ToInt32, the Int32Array store: NaN and infinities 0, otherwise truncated modulo 2^32.
std::int32_t ToInt32(double v) {
  if (!std::isfinite(v)) return 0;
  double m = std::fmod(std::trunc(v), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(m));
}

// lo above hi in Math.max / Math.min's order, where -0 is below +0: every result is then hi.
bool Crossed(double lo, double hi) { return lo > hi || (lo == hi && std::signbit(hi) && !std::signbit(lo)); }

// The select loops of the clips, apart with their bounds by value so that no store can change them and they vectorise
// (x may be out itself: each element is read before it is written).
void ClipRowF32(const float* x, float* out, std::size_t n, float lo_t, float hi_t, float lo_f, float hi_f) {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    out[i] = v < lo_t ? lo_f : v > hi_t ? hi_f : v;
  }
}

void ClipRowI32(const std::int32_t* x, std::int32_t* out, std::size_t n, double lo, double hi, std::int32_t lo_i,
                std::int32_t hi_i) {
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i];
    out[i] = v < lo ? lo_i : v > hi ? hi_i : x[i];
  }
}

}  // namespace

void Compare(int op, bool is_int, const void* a, const void* b, std::int32_t* out, const ng_broadcast_plan& plan) {
  const ng_broadcast_plan p = SimplifyPlan(plan, 2);
  if (is_int) CompareTyped(op, static_cast<const std::int32_t*>(a), static_cast<const std::int32_t*>(b), out, p);
  else CompareTyped(op, static_cast<const float*>(a), static_cast<const float*>(b), out, p);
}

void Where32(const std::int32_t* cond, const std::uint32_t* a, const std::uint32_t* b, std::uint32_t* out,
             const ng_broadcast_plan& plan) {
  const ng_broadcast_plan p = SimplifyPlan(plan, 3);
  const int last = p.rank - 1;
  WithStride(p.stride[0][last], [&](auto sc) {
    WithStride(p.stride[1][last], [&](auto sa) {
      WithStride(p.stride[2][last], [&](auto sb) {
        ForEachRow(p, 3, [&](i64 o, const i64* off, i64 n) {
          const std::int32_t* c = cond + off[0];
          const std::uint32_t* x = a + off[1];
          const std::uint32_t* y = b + off[2];
          std::uint32_t* d = out + o;
          // A mask, not a branch: conditions are often random, and the select vectorises.
          for (i64 j = 0; j < n; ++j) {
            const std::uint32_t m = 0u - static_cast<std::uint32_t>(c[j * sc] != 0);
            d[j] = (x[j * sa] & m) | (y[j * sb] & ~m);
          }
        });
      });
    });
  });
}

// Math.min(Math.max(x, lo), hi) as two selects in float: x below lo gives lo's float32 rounding, x above hi hi's,
// anything else (NaN included) x itself. "Below lo" is below the smallest float >= lo (lo is a double); a +0
// bound also counts -0 as below it and a -0 bound +0 as above it, as Math.max and Math.min order the zeros, so
// those thresholds move one subnormal out.
void ClipF32(const float* x, float* out, std::size_t n, double lo, double hi) {
  const float lo_f = static_cast<float>(lo), hi_f = static_cast<float>(hi);
  if (std::isnan(lo) || std::isnan(hi)) {
    std::fill(out, out + n, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  if (Crossed(lo, hi)) {
    ForRanges(n, kTaskElems, [&](std::size_t i0, std::size_t i1) {
      for (std::size_t i = i0; i < i1; ++i) out[i] = std::isnan(x[i]) ? x[i] : hi_f;
    });
    return;
  }
  float lo_t = static_cast<double>(lo_f) < lo ? std::nextafter(lo_f, INFINITY) : lo_f;
  float hi_t = static_cast<double>(hi_f) > hi ? std::nextafter(hi_f, -INFINITY) : hi_f;
  if (lo == 0 && !std::signbit(lo)) lo_t = std::nextafter(0.0f, 1.0f);
  if (hi == 0 && std::signbit(hi)) hi_t = std::nextafter(-0.0f, -1.0f);
  ForRanges(n, kTaskElems, [&](std::size_t i0, std::size_t i1) {
    ClipRowF32(x + i0, out + i0, i1 - i0, lo_t, hi_t, lo_f, hi_f);
  });
}

// As ClipF32 on int32 x (never -0), stored by ToInt32. A NaN bound makes every result NaN, stored as 0; crossed
// bounds make every result hi.
void ClipI32(const std::int32_t* x, std::int32_t* out, std::size_t n, double lo, double hi) {
  const bool nan = std::isnan(lo) || std::isnan(hi);
  if (nan || lo > hi) {
    std::fill(out, out + n, nan ? 0 : ToInt32(hi));
    return;
  }
  ForRanges(n, kTaskElems, [&](std::size_t i0, std::size_t i1) {
    ClipRowI32(x + i0, out + i0, i1 - i0, lo, hi, ToInt32(lo), ToInt32(hi));
  });
}

// Truncation toward zero, NaN to 0, saturating outside the int32 range (the reference's, as TF's cast).
void CastF32ToI32(const float* x, std::int32_t* out, std::size_t n) {
  ForRanges(n, kTaskElems, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) {
      const float v = x[i];
      const bool big = v >= 2147483648.0f;
      // Clamped into the convertible range first, so the conversion is defined and the loop vectorises.
      const float safe = big || std::isnan(v) ? 0.0f : std::max(v, -2147483648.0f);
      out[i] = big ? INT32_MAX : static_cast<std::int32_t>(safe);
    }
  });
}

void CastI32ToF32(const std::int32_t* x, float* out, std::size_t n) {
  ForRanges(n, kTaskElems, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) out[i] = static_cast<float>(x[i]);  // to nearest even, as Float32Array.from
  });
}

}  // namespace nodegrad
