/*
 * Max pooling forward and backward, plain loops (tile c1): the always-available path and the one
 * NODEGRAD_ISA=scalar forces. One output row of one NHWC image per call (native/include/nodegrad/pool.h).
 * Channels are the inner loop, in chunks of kChunk with the running maxima in a local array, so every window
 * pixel is read contiguously and the compiler can vectorise the select with baseline SIMD.
 */
#include "nodegrad/pool.h"

enum { kChunk = 256 };

// true when v replaces the running maximum m: larger, or the first NaN (reference pool.ts `beats`).
static int beats(float v, float m) { return (v > m) | ((v != v) & (m == m)); }  // no short circuit: vectorisable

static ptrdiff_t max_pd(ptrdiff_t a, ptrdiff_t b) { return a > b ? a : b; }
static ptrdiff_t min_pd(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }

extern "C" void ng_f32_maxpool2d_row_c1_ref(const ng_pool2d_geom* g, const float* x, float* y, ptrdiff_t oh) {
  const ptrdiff_t C = g->c, W = g->w;
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
    // yo holds the running maxima: first pixel, then every other pixel in row-major window order.
    const float* first = x + (ih0 * W + iw0) * C;
    for (ptrdiff_t c = 0; c < C; ++c) yo[c] = first[c];
    for (ptrdiff_t ih = ih0; ih < ih1; ++ih) {
      for (ptrdiff_t iw = (ih == ih0 ? iw0 + 1 : iw0); iw < iw1; ++iw) {
        const float* p = x + (ih * W + iw) * C;
        for (ptrdiff_t c = 0; c < C; ++c) yo[c] = beats(p[c], yo[c]) ? p[c] : yo[c];
      }
    }
  }
}

extern "C" void ng_f32_maxpool2d_bwd_row_c1_ref(const ng_pool2d_geom* g, const float* x, const float* dy, float* dx,
                                                ptrdiff_t oh, int accumulate) {
  const ptrdiff_t C = g->c, W = g->w, rs = W * C;
  const ptrdiff_t r0 = oh * g->sh - g->pad_top;
  const ptrdiff_t ih0 = max_pd(r0, 0), ih1 = min_pd(r0 + g->kh, g->h);
  if (ih0 >= ih1) return;
  const int select = !accumulate;
  // Windows that leave columns uncovered (stride > window, or short of the right edge): clear the rows first.
  if (select && !(g->sw == g->kw && (g->ow - 1) * g->sw - g->pad_left + g->kw >= W)) {
    for (ptrdiff_t i = ih0 * rs; i < ih1 * rs; ++i) dx[i] = 0.0f;
  }
  float m[kChunk];
  int32_t a[kChunk];  // window pixel (row-major) of each channel's first maximum
  for (ptrdiff_t ow = 0; ow < g->ow; ++ow) {
    const ptrdiff_t c0 = ow * g->sw - g->pad_left;
    const ptrdiff_t iw0 = max_pd(c0, 0), iw1 = min_pd(c0 + g->kw, W);
    if (iw0 >= iw1) continue;
    const ptrdiff_t off = (ih0 * W + iw0) * C;
    for (ptrdiff_t cb = 0; cb < C; cb += kChunk) {
      const ptrdiff_t nc = min_pd(kChunk, C - cb);
      const float* p0 = x + off + cb;
      for (ptrdiff_t j = 0; j < nc; ++j) {
        m[j] = p0[j];
        a[j] = 0;
      }
      int32_t k = 0;
      for (ptrdiff_t i = 0; i < ih1 - ih0; ++i) {
        for (ptrdiff_t w = 0; w < iw1 - iw0; ++w, ++k) {
          if (k == 0) continue;
          const float* p = p0 + i * rs + w * C;
          for (ptrdiff_t j = 0; j < nc; ++j) {
            const int b = beats(p[j], m[j]);
            m[j] = b ? p[j] : m[j];
            a[j] = b ? k : a[j];
          }
        }
      }
      const float* d = dy + ow * C + cb;
      k = 0;
      for (ptrdiff_t i = 0; i < ih1 - ih0; ++i) {
        for (ptrdiff_t w = 0; w < iw1 - iw0; ++w, ++k) {
          float* q = dx + off + cb + i * rs + w * C;
          if (select) {
            for (ptrdiff_t j = 0; j < nc; ++j) {
              const float v = d[j];
              q[j] = a[j] == k ? v : 0.0f;
            }
          } else {
            for (ptrdiff_t j = 0; j < nc; ++j) {
              const float v = d[j], cur = q[j];
              q[j] = a[j] == k ? cur + v : cur;
            }
          }
        }
      }
    }
  }
}
