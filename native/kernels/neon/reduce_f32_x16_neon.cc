/*
 * Reductions for AArch64 NEON (tile x16: 4 x 4 lanes per step, single vectors, then a 1-3 lane tail through a
 * padded buffer). Sums widen each 4-float vector into two float64x2 and accumulate in double. FMAX/FMIN
 * (vmaxq_f32 / vminq_f32) already are Math.max / Math.min: NaN propagates and +0 > -0.
 * Plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <arm_neon.h>
#include <math.h>

#include "nodegrad/eltwise.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE float32x4_t ld_fill(const float* p, int v, int nv, size_t tn, float fill) {
  if (tn == 0 || v != nv - 1) return vld1q_f32(p);
  float t[4] = {fill, fill, fill, fill};
  for (size_t i = 0; i < tn; ++i) t[i] = p[i];
  return vld1q_f32(t);
}
NG_FORCE_INLINE float64x2_t lo_pd(float32x4_t v) { return vcvt_f64_f32(vget_low_f32(v)); }
NG_FORCE_INLINE float64x2_t hi_pd(float32x4_t v) { return vcvt_high_f64_f32(v); }
NG_FORCE_INLINE float32x4_t js_max(float32x4_t m, float32x4_t v, int is_min) {
  return is_min ? vminq_f32(m, v) : vmaxq_f32(m, v);
}

NG_FORCE_INLINE void colsum_block(const float* x, size_t ld, size_t rows, double* acc, int nv, size_t tn) {
  float64x2_t l[4], h[4];
  for (int v = 0; v < nv; ++v) l[v] = h[v] = vdupq_n_f64(0.0);
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * ld;
    for (int v = 0; v < nv; ++v) {
      const float32x4_t xv = ld_fill(p + 4 * v, v, nv, tn, 0.0f);
      l[v] = vaddq_f64(l[v], lo_pd(xv));
      h[v] = vaddq_f64(h[v], hi_pd(xv));
    }
  }
  for (int v = 0; v < nv; ++v) {
    double t[4];
    vst1q_f64(t, l[v]);
    vst1q_f64(t + 2, h[v]);
    const size_t n = (tn == 0 || v != nv - 1) ? 4 : tn;
    for (size_t i = 0; i < n; ++i) acc[4 * v + i] += t[i];
  }
}

extern "C" void ng_f32_colsum_x16_neon(const float* x, size_t ld, size_t rows, size_t cols, double* acc) {
  size_t j = 0;
  for (; j + 16 <= cols; j += 16) colsum_block(x + j, ld, rows, acc + j, 4, 0);
  for (; j + 4 <= cols; j += 4) colsum_block(x + j, ld, rows, acc + j, 1, 0);
  if (j < cols) colsum_block(x + j, ld, rows, acc + j, 1, cols - j);
}

NG_FORCE_INLINE void colmax_block(const float* x, size_t ld, size_t rows, float* acc, int is_min, int nv, size_t tn) {
  float32x4_t m[4];
  for (int v = 0; v < nv; ++v) m[v] = ld_fill(acc + 4 * v, v, nv, tn, 0.0f);
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * ld;
    for (int v = 0; v < nv; ++v) m[v] = js_max(m[v], ld_fill(p + 4 * v, v, nv, tn, 0.0f), is_min);
  }
  for (int v = 0; v < nv; ++v) {
    float t[4];
    vst1q_f32(t, m[v]);
    const size_t n = (tn == 0 || v != nv - 1) ? 4 : tn;
    for (size_t i = 0; i < n; ++i) acc[4 * v + i] = t[i];
  }
}

extern "C" void ng_f32_colmax_x16_neon(const float* x, size_t ld, size_t rows, size_t cols, float* acc, int is_min) {
  size_t j = 0;
  for (; j + 16 <= cols; j += 16) colmax_block(x + j, ld, rows, acc + j, is_min, 4, 0);
  for (; j + 4 <= cols; j += 4) colmax_block(x + j, ld, rows, acc + j, is_min, 1, 0);
  if (j < cols) colmax_block(x + j, ld, rows, acc + j, is_min, 1, cols - j);
}

extern "C" double ng_f32_sum_x16_neon(const float* x, size_t n) {
  float64x2_t a0 = vdupq_n_f64(0.0), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t u = vld1q_f32(x + i), w = vld1q_f32(x + i + 4);
    a0 = vaddq_f64(a0, lo_pd(u));
    a1 = vaddq_f64(a1, hi_pd(u));
    a2 = vaddq_f64(a2, lo_pd(w));
    a3 = vaddq_f64(a3, hi_pd(w));
  }
  for (; i < n; i += 4) {
    const float32x4_t u = ld_fill(x + i, 0, 1, n - i >= 4 ? 0 : n - i, 0.0f);
    a0 = vaddq_f64(a0, lo_pd(u));
    a1 = vaddq_f64(a1, hi_pd(u));
  }
  return vaddvq_f64(vaddq_f64(vaddq_f64(a0, a1), vaddq_f64(a2, a3)));
}

extern "C" float ng_f32_max_x16_neon(const float* x, size_t n, int is_min) {
  const float id = is_min ? INFINITY : -INFINITY;
  float32x4_t m0 = vdupq_n_f32(id), m1 = m0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    m0 = js_max(m0, vld1q_f32(x + i), is_min);
    m1 = js_max(m1, vld1q_f32(x + i + 4), is_min);
  }
  for (; i < n; i += 4) m0 = js_max(m0, ld_fill(x + i, 0, 1, n - i >= 4 ? 0 : n - i, id), is_min);
  m0 = js_max(m0, m1, is_min);
  return is_min ? vminvq_f32(m0) : vmaxvq_f32(m0);  // FMINV/FMAXV: NaN-propagating, same semantics
}
