/*
 * Max pooling forward and backward for AArch64 NEON (tile c16: 4 x 4 channels per step, single vectors, then a
 * channel tail of 1-3 lanes copied through a zero-padded 4-lane buffer, so the same vector code handles it).
 * Same semantics as the other paths: a larger value or the first NaN replaces the running maximum; the
 * backward recomputes the first argmax per lane and writes dy there, 0 at the window's other pixels.
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

// Vector v of nv; the last one of a tail (tn = 1..3 lanes, 0 = full) goes through a padded buffer.
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

// Lanes where v replaces the running maximum m: v > m, or v is NaN while m is not.
NG_FORCE_INLINE uint32x4_t beats(float32x4_t v, float32x4_t m) {
  return vorrq_u32(vcgtq_f32(v, m), vandq_u32(vmvnq_u32(vceqq_f32(v, v)), vceqq_f32(m, m)));
}

NG_FORCE_INLINE void max_window(const float* p, ptrdiff_t nh, ptrdiff_t nw, ptrdiff_t rs, ptrdiff_t ps, float* out,
                              int nv, ptrdiff_t tn) {
  float32x4_t m[4];
  for (int v = 0; v < nv; ++v) m[v] = ld(p + 4 * v, v, nv, tn);
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = (i == 0 ? 1 : 0); j < nw; ++j) {
      const float* q = p + i * rs + j * ps;
      for (int v = 0; v < nv; ++v) {
        const float32x4_t x = ld(q + 4 * v, v, nv, tn);
        m[v] = vbslq_f32(beats(x, m[v]), x, m[v]);
      }
    }
  }
  for (int v = 0; v < nv; ++v) st(out + 4 * v, v, nv, tn, m[v]);
}

extern "C" void ng_f32_maxpool2d_row_c16_neon(const ng_pool2d_geom* g, const float* x, float* y, ptrdiff_t oh) {
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
    ptrdiff_t c = 0;
    for (; c + 16 <= C; c += 16) max_window(p + c, nh, nw, rs, C, yo + c, 4, 0);
    for (; c + 4 <= C; c += 4) max_window(p + c, nh, nw, rs, C, yo + c, 1, 0);
    if (c < C) max_window(p + c, nh, nw, rs, C, yo + c, 1, C - c);
  }
}

NG_FORCE_INLINE void max_window_bwd(const float* p, float* d, const float* dyp, ptrdiff_t nh, ptrdiff_t nw,
                                  ptrdiff_t rs, ptrdiff_t ps, int select, int nv, ptrdiff_t tn) {
  float32x4_t m[4];
  uint32x4_t a[4];
  for (int v = 0; v < nv; ++v) {
    m[v] = ld(p + 4 * v, v, nv, tn);
    a[v] = vdupq_n_u32(0);
  }
  uint32_t k = 0;
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = 0; j < nw; ++j, ++k) {
      if (k == 0) continue;
      const float* q = p + i * rs + j * ps;
      const uint32x4_t kv = vdupq_n_u32(k);
      for (int v = 0; v < nv; ++v) {
        const float32x4_t x = ld(q + 4 * v, v, nv, tn);
        const uint32x4_t b = beats(x, m[v]);
        m[v] = vbslq_f32(b, x, m[v]);
        a[v] = vbslq_u32(b, kv, a[v]);
      }
    }
  }
  float32x4_t dyv[4];
  for (int v = 0; v < nv; ++v) dyv[v] = ld(dyp + 4 * v, v, nv, tn);
  const float32x4_t zero = vdupq_n_f32(0.0f);
  k = 0;
  for (ptrdiff_t i = 0; i < nh; ++i) {
    for (ptrdiff_t j = 0; j < nw; ++j, ++k) {
      float* q = d + i * rs + j * ps;
      const uint32x4_t kv = vdupq_n_u32(k);
      for (int v = 0; v < nv; ++v) {
        const uint32x4_t hit = vceqq_u32(a[v], kv);
        if (select) {
          st(q + 4 * v, v, nv, tn, vbslq_f32(hit, dyv[v], zero));
        } else if (vmaxvq_u32(hit) != 0) {  // lanes past a tail are never stored by st
          const float32x4_t cur = ld(q + 4 * v, v, nv, tn);
          st(q + 4 * v, v, nv, tn, vbslq_f32(hit, vaddq_f32(cur, dyv[v]), cur));
        }
      }
    }
  }
}

extern "C" void ng_f32_maxpool2d_bwd_row_c16_neon(const ng_pool2d_geom* g, const float* x, const float* dy, float* dx,
                                                  ptrdiff_t oh, int accumulate) {
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
      for (ptrdiff_t i = 0; i < (ih1 - ih0) * rs; ++i) d[i] = 0.0f;
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
    for (; c + 16 <= C; c += 16) max_window_bwd(p + c, d + c, dyp + c, nh, nw, rs, C, select, 4, 0);
    for (; c + 4 <= C; c += 4) max_window_bwd(p + c, d + c, dyp + c, nh, nw, rs, C, select, 1, 0);
    if (c < C) max_window_bwd(p + c, d + c, dyp + c, nh, nw, rs, C, select, 1, C - c);
  }
}
