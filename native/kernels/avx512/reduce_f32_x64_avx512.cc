/*
 * Reductions for AVX-512F (tile x64: 4 x 16 lanes per step, single vectors, then an opmask-predicated tail).
 * Sums widen each 16-float vector into two 8-double halves and accumulate in double. Max/min follow Math.max /
 * Math.min exactly: vrangeps gives the IEEE maximum with +0 > -0, and a NaN in either operand is put back
 * with an add (vrangeps itself would drop it).
 * Built only into nodegrad_avx512; plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <immintrin.h>
#include <math.h>

#include "nodegrad/eltwise.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's _mm512_castps512_ps256 / _mm512_cvtps_pd expand to a self-initialised "undefined" vector it then warns about.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE __mmask16 lane_mask(int v, int nv, __mmask16 tail) { return v == nv - 1 ? tail : (__mmask16)0xFFFF; }
NG_FORCE_INLINE __mmask16 tail_mask(size_t n) { return (__mmask16)((1u << n) - 1u); }
NG_FORCE_INLINE __m512d lo_pd(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
NG_FORCE_INLINE __m512d hi_pd(__m512 v) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)); }

// Math.max(m, v) (is_min: Math.min) per lane.
NG_FORCE_INLINE __m512 js_max(__m512 m, __m512 v, int is_min) {
  const __m512 r = is_min ? _mm512_range_ps(m, v, 0x04) : _mm512_range_ps(m, v, 0x05);
  return _mm512_mask_add_ps(r, _mm512_cmp_ps_mask(m, v, _CMP_UNORD_Q), m, v);
}

NG_FORCE_INLINE void colsum_block(const float* x, size_t ld, size_t rows, double* acc, int nv, __mmask16 tail) {
  __m512d l[4], h[4];
  for (int v = 0; v < nv; ++v) l[v] = h[v] = _mm512_setzero_pd();
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * ld;
    for (int v = 0; v < nv; ++v) {
      const __m512 xv = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), p + 16 * v);
      l[v] = _mm512_add_pd(l[v], lo_pd(xv));
      h[v] = _mm512_add_pd(h[v], hi_pd(xv));
    }
  }
  for (int v = 0; v < nv; ++v) {
    const __mmask16 k = lane_mask(v, nv, tail);
    const __mmask8 kl = (__mmask8)(k & 0xFF), kh = (__mmask8)(k >> 8);
    double* a = acc + 16 * v;
    _mm512_mask_storeu_pd(a, kl, _mm512_add_pd(_mm512_maskz_loadu_pd(kl, a), l[v]));
    _mm512_mask_storeu_pd(a + 8, kh, _mm512_add_pd(_mm512_maskz_loadu_pd(kh, a + 8), h[v]));
  }
}

extern "C" void ng_f32_colsum_x64_avx512(const float* x, size_t ld, size_t rows, size_t cols, double* acc) {
  size_t j = 0;
  for (; j + 64 <= cols; j += 64) colsum_block(x + j, ld, rows, acc + j, 4, 0xFFFF);
  for (; j + 16 <= cols; j += 16) colsum_block(x + j, ld, rows, acc + j, 1, 0xFFFF);
  if (j < cols) colsum_block(x + j, ld, rows, acc + j, 1, tail_mask(cols - j));
}

NG_FORCE_INLINE void colmax_block(const float* x, size_t ld, size_t rows, float* acc, int is_min, int nv,
                                __mmask16 tail) {
  __m512 m[4];
  for (int v = 0; v < nv; ++v) m[v] = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), acc + 16 * v);
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * ld;
    for (int v = 0; v < nv; ++v) m[v] = js_max(m[v], _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), p + 16 * v), is_min);
  }
  for (int v = 0; v < nv; ++v) _mm512_mask_storeu_ps(acc + 16 * v, lane_mask(v, nv, tail), m[v]);
}

extern "C" void ng_f32_colmax_x64_avx512(const float* x, size_t ld, size_t rows, size_t cols, float* acc, int is_min) {
  size_t j = 0;
  for (; j + 64 <= cols; j += 64) colmax_block(x + j, ld, rows, acc + j, is_min, 4, 0xFFFF);
  for (; j + 16 <= cols; j += 16) colmax_block(x + j, ld, rows, acc + j, is_min, 1, 0xFFFF);
  if (j < cols) colmax_block(x + j, ld, rows, acc + j, is_min, 1, tail_mask(cols - j));
}

extern "C" double ng_f32_sum_x64_avx512(const float* x, size_t n) {
  __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 u = _mm512_loadu_ps(x + i), w = _mm512_loadu_ps(x + i + 16);
    a0 = _mm512_add_pd(a0, lo_pd(u));
    a1 = _mm512_add_pd(a1, hi_pd(u));
    a2 = _mm512_add_pd(a2, lo_pd(w));
    a3 = _mm512_add_pd(a3, hi_pd(w));
  }
  for (; i < n; i += 16) {
    const __m512 u = _mm512_maskz_loadu_ps(n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i), x + i);
    a0 = _mm512_add_pd(a0, lo_pd(u));
    a1 = _mm512_add_pd(a1, hi_pd(u));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
}

extern "C" float ng_f32_max_x64_avx512(const float* x, size_t n, int is_min) {
  const __m512 init = _mm512_set1_ps(is_min ? INFINITY : -INFINITY);
  __m512 m0 = init, m1 = init;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    m0 = js_max(m0, _mm512_loadu_ps(x + i), is_min);
    m1 = js_max(m1, _mm512_loadu_ps(x + i + 16), is_min);
  }
  for (; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
    m0 = js_max(m0, _mm512_mask_loadu_ps(init, k, x + i), is_min);  // masked-off lanes keep the identity
  }
  m0 = js_max(m0, m1, is_min);
  float lanes[16];
  _mm512_storeu_ps(lanes, m0);
  __m512 r = _mm512_set1_ps(lanes[0]);
  for (int l = 1; l < 16; ++l) r = js_max(r, _mm512_set1_ps(lanes[l]), is_min);
  return _mm512_cvtss_f32(r);
}
