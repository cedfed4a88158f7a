/*
 * Average pooling forward and backward for AVX2 (tile c32: 4 x 8 channels per step, single vectors, then a
 * maskload/maskstore channel tail). Forward: float window sums divided by the in-bounds count. Backward: a
 * gather per input row: each pixel sums dy * inv_count over the windows holding it.
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
// floor(a / b) for b > 0 and any sign of a.
NG_FORCE_INLINE ptrdiff_t floor_div(ptrdiff_t a, ptrdiff_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
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

NG_FORCE_INLINE void avg_window(const float* p, ptrdiff_t nh, ptrdiff_t nw, ptrdiff_t rs, ptrdiff_t ps, __m256 count,
                              float* out, int nv, const __m256i* tail) {
  __m256 s[4];
  for (int v = 0; v < nv; ++v) s[v] = _mm256_setzero_ps();
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = 0; j < nw; ++j) {
      const float* q = p + i * rs + j * ps;
      for (int v = 0; v < nv; ++v) s[v] = _mm256_add_ps(s[v], ld(q + 8 * v, v, nv, tail));
    }
  }
  for (int v = 0; v < nv; ++v) st(out + 8 * v, v, nv, tail, _mm256_div_ps(s[v], count));
}

extern "C" void ng_f32_avgpool2d_row_c32_avx2(const ng_pool2d_geom* g, const float* x, float* y, ptrdiff_t oh) {
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
    const __m256 count = _mm256_set1_ps((float)(nh * nw));
    for (; c + 32 <= C; c += 32) avg_window(p + c, nh, nw, rs, C, count, yo + c, 4, 0);
    for (; c + 8 <= C; c += 8) avg_window(p + c, nh, nw, rs, C, count, yo + c, 1, 0);
    if (c < C) avg_window(p + c, nh, nw, rs, C, count, yo + c, 1, &tl);
  }
}

NG_FORCE_INLINE void avg_gather(const float* dy, const float* inv, ptrdiff_t OW, ptrdiff_t C, ptrdiff_t oh0,
                              ptrdiff_t oh1, ptrdiff_t ow0, ptrdiff_t ow1, float* out, int nv, const __m256i* tail) {
  __m256 s[4];
  for (int v = 0; v < nv; ++v) s[v] = _mm256_setzero_ps();
  for (ptrdiff_t oh = oh0; oh < oh1; ++oh) {
    for (ptrdiff_t ow = ow0; ow < ow1; ++ow) {
      const __m256 k = _mm256_set1_ps(inv[oh * OW + ow]);
      const float* q = dy + (oh * OW + ow) * C;
      for (int v = 0; v < nv; ++v) {
        s[v] = _mm256_add_ps(s[v], _mm256_mul_ps(ld(q + 8 * v, v, nv, tail), k));
      }
    }
  }
  for (int v = 0; v < nv; ++v) st(out + 8 * v, v, nv, tail, s[v]);
}

extern "C" void ng_f32_avgpool2d_bwd_row_c32_avx2(const ng_pool2d_geom* g, const float* dy, const float* inv, float* dx,
                                                  ptrdiff_t ih) {
  const ptrdiff_t C = g->c, OW = g->ow;
  const ptrdiff_t oh0 = max_pd(floor_div(ih + g->pad_top - g->kh, g->sh) + 1, 0);
  const ptrdiff_t oh1 = min_pd(floor_div(ih + g->pad_top, g->sh) + 1, g->oh);
  const __m256i tl = first_lanes(C % 8);
  for (ptrdiff_t iw = 0; iw < g->w; ++iw) {
    const ptrdiff_t ow0 = max_pd(floor_div(iw + g->pad_left - g->kw, g->sw) + 1, 0);
    const ptrdiff_t ow1 = min_pd(floor_div(iw + g->pad_left, g->sw) + 1, OW);
    float* d = dx + iw * C;
    ptrdiff_t c = 0;
    for (; c + 32 <= C; c += 32) avg_gather(dy + c, inv, OW, C, oh0, oh1, ow0, ow1, d + c, 4, 0);
    for (; c + 8 <= C; c += 8) avg_gather(dy + c, inv, OW, C, oh0, oh1, ow0, ow1, d + c, 1, 0);
    if (c < C) avg_gather(dy + c, inv, OW, C, oh0, oh1, ow0, ow1, d + c, 1, &tl);
  }
}
