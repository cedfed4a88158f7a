/*
 * compare, where, clip, cast and argReduce (ngcuda/select.h), one thread per output element, with the JavaScript
 * semantics of the reference backend: comparisons of the stored values, Math.max / Math.min in double, the typed
 * arrays' stores (float32 rounding, ToInt32), first-NaN-wins arg reductions. Exact to the reference's bits.
 */
#include <cuda_runtime.h>

#include <cmath>

#include "common.cuh"
#include "ngcuda/select.h"

namespace ngcuda {

namespace {

template <class T>
__device__ __forceinline__ bool CompareValues(int op, T a, T b) {
  switch (op) {
    case kCmpEqual: return a == b;
    case kCmpNotEqual: return a != b;  // true for NaN, as JS !==
    case kCmpLess: return a < b;
    case kCmpLessEqual: return a <= b;
    case kCmpGreater: return a > b;
    case kCmpGreaterEqual: return a >= b;
    case kCmpLogicalAnd: return a != T(0) && b != T(0);  // NaN != 0: true
    default: return a != T(0) || b != T(0);
  }
}

template <class T>
__global__ void CompareKernel(int op, const T* __restrict__ a, const T* __restrict__ b, std::int32_t* __restrict__ out,
                              i64 n, BroadcastPlan plan) {
  NGC_FOR(i, n) {
    i64 off[2];
    BroadcastOffsets(plan, i, 2, off);
    out[i] = CompareValues<T>(op, a[off[0]], b[off[1]]) ? 1 : 0;
  }
}

__global__ void WhereKernel(const std::int32_t* __restrict__ cond, const std::uint32_t* __restrict__ a,
                            const std::uint32_t* __restrict__ b, std::uint32_t* __restrict__ out, i64 n,
                            BroadcastPlan plan) {
  NGC_FOR(i, n) {
    i64 off[3];
    BroadcastOffsets(plan, i, 3, off);
    out[i] = cond[off[0]] != 0 ? a[off[1]] : b[off[2]];
  }
}

// Math.max (is_min: Math.min) on doubles: NaN if either is NaN; of two zeros, max is +0 unless both are -0.
__device__ __forceinline__ double JsMaxD(double a, double b, bool is_min) {
  if (a != a || b != b) return a + b;
  if (a == b) return is_min ? (signbit(a) ? a : b) : (signbit(a) ? b : a);
  return is_min ? (a < b ? a : b) : (a > b ? a : b);
}

// The ECMAScript ToInt32 of an Int32Array store: NaN and infinities 0, otherwise truncated modulo 2^32.
__device__ __forceinline__ std::int32_t ToInt32(double v) {
  if (!(v - v == 0.0)) return 0;
  double m = fmod(trunc(v), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(m));
}

__global__ void ClipF32Kernel(const float* __restrict__ x, float* __restrict__ out, i64 n, double lo, double hi) {
  NGC_FOR(i, n) out[i] = static_cast<float>(JsMaxD(JsMaxD(static_cast<double>(x[i]), lo, false), hi, true));
}

__global__ void ClipI32Kernel(const std::int32_t* __restrict__ x, std::int32_t* __restrict__ out, i64 n, double lo,
                              double hi) {
  NGC_FOR(i, n) out[i] = ToInt32(JsMaxD(JsMaxD(static_cast<double>(x[i]), lo, false), hi, true));
}

__global__ void CastF32ToI32Kernel(const float* __restrict__ x, std::int32_t* __restrict__ out, i64 n) {
  NGC_FOR(i, n) {
    const float v = x[i];
    out[i] = v != v ? 0 : v <= -2147483648.0f ? INT32_MIN : v >= 2147483647.0f ? INT32_MAX : static_cast<std::int32_t>(v);
  }
}

__global__ void CastI32ToF32Kernel(const std::int32_t* __restrict__ x, float* __restrict__ out, i64 n) {
  NGC_FOR(i, n) out[i] = static_cast<float>(x[i]);  // round to nearest even, as Float32Array.from
}

template <class T>
__global__ void ArgReduceKernel(bool is_min, const T* __restrict__ x, std::int32_t* __restrict__ out, i64 outer,
                                i64 len, i64 inner) {
  NGC_FOR(i, outer * inner) {
    const i64 o = i / inner, k = i - o * inner;
    const T* row = x + o * len * inner + k;
    std::int32_t best_idx = 0;
    if (len > 0) {
      T best = row[0];
      for (i64 j = 1; j < len && best == best; ++j) {  // stops at the first NaN, which wins
        const T v = row[j * inner];
        if (v != v || (is_min ? v < best : v > best)) {
          best = v;
          best_idx = static_cast<std::int32_t>(j);
        }
      }
    }
    out[i] = best_idx;
  }
}

}  // namespace

void Compare(int op, bool is_int, const void* a, const void* b, std::int32_t* out, const BroadcastPlan& plan) {
  const i64 n = PlanSize(plan);
  if (n <= 0) return;
  if (is_int) {
    NGC_LAUNCH(GridFor(n), kThreads, CompareKernel<std::int32_t>)(op, static_cast<const std::int32_t*>(a),
                                                                  static_cast<const std::int32_t*>(b), out, n, plan);
  } else {
    NGC_LAUNCH(GridFor(n), kThreads, CompareKernel<float>)(op, static_cast<const float*>(a),
                                                           static_cast<const float*>(b), out, n, plan);
  }
  CheckLaunch("ng_cuda_compare");
}

void Where32(const std::int32_t* cond, const std::uint32_t* a, const std::uint32_t* b, std::uint32_t* out,
             const BroadcastPlan& plan) {
  const i64 n = PlanSize(plan);
  if (n <= 0) return;
  NGC_LAUNCH(GridFor(n), kThreads, WhereKernel)(cond, a, b, out, n, plan);
  CheckLaunch("ng_cuda_where_32");
}

void ClipF32(const float* x, float* out, i64 n, double lo, double hi) {
  if (n <= 0) return;
  NGC_LAUNCH(GridFor(n), kThreads, ClipF32Kernel)(x, out, n, lo, hi);
  CheckLaunch("ng_cuda_clip_f32");
}

void ClipI32(const std::int32_t* x, std::int32_t* out, i64 n, double lo, double hi) {
  if (n <= 0) return;
  NGC_LAUNCH(GridFor(n), kThreads, ClipI32Kernel)(x, out, n, lo, hi);
  CheckLaunch("ng_cuda_clip_i32");
}

void CastF32ToI32(const float* x, std::int32_t* out, i64 n) {
  if (n <= 0) return;
  NGC_LAUNCH(GridFor(n), kThreads, CastF32ToI32Kernel)(x, out, n);
  CheckLaunch("ng_cuda_cast_f32_i32");
}

void CastI32ToF32(const std::int32_t* x, float* out, i64 n) {
  if (n <= 0) return;
  NGC_LAUNCH(GridFor(n), kThreads, CastI32ToF32Kernel)(x, out, n);
  CheckLaunch("ng_cuda_cast_i32_f32");
}

void ArgReduce(bool is_min, bool is_int, const void* x, std::int32_t* out, i64 outer, i64 len, i64 inner) {
  const i64 n = outer * inner;
  if (n <= 0) return;
  if (is_int) {
    NGC_LAUNCH(GridFor(n), kThreads, ArgReduceKernel<std::int32_t>)(is_min, static_cast<const std::int32_t*>(x), out,
                                                                    outer, len, inner);
  } else {
    NGC_LAUNCH(GridFor(n), kThreads, ArgReduceKernel<float>)(is_min, static_cast<const float*>(x), out, outer, len,
                                                             inner);
  }
  CheckLaunch("ng_cuda_arg_reduce");
}

}  // namespace ngcuda
