/*
 * Average pooling forward and backward, plain loops (tile c1), channels innermost. Window sums are float; the
 * forward divides by the in-bounds count, the backward gathers dy * inv_count over the windows holding each pixel.
 */
#include "nodegrad/pool.h"

static ptrdiff_t max_pd(ptrdiff_t a, ptrdiff_t b) { return a > b ? a : b; }
static ptrdiff_t min_pd(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }
// floor(a / b) for b > 0 and any sign of a.
static ptrdiff_t floor_div(ptrdiff_t a, ptrdiff_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

extern "C" void ng_f32_avgpool2d_row_c1_ref(const ng_pool2d_geom* g, const float* x, float* y, ptrdiff_t oh) {
  const ptrdiff_t C = g->c, W = g->w;
  const ptrdiff_t r0 = oh * g->sh - g->pad_top;
  const ptrdiff_t ih0 = max_pd(r0, 0), ih1 = min_pd(r0 + g->kh, g->h);
  for (ptrdiff_t ow = 0; ow < g->ow; ++ow) {
    const ptrdiff_t c0 = ow * g->sw - g->pad_left;
    const ptrdiff_t iw0 = max_pd(c0, 0), iw1 = min_pd(c0 + g->kw, W);
    float* yo = y + ow * C;
    if (ih0 >= ih1 || iw0 >= iw1) {
      for (ptrdiff_t c = 0; c < C; ++c) yo[c] = 0.0f;
      continue;
    }
    // yo accumulates the window sum pixel by pixel (channels inner: contiguous reads), then takes the mean.
    const float count = (float)((ih1 - ih0) * (iw1 - iw0));
    for (ptrdiff_t c = 0; c < C; ++c) yo[c] = 0.0f;
    for (ptrdiff_t ih = ih0; ih < ih1; ++ih) {
      for (ptrdiff_t iw = iw0; iw < iw1; ++iw) {
        const float* p = x + (ih * W + iw) * C;
        for (ptrdiff_t c = 0; c < C; ++c) yo[c] += p[c];
      }
    }
    for (ptrdiff_t c = 0; c < C; ++c) yo[c] = yo[c] / count;
  }
}

extern "C" void ng_f32_avgpool2d_bwd_row_c1_ref(const ng_pool2d_geom* g, const float* dy, const float* inv_count,
                                                float* dx, ptrdiff_t ih) {
  const ptrdiff_t C = g->c, OW = g->ow;
  // Windows holding row ih: oh*sh - pad_top <= ih <= oh*sh - pad_top + kh - 1.
  const ptrdiff_t oh0 = max_pd(floor_div(ih + g->pad_top - g->kh, g->sh) + 1, 0);
  const ptrdiff_t oh1 = min_pd(floor_div(ih + g->pad_top, g->sh) + 1, g->oh);
  for (ptrdiff_t iw = 0; iw < g->w; ++iw) {
    const ptrdiff_t ow0 = max_pd(floor_div(iw + g->pad_left - g->kw, g->sw) + 1, 0);
    const ptrdiff_t ow1 = min_pd(floor_div(iw + g->pad_left, g->sw) + 1, OW);
    float* d = dx + iw * C;
    for (ptrdiff_t c = 0; c < C; ++c) d[c] = 0.0f;
    for (ptrdiff_t oh = oh0; oh < oh1; ++oh) {
      for (ptrdiff_t ow = ow0; ow < ow1; ++ow) {
        const float s = inv_count[oh * OW + ow];
        const float* src = dy + (oh * OW + ow) * C;
        for (ptrdiff_t c = 0; c < C; ++c) d[c] += src[c] * s;
      }
    }
  }
}
