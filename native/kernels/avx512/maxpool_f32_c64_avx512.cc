/*
 * Max pooling forward and backward for AVX-512F (tile c64: 4 x 16 channels per step, then single vectors, then
 * one opmask-predicated vector for the channel tail). NHWC makes the channels of a pixel contiguous, so each
 * window pixel is a few full-width loads; the running maximum keeps the reference's order semantics exactly:
 * a later equal value never replaces it (first maximum wins) and the first NaN does (NaN propagates).
 * The backward recomputes each window's first argmax per lane (a pixel index vector) and stores dy there,
 * 0 elsewhere, so every dx element of a window row is written once, without a separate zero pass.
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

// Lanes where v replaces the running maximum m: v > m, or v is NaN while m is not (reference `beats`).
NG_FORCE_INLINE __mmask16 beats(__m512 v, __m512 m) {
  return _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(m, m, _CMP_ORD_Q), v, m, _CMP_NLE_UQ);
}

NG_FORCE_INLINE __mmask16 lane_mask(int v, int nv, __mmask16 tail) { return v == nv - 1 ? tail : (__mmask16)0xFFFF; }

NG_FORCE_INLINE __mmask16 tail_mask(ptrdiff_t n) { return (__mmask16)((1u << n) - 1u); }

// Max of one window for nv vectors of channels at p (pixel stride ps, row stride rs); the last vector is
// limited to `tail` lanes. Inlined with constant nv, so m[] lives in registers.
NG_FORCE_INLINE void max_window(const float* p, ptrdiff_t nh, ptrdiff_t nw, ptrdiff_t rs, ptrdiff_t ps, float* out,
                              int nv, __mmask16 tail) {
  __m512 m[4];
  for (int v = 0; v < nv; ++v) m[v] = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), p + 16 * v);
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = (i == 0 ? 1 : 0); j < nw; ++j) {
      const float* q = p + i * rs + j * ps;
      for (int v = 0; v < nv; ++v) {
        const __m512 x = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), q + 16 * v);
        m[v] = _mm512_mask_mov_ps(m[v], beats(x, m[v]), x);
      }
    }
  }
  for (int v = 0; v < nv; ++v) _mm512_mask_storeu_ps(out + 16 * v, lane_mask(v, nv, tail), m[v]);
}

extern "C" void ng_f32_maxpool2d_row_c64_avx512(const ng_pool2d_geom* g, const float* x, float* y, ptrdiff_t oh) {
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
    for (; c + 64 <= C; c += 64) max_window(p + c, nh, nw, rs, C, yo + c, 4, 0xFFFF);
    for (; c + 16 <= C; c += 16) max_window(p + c, nh, nw, rs, C, yo + c, 1, 0xFFFF);
    if (c < C) max_window(p + c, nh, nw, rs, C, yo + c, 1, tail_mask(C - c));
  }
}

// Gradient of one window for nv vectors of channels: first argmax per lane, then dy to it. select: store dy or 0
// at every window pixel; otherwise add dy at the argmax only.
NG_FORCE_INLINE void max_window_bwd(const float* p, float* d, const float* dyp, ptrdiff_t nh, ptrdiff_t nw,
                                  ptrdiff_t rs, ptrdiff_t ps, int select, int nv, __mmask16 tail) {
  __m512 m[4];
  __m512i a[4];
  for (int v = 0; v < nv; ++v) {
    m[v] = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), p + 16 * v);
    a[v] = _mm512_setzero_si512();
  }
  int k = 0;
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = 0; j < nw; ++j, ++k) {
      if (k == 0) continue;
      const float* q = p + i * rs + j * ps;
      const __m512i kv = _mm512_set1_epi32(k);
      for (int v = 0; v < nv; ++v) {
        const __m512 x = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), q + 16 * v);
        const __mmask16 b = beats(x, m[v]);
        m[v] = _mm512_mask_mov_ps(m[v], b, x);
        a[v] = _mm512_mask_mov_epi32(a[v], b, kv);
      }
    }
  }
  __m512 dyv[4];
  for (int v = 0; v < nv; ++v) dyv[v] = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), dyp + 16 * v);
  k = 0;
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = 0; j < nw; ++j, ++k) {
      float* q = d + i * rs + j * ps;
      const __m512i kv = _mm512_set1_epi32(k);
      for (int v = 0; v < nv; ++v) {
        const __mmask16 lanes = lane_mask(v, nv, tail);
        const __mmask16 hit = _mm512_mask_cmpeq_epi32_mask(lanes, a[v], kv);
        if (select) {
          _mm512_mask_storeu_ps(q + 16 * v, lanes, _mm512_maskz_mov_ps(hit, dyv[v]));
        } else if (hit) {
          _mm512_mask_storeu_ps(q + 16 * v, hit, _mm512_add_ps(_mm512_maskz_loadu_ps(hit, q + 16 * v), dyv[v]));
        }
      }
    }
  }
}

extern "C" void ng_f32_maxpool2d_bwd_row_c64_avx512(const ng_pool2d_geom* g, const float* x, const float* dy,
                                                    float* dx, ptrdiff_t oh, int accumulate) {
  const ptrdiff_t C = g->c, W = g->w, rs = W * C;
  const ptrdiff_t r0 = oh * g->sh - g->pad_top;
  const ptrdiff_t ih0 = max_pd(r0, 0), ih1 = min_pd(r0 + g->kh, g->h);
  if (ih0 >= ih1) return;
  const int select = !accumulate;
  if (select) {
    // Windows that leave columns uncovered (stride > window, or short of the right edge): clear the rows first.
    const int tiles = g->sw == g->kw && (g->ow - 1) * g->sw - g->pad_left + g->kw >= W;
    if (!tiles) {
      float* d = dx + ih0 * rs;
      const ptrdiff_t n = (ih1 - ih0) * rs;
      ptrdiff_t i = 0;
      for (; i + 16 <= n; i += 16) _mm512_storeu_ps(d + i, _mm512_setzero_ps());
      if (i < n) _mm512_mask_storeu_ps(d + i, tail_mask(n - i), _mm512_setzero_ps());
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
    for (; c + 64 <= C; c += 64) max_window_bwd(p + c, d + c, dyp + c, nh, nw, rs, C, select, 4, 0xFFFF);
    for (; c + 16 <= C; c += 16) max_window_bwd(p + c, d + c, dyp + c, nh, nw, rs, C, select, 1, 0xFFFF);
    if (c < C) max_window_bwd(p + c, d + c, dyp + c, nh, nw, rs, C, select, 1, tail_mask(C - c));
  }
}
