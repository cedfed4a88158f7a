/*
 * Depthwise convolution row kernels, plain loops (tile c1x1): the always-available path and the one
 * NODEGRAD_ISA=scalar forces; also the readable statement of what the SIMD versions compute (nodegrad/conv.h).
 * Built with baseline flags; products and sums stay separate (no FMA contraction), accumulating in float.
 */
#include "nodegrad/conv.h"

extern "C" void ng_f32_dwconv2d_fwd_c1x1_ref(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                             const float* w, ptrdiff_t w_step, const float* bias, float* y) {
  const size_t C = g->channels;
  const ptrdiff_t in_w = (ptrdiff_t)g->in_w;
  for (size_t o = 0; o < g->out_w; ++o) {
    float* yo = y + o * C;
    for (size_t c = 0; c < C; ++c) yo[c] = bias ? bias[c] : 0.0f;
    for (size_t r = 0; r < nrows; ++r) {
      for (size_t k = 0; k < g->kw; ++k) {
        const ptrdiff_t i = (ptrdiff_t)o * g->stride - g->pad + (ptrdiff_t)k * g->dil;
        if (i < 0 || i >= in_w) continue;  // zero padding contributes nothing
        const float* xi = (x + (ptrdiff_t)r * x_step) + (size_t)i * C;
        const float* wk = (w + (ptrdiff_t)r * w_step) + k * C;
        for (size_t c = 0; c < C; ++c) yo[c] += xi[c] * wk[c];
      }
    }
  }
}

extern "C" void ng_f32_dwconv2d_bwd_data_c1x1_ref(const ng_dwconv2d_row* g, const float* dy, const float* w_row,
                                                  float* dx) {
  const size_t C = g->channels;
  const ptrdiff_t in_w = (ptrdiff_t)g->in_w;
  for (size_t o = 0; o < g->out_w; ++o) {
    const float* dyo = dy + o * C;
    for (size_t k = 0; k < g->kw; ++k) {
      const ptrdiff_t i = (ptrdiff_t)o * g->stride - g->pad + (ptrdiff_t)k * g->dil;
      if (i < 0 || i >= in_w) continue;
      float* dxi = dx + (size_t)i * C;
      const float* wk = w_row + k * C;
      for (size_t c = 0; c < C; ++c) dxi[c] += dyo[c] * wk[c];
    }
  }
}

// One (input row, output row) pair of the backward filter.
static void bwd_filter_row(const ng_dwconv2d_row* g, const float* x, const float* dy, float* dw_row) {
  const size_t C = g->channels;
  const ptrdiff_t in_w = (ptrdiff_t)g->in_w;
  for (size_t k = 0; k < g->kw; ++k) {
    float* dwk = dw_row + k * C;
    for (size_t o = 0; o < g->out_w; ++o) {
      const ptrdiff_t i = (ptrdiff_t)o * g->stride - g->pad + (ptrdiff_t)k * g->dil;
      if (i < 0 || i >= in_w) continue;
      const float* xi = x + (size_t)i * C;
      const float* dyo = dy + o * C;
      for (size_t c = 0; c < C; ++c) dwk[c] += xi[c] * dyo[c];
    }
  }
}

extern "C" void ng_f32_dwconv2d_bwd_filter_c1x1_ref(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                  const float* dy, float* dw, ptrdiff_t dw_step) {
  for (size_t r = 0; r < nrows; ++r) bwd_filter_row(g, x + (ptrdiff_t)r * x_step, dy, dw + (ptrdiff_t)r * dw_step);
}

extern "C" void ng_f32_dwconv2d_fwd2_c1x1_ref(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                        const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t y_step) {
  ng_f32_dwconv2d_fwd_c1x1_ref(g, nrows, x, x_step, w, w_step, bias, y);
  ng_f32_dwconv2d_fwd_c1x1_ref(g, nrows, x + x_step, x_step, w, w_step, bias, y + y_step);
}

extern "C" void ng_f32_dwconv2d_bwd_filter2_c1x1_ref(const ng_dwconv2d_row* g, size_t nrows, const float* x,
                                                ptrdiff_t x_step, const float* dy, ptrdiff_t dy_step, float* dw,
                                                ptrdiff_t dw_step) {
  ng_f32_dwconv2d_bwd_filter_c1x1_ref(g, nrows, x, x_step, dy, dw, dw_step);
  ng_f32_dwconv2d_bwd_filter_c1x1_ref(g, nrows, x + x_step, x_step, dy + dy_step, dw, dw_step);
}
