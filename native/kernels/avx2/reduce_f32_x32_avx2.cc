/*
 * Reductions for AVX2 (tile x32: 4 x 8 lanes per step, single vectors, then a maskload tail). Sums widen each
 * 8-float vector into two 4-double halves and accumulate in double. Max/min follow Math.max / Math.min exactly:
 * vmaxps/vminps, then equal operands (the +-0 case) combine bitwise (and: +0 wins a max; or: -0 wins a min),
 * and a NaN in either operand is put back with an add.
 * Built only into nodegrad_avx2; plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <immintrin.h>
#include <math.h>

#include "nodegrad/eltwise.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE __m256i first_lanes(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
NG_FORCE_INLINE __m256 ld(const float* p, int v, int nv, const __m256i* tail) {
  return (tail && v == nv - 1) ? _mm256_maskload_ps(p, *tail) : _mm256_loadu_ps(p);
}
NG_FORCE_INLINE void st(float* p, int v, int nv, const __m256i* tail, __m256 x) {
  if (tail && v == nv - 1) _mm256_maskstore_ps(p, *tail, x);
  else _mm256_storeu_ps(p, x);
}
NG_FORCE_INLINE __m256d lo_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
NG_FORCE_INLINE __m256d hi_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

// Math.max(m, v) (is_min: Math.min) per lane.
NG_FORCE_INLINE __m256 js_max(__m256 m, __m256 v, int is_min) {
  __m256 r = is_min ? _mm256_min_ps(m, v) : _mm256_max_ps(m, v);
  const __m256 zeros = is_min ? _mm256_or_ps(m, v) : _mm256_and_ps(m, v);
  r = _mm256_blendv_ps(r, zeros, _mm256_cmp_ps(m, v, _CMP_EQ_OQ));
  return _mm256_blendv_ps(r, _mm256_add_ps(m, v), _mm256_cmp_ps(m, v, _CMP_UNORD_Q));
}

NG_FORCE_INLINE void colsum_block(const float* x, size_t ld_, size_t rows, double* acc, int nv, const __m256i* tail,
                                size_t ntail) {
  __m256d l[4], h[4];
  for (int v = 0; v < nv; ++v) l[v] = h[v] = _mm256_setzero_pd();
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * ld_;
    for (int v = 0; v < nv; ++v) {
      const __m256 xv = ld(p + 8 * v, v, nv, tail);
      l[v] = _mm256_add_pd(l[v], lo_pd(xv));
      h[v] = _mm256_add_pd(h[v], hi_pd(xv));
    }
  }
  for (int v = 0; v < nv; ++v) {
    double* a = acc + 8 * v;
    if (tail && v == nv - 1) {
      double t[8];
      _mm256_storeu_pd(t, l[v]);
      _mm256_storeu_pd(t + 4, h[v]);
      for (size_t i = 0; i < ntail; ++i) a[i] += t[i];
    } else {
      _mm256_storeu_pd(a, _mm256_add_pd(_mm256_loadu_pd(a), l[v]));
      _mm256_storeu_pd(a + 4, _mm256_add_pd(_mm256_loadu_pd(a + 4), h[v]));
    }
  }
}

extern "C" void ng_f32_colsum_x32_avx2(const float* x, size_t ld, size_t rows, size_t cols, double* acc) {
  size_t j = 0;
  for (; j + 32 <= cols; j += 32) colsum_block(x + j, ld, rows, acc + j, 4, 0, 0);
  for (; j + 8 <= cols; j += 8) colsum_block(x + j, ld, rows, acc + j, 1, 0, 0);
  if (j < cols) {
    const __m256i tl = first_lanes(cols - j);
    colsum_block(x + j, ld, rows, acc + j, 1, &tl, cols - j);
  }
}

NG_FORCE_INLINE void colmax_block(const float* x, size_t ld_, size_t rows, float* acc, int is_min, int nv,
                                const __m256i* tail) {
  __m256 m[4];
  for (int v = 0; v < nv; ++v) m[v] = ld(acc + 8 * v, v, nv, tail);
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * ld_;
    for (int v = 0; v < nv; ++v) m[v] = js_max(m[v], ld(p + 8 * v, v, nv, tail), is_min);
  }
  for (int v = 0; v < nv; ++v) st(acc + 8 * v, v, nv, tail, m[v]);
}

extern "C" void ng_f32_colmax_x32_avx2(const float* x, size_t ld, size_t rows, size_t cols, float* acc, int is_min) {
  size_t j = 0;
  for (; j + 32 <= cols; j += 32) colmax_block(x + j, ld, rows, acc + j, is_min, 4, 0);
  for (; j + 8 <= cols; j += 8) colmax_block(x + j, ld, rows, acc + j, is_min, 1, 0);
  if (j < cols) {
    const __m256i tl = first_lanes(cols - j);
    colmax_block(x + j, ld, rows, acc + j, is_min, 1, &tl);
  }
}

extern "C" double ng_f32_sum_x32_avx2(const float* x, size_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 u = _mm256_loadu_ps(x + i), w = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_add_pd(a0, lo_pd(u));
    a1 = _mm256_add_pd(a1, hi_pd(u));
    a2 = _mm256_add_pd(a2, lo_pd(w));
    a3 = _mm256_add_pd(a3, hi_pd(w));
  }
  for (; i < n; i += 8) {
    const __m256 u = n - i >= 8 ? _mm256_loadu_ps(x + i) : _mm256_maskload_ps(x + i, first_lanes(n - i));
    a0 = _mm256_add_pd(a0, lo_pd(u));
    a1 = _mm256_add_pd(a1, hi_pd(u));
  }
  double t[4];
  _mm256_storeu_pd(t, _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
  return (t[0] + t[1]) + (t[2] + t[3]);
}

extern "C" float ng_f32_max_x32_avx2(const float* x, size_t n, int is_min) {
  const __m256 init = _mm256_set1_ps(is_min ? INFINITY : -INFINITY);
  __m256 m0 = init, m1 = init;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = js_max(m0, _mm256_loadu_ps(x + i), is_min);
    m1 = js_max(m1, _mm256_loadu_ps(x + i + 8), is_min);
  }
  for (; i < n; i += 8) {
    __m256 u;
    if (n - i >= 8) {
      u = _mm256_loadu_ps(x + i);
    } else {  // masked-off lanes take the identity
      const __m256i k = first_lanes(n - i);
      u = _mm256_blendv_ps(init, _mm256_maskload_ps(x + i, k), _mm256_castsi256_ps(k));
    }
    m0 = js_max(m0, u, is_min);
  }
  m0 = js_max(m0, m1, is_min);
  float lanes[8];
  _mm256_storeu_ps(lanes, m0);
  __m256 r = _mm256_set1_ps(lanes[0]);
  for (int l = 1; l < 8; ++l) r = js_max(r, _mm256_set1_ps(lanes[l]), is_min);
  return _mm256_cvtss_f32(r);
}
