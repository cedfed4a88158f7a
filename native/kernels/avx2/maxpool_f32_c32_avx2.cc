/*
 * Max pooling forward and backward for AVX2 (tile c32: 4 x 8 channels per step, then single vectors, then one
 * maskload/maskstore vector for the channel tail). Same structure and semantics as the AVX-512 kernel: the
 * running maximum is replaced only by a larger value or the first NaN; the backward recomputes the first argmax
 * per lane and writes dy there, 0 at the window's other pixels.
 * Built only into nodegrad_avx2; plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <immintrin.h>

#include "nodegrad/pool.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE ptrdiff_t max_pd(ptrdiff_t a, ptrdiff_t b) { return a > b ? a : b; }
NG_FORCE_INLINE ptrdiff_t min_pd(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }

// Lanes (all-ones) where v replaces the running maximum m: v > m, or v is NaN while m is not.
NG_FORCE_INLINE __m256 beats(__m256 v, __m256 m) {
  return _mm256_and_ps(_mm256_cmp_ps(v, m, _CMP_NLE_UQ), _mm256_cmp_ps(m, m, _CMP_ORD_Q));
}
// Integer lane mask of the first n lanes (n in [0, 8]).
NG_FORCE_INLINE __m256i first_lanes(ptrdiff_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
// Loads/stores vector v of nv; only the last one of a channel tail (tail != NULL) is masked, so full vectors
// stay plain loads and stores once inlined.
NG_FORCE_INLINE __m256 ld(const float* p, int v, int nv, const __m256i* tail) {
  return (tail && v == nv - 1) ? _mm256_maskload_ps(p, *tail) : _mm256_loadu_ps(p);
}
NG_FORCE_INLINE void st(float* p, int v, int nv, const __m256i* tail, __m256 x) {
  if (tail && v == nv - 1) _mm256_maskstore_ps(p, *tail, x);
  else _mm256_storeu_ps(p, x);
}

NG_FORCE_INLINE void max_window(const float* p, ptrdiff_t nh, ptrdiff_t nw, ptrdiff_t rs, ptrdiff_t ps, float* out,
                              int nv, const __m256i* tail) {
  __m256 m[4];
  for (int v = 0; v < nv; ++v) m[v] = ld(p + 8 * v, v, nv, tail);
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = (i == 0 ? 1 : 0); j < nw; ++j) {
      const float* q = p + i * rs + j * ps;
      for (int v = 0; v < nv; ++v) {
        const __m256 x = ld(q + 8 * v, v, nv, tail);
        m[v] = _mm256_blendv_ps(m[v], x, beats(x, m[v]));
      }
    }
  }
  for (int v = 0; v < nv; ++v) st(out + 8 * v, v, nv, tail, m[v]);
}

extern "C" void ng_f32_maxpool2d_row_c32_avx2(const ng_pool2d_geom* g, const float* x, float* y, ptrdiff_t oh) {
  const ptrdiff_t C = g->c, W = g->w, rs = W * C;
  const ptrdiff_t r0 = oh * g->sh - g->pad_top;
  const ptrdiff_t ih0 = max_pd(r0, 0), ih1 = min_pd(r0 + g->kh, g->h);
  const __m256i tl = first_lanes(C % 8);
  for (ptrdiff_t ow = 0; ow < g->ow; ++ow) {
    const ptrdiff_t c0 = ow * g->sw - g->pad_left;
    const ptrdiff_t iw0 = max_pd(c0, 0), iw1 = min_pd(c0 + g->kw, W);
    float* yo = y + ow * C;
    ptrdiff_t c = 0;
    if (ih0 >= ih1 || iw0 >= iw1) {  // all-padding window: 0 (reference)
      for (; c + 8 <= C; c += 8) _mm256_storeu_ps(yo + c, _mm256_setzero_ps());
      if (c < C) _mm256_maskstore_ps(yo + c, tl, _mm256_setzero_ps());
      continue;
    }
    const float* p = x + (ih0 * W + iw0) * C;
    const ptrdiff_t nh = ih1 - ih0, nw = iw1 - iw0;
    for (; c + 32 <= C; c += 32) max_window(p + c, nh, nw, rs, C, yo + c, 4, 0);
    for (; c + 8 <= C; c += 8) max_window(p + c, nh, nw, rs, C, yo + c, 1, 0);
    if (c < C) max_window(p + c, nh, nw, rs, C, yo + c, 1, &tl);
  }
}

NG_FORCE_INLINE void max_window_bwd(const float* p, float* d, const float* dyp, ptrdiff_t nh, ptrdiff_t nw,
                                  ptrdiff_t rs, ptrdiff_t ps, int select, int nv, const __m256i* tail) {
  __m256 m[4];
  __m256 a[4];  // argmax pixel index per lane, as int32 bits
  for (int v = 0; v < nv; ++v) {
    m[v] = ld(p + 8 * v, v, nv, tail);
    a[v] = _mm256_setzero_ps();
  }
  int k = 0;
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = 0; j < nw; ++j, ++k) {
      if (k == 0) continue;
      const float* q = p + i * rs + j * ps;
      const __m256 kv = _mm256_castsi256_ps(_mm256_set1_epi32(k));
      for (int v = 0; v < nv; ++v) {
        const __m256 x = ld(q + 8 * v, v, nv, tail);
        const __m256 b = beats(x, m[v]);
        m[v] = _mm256_blendv_ps(m[v], x, b);
        a[v] = _mm256_blendv_ps(a[v], kv, b);
      }
    }
  }
  __m256 dyv[4];
  for (int v = 0; v < nv; ++v) dyv[v] = ld(dyp + 8 * v, v, nv, tail);
  k = 0;
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = 0; j < nw; ++j, ++k) {
      float* q = d + i * rs + j * ps;
      const __m256i kv = _mm256_set1_epi32(k);
      for (int v = 0; v < nv; ++v) {
        __m256i hit = _mm256_cmpeq_epi32(_mm256_castps_si256(a[v]), kv);
        if (tail && v == nv - 1) hit = _mm256_and_si256(hit, *tail);  // lanes past the channels never count
        if (select) {
          st(q + 8 * v, v, nv, tail, _mm256_and_ps(_mm256_castsi256_ps(hit), dyv[v]));
        } else if (!_mm256_testz_si256(hit, hit)) {
          _mm256_maskstore_ps(q + 8 * v, hit, _mm256_add_ps(_mm256_maskload_ps(q + 8 * v, hit), dyv[v]));
        }
      }
    }
  }
}

extern "C" void ng_f32_maxpool2d_bwd_row_c32_avx2(const ng_pool2d_geom* g, const float* x, const float* dy, float* dx,
                                                  ptrdiff_t oh, int accumulate) {
  const ptrdiff_t C = g->c, W = g->w, rs = W * C;
  const ptrdiff_t r0 = oh * g->sh - g->pad_top;
  const ptrdiff_t ih0 = max_pd(r0, 0), ih1 = min_pd(r0 + g->kh, g->h);
  if (ih0 >= ih1) return;
  const int select = !accumulate;
  const __m256i tl = first_lanes(C % 8);
  if (select) {
    // Windows that leave columns uncovered (stride > window, or short of the right edge): clear the rows first.
    const int tiles = g->sw == g->kw && (g->ow - 1) * g->sw - g->pad_left + g->kw >= W;
    if (!tiles) {
      float* d = dx + ih0 * rs;
      const ptrdiff_t n = (ih1 - ih0) * rs;
      ptrdiff_t i = 0;
      for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_setzero_ps());
      if (i < n) _mm256_maskstore_ps(d + i, first_lanes(n - i), _mm256_setzero_ps());
    }
  }
  for (ptrdiff_t ow = 0; ow < g->ow; ++ow) {
    const ptrdiff_t c0 = ow * g->sw - g->pad_left;
    const ptrdiff_t iw0 = max_pd(c0, 0), iw1 = min_pd(c0 + g->kw, W);
    if (iw0 >= iw1) continue;
    const ptrdiff_t off = (ih0 * W + iw0) * C, nh = ih1 - ih0, nw = iw1 - iw0;
    const float* p = x + off;
    float* d = dx + off;
    const float* dyp = dy + ow * C;
    ptrdiff_t c = 0;
    for (; c + 32 <= C; c += 32) max_window_bwd(p + c, d + c, dyp + c, nh, nw, rs, C, select, 4, 0);
    for (; c + 8 <= C; c += 8) max_window_bwd(p + c, d + c, dyp + c, nh, nw, rs, C, select, 1, 0);
    if (c < C) max_window_bwd(p + c, d + c, dyp + c, nh, nw, rs, C, select, 1, &tl);
  }
}
