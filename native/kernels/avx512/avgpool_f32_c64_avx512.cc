/*
 * Average pooling forward and backward for AVX-512F (tile c64: 4 x 16 channels per step, single vectors, then
 * an opmask-predicated channel tail). Forward: float window sums divided by the in-bounds count. Backward: a
 * gather per input row (no scatter, no races): each pixel sums dy * inv_count over the windows holding it.
 * Built only into nodegrad_avx512; plain loops, intrinsics and static helpers only (see kernels.h).
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
NG_FORCE_INLINE __mmask16 lane_mask(int v, int nv, __mmask16 tail) { return v == nv - 1 ? tail : (__mmask16)0xFFFF; }
NG_FORCE_INLINE __mmask16 tail_mask(ptrdiff_t n) { return (__mmask16)((1u << n) - 1u); }

NG_FORCE_INLINE void avg_window(const float* p, ptrdiff_t nh, ptrdiff_t nw, ptrdiff_t rs, ptrdiff_t ps, __m512 count,
                              float* out, int nv, __mmask16 tail) {
  __m512 s[4];
  for (int v = 0; v < nv; ++v) s[v] = _mm512_setzero_ps();
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = 0; j < nw; ++j) {
      const float* q = p + i * rs + j * ps;
      for (int v = 0; v < nv; ++v) s[v] = _mm512_add_ps(s[v], _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), q + 16 * v));
    }
  }
  for (int v = 0; v < nv; ++v) _mm512_mask_storeu_ps(out + 16 * v, lane_mask(v, nv, tail), _mm512_div_ps(s[v], count));
}

extern "C" void ng_f32_avgpool2d_row_c64_avx512(const ng_pool2d_geom* g, const float* x, float* y, ptrdiff_t oh) {
  const ptrdiff_t C = g->c, W = g->w, rs = W * C;
  const ptrdiff_t r0 = oh * g->sh - g->pad_top;
  const ptrdiff_t ih0 = max_pd(r0, 0), ih1 = min_pd(r0 + g->kh, g->h);
  for (ptrdiff_t ow = 0; ow < g->ow; ++ow) {
    const ptrdiff_t c0 = ow * g->sw - g->pad_left;
    const ptrdiff_t iw0 = max_pd(c0, 0), iw1 = min_pd(c0 + g->kw, W);
    float* yo = y + ow * C;
    ptrdiff_t c = 0;
    if (ih0 >= ih1 || iw0 >= iw1) {  // all-padding window: 0 (reference)
      for (; c + 16 <= C; c += 16) _mm512_storeu_ps(yo + c, _mm512_setzero_ps());
      if (c < C) _mm512_mask_storeu_ps(yo + c, tail_mask(C - c), _mm512_setzero_ps());
      continue;
    }
    const float* p = x + (ih0 * W + iw0) * C;
    const ptrdiff_t nh = ih1 - ih0, nw = iw1 - iw0;
    const __m512 count = _mm512_set1_ps((float)(nh * nw));
    for (; c + 64 <= C; c += 64) avg_window(p + c, nh, nw, rs, C, count, yo + c, 4, 0xFFFF);
    for (; c + 16 <= C; c += 16) avg_window(p + c, nh, nw, rs, C, count, yo + c, 1, 0xFFFF);
    if (c < C) avg_window(p + c, nh, nw, rs, C, count, yo + c, 1, tail_mask(C - c));
  }
}

// dx for one pixel's nv channel vectors: sum over windows [oh0, oh1) x [ow0, ow1) of dy * inv_count.
NG_FORCE_INLINE void avg_gather(const float* dy, const float* inv, ptrdiff_t OW, ptrdiff_t C, ptrdiff_t oh0,
                              ptrdiff_t oh1, ptrdiff_t ow0, ptrdiff_t ow1, float* out, int nv, __mmask16 tail) {
  __m512 s[4];
  for (int v = 0; v < nv; ++v) s[v] = _mm512_setzero_ps();
  for (ptrdiff_t oh = oh0; oh < oh1; ++oh) {
    for (ptrdiff_t ow = ow0; ow < ow1; ++ow) {
      const __m512 k = _mm512_set1_ps(inv[oh * OW + ow]);
      const float* q = dy + (oh * OW + ow) * C;
      for (int v = 0; v < nv; ++v) {
        s[v] = _mm512_add_ps(s[v], _mm512_mul_ps(_mm512_maskz_loadu_ps(lane_mask(v, nv, tail), q + 16 * v), k));
      }
    }
  }
  for (int v = 0; v < nv; ++v) _mm512_mask_storeu_ps(out + 16 * v, lane_mask(v, nv, tail), s[v]);
}

extern "C" void ng_f32_avgpool2d_bwd_row_c64_avx512(const ng_pool2d_geom* g, const float* dy, const float* inv,
                                                    float* dx, ptrdiff_t ih) {
  const ptrdiff_t C = g->c, OW = g->ow;
  // Windows holding row ih: oh*sh - pad_top <= ih <= oh*sh - pad_top + kh - 1.
  const ptrdiff_t oh0 = max_pd(floor_div(ih + g->pad_top - g->kh, g->sh) + 1, 0);
  const ptrdiff_t oh1 = min_pd(floor_div(ih + g->pad_top, g->sh) + 1, g->oh);
  for (ptrdiff_t iw = 0; iw < g->w; ++iw) {
    const ptrdiff_t ow0 = max_pd(floor_div(iw + g->pad_left - g->kw, g->sw) + 1, 0);
    const ptrdiff_t ow1 = min_pd(floor_div(iw + g->pad_left, g->sw) + 1, OW);
    float* d = dx + iw * C;
    ptrdiff_t c = 0;
    for (; c + 64 <= C; c += 64) avg_gather(dy + c, inv, OW, C, oh0, oh1, ow0, ow1, d + c, 4, 0xFFFF);
    for (; c + 16 <= C; c += 16) avg_gather(dy + c, inv, OW, C, oh0, oh1, ow0, ow1, d + c, 1, 0xFFFF);
    if (c < C) avg_gather(dy + c, inv, OW, C, oh0, oh1, ow0, ow1, d + c, 1, tail_mask(C - c));
  }
}
