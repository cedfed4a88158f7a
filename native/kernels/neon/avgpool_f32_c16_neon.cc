/*
 * Average pooling forward and backward for AArch64 NEON (tile c16: 4 x 4 channels per step, single vectors,
 * then a 1-3 lane tail through a zero-padded buffer). Forward: float window sums divided by the in-bounds
 * count. Backward: a gather per input row: each pixel sums dy * inv_count over the windows holding it.
 * Plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <arm_neon.h>

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

NG_FORCE_INLINE float32x4_t ld(const float* p, int v, int nv, ptrdiff_t tn) {
  if (tn == 0 || v != nv - 1) return vld1q_f32(p);
  float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (ptrdiff_t i = 0; i < tn; ++i) t[i] = p[i];
  return vld1q_f32(t);
}
NG_FORCE_INLINE void st(float* p, int v, int nv, ptrdiff_t tn, float32x4_t x) {
  if (tn == 0 || v != nv - 1) {
    vst1q_f32(p, x);
    return;
  }
  float t[4];
  vst1q_f32(t, x);
  for (ptrdiff_t i = 0; i < tn; ++i) p[i] = t[i];
}

NG_FORCE_INLINE void avg_window(const float* p, ptrdiff_t nh, ptrdiff_t nw, ptrdiff_t rs, ptrdiff_t ps,
                              float32x4_t count, float* out, int nv, ptrdiff_t tn) {
  float32x4_t s[4];
  for (int v = 0; v < nv; ++v) s[v] = vdupq_n_f32(0.0f);
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = 0; j < nw; ++j) {
      const float* q = p + i * rs + j * ps;
      for (int v = 0; v < nv; ++v) s[v] = vaddq_f32(s[v], ld(q + 4 * v, v, nv, tn));
    }
  }
  for (int v = 0; v < nv; ++v) st(out + 4 * v, v, nv, tn, vdivq_f32(s[v], count));
}

extern "C" void ng_f32_avgpool2d_row_c16_neon(const ng_pool2d_geom* g, const float* x, float* y, ptrdiff_t oh) {
  const ptrdiff_t C = g->c, W = g->w, rs = W * C;
  const ptrdiff_t r0 = oh * g->sh - g->pad_top;
  const ptrdiff_t ih0 = max_pd(r0, 0), ih1 = min_pd(r0 + g->kh, g->h);
  for (ptrdiff_t ow = 0; ow < g->ow; ++ow) {
    const ptrdiff_t c0 = ow * g->sw - g->pad_left;
    const ptrdiff_t iw0 = max_pd(c0, 0), iw1 = min_pd(c0 + g->kw, W);
    float* yo = y + ow * C;
    if (ih0 >= ih1 || iw0 >= iw1) {  // all-padding window: 0 (reference)
      for (ptrdiff_t c = 0; c < C; ++c) yo[c] = 0.0f;
      continue;
    }
    const float* p = x + (ih0 * W + iw0) * C;
    const ptrdiff_t nh = ih1 - ih0, nw = iw1 - iw0;
    const float32x4_t count = vdupq_n_f32((float)(nh * nw));
    ptrdiff_t c = 0;
    for (; c + 16 <= C; c += 16) avg_window(p + c, nh, nw, rs, C, count, yo + c, 4, 0);
    for (; c + 4 <= C; c += 4) avg_window(p + c, nh, nw, rs, C, count, yo + c, 1, 0);
    if (c < C) avg_window(p + c, nh, nw, rs, C, count, yo + c, 1, C - c);
  }
}

NG_FORCE_INLINE void avg_gather(const float* dy, const float* inv, ptrdiff_t OW, ptrdiff_t C, ptrdiff_t oh0,
                              ptrdiff_t oh1, ptrdiff_t ow0, ptrdiff_t ow1, float* out, int nv, ptrdiff_t tn) {
  float32x4_t s[4];
  for (int v = 0; v < nv; ++v) s[v] = vdupq_n_f32(0.0f);
  for (ptrdiff_t oh = oh0; oh < oh1; ++oh) {
    for (ptrdiff_t ow = ow0; ow < ow1; ++ow) {
      const float32x4_t k = vdupq_n_f32(inv[oh * OW + ow]);
      const float* q = dy + (oh * OW + ow) * C;
      for (int v = 0; v < nv; ++v) s[v] = vaddq_f32(s[v], vmulq_f32(ld(q + 4 * v, v, nv, tn), k));
    }
  }
  for (int v = 0; v < nv; ++v) st(out + 4 * v, v, nv, tn, s[v]);
}

extern "C" void ng_f32_avgpool2d_bwd_row_c16_neon(const ng_pool2d_geom* g, const float* dy, const float* inv, float* dx,
                                                  ptrdiff_t ih) {
  const ptrdiff_t C = g->c, OW = g->ow;
  const ptrdiff_t oh0 = max_pd(floor_div(ih + g->pad_top - g->kh, g->sh) + 1, 0);
  const ptrdiff_t oh1 = min_pd(floor_div(ih + g->pad_top, g->sh) + 1, g->oh);
  for (ptrdiff_t iw = 0; iw < g->w; ++iw) {
    const ptrdiff_t ow0 = max_pd(floor_div(iw + g->pad_left - g->kw, g->sw) + 1, 0);
    const ptrdiff_t ow1 = min_pd(floor_div(iw + g->pad_left, g->sw) + 1, OW);
    float* d = dx + iw * C;
    ptrdiff_t c = 0;
    for (; c + 16 <= C; c += 16) avg_gather(dy + c, inv, OW, C, oh0, oh1, ow0, ow1, d + c, 4, 0);
    for (; c + 4 <= C; c += 4) avg_gather(dy + c, inv, OW, C, oh0, oh1, ow0, ow1, d + c, 1, 0);
    if (c < C) avg_gather(dy + c, inv, OW, C, oh0, oh1, ow0, ow1, d + c, 1, C - c);
  }
}
