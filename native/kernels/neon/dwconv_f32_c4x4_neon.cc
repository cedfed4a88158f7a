/*
 * Depthwise convolution row kernels for AArch64 NEON (nodegrad/conv.h): the AVX-512 file's loops with 4
 * channels per vector and a scalar channel tail (NEON has no masked loads). Plain loops, intrinsics and
 * static functions only (ODR rule of kernels.h).
 */
#include <arm_neon.h>

#include "nodegrad/conv.h"

// floor(a / b) for b > 0, for column bounds that can be negative.
static ptrdiff_t floor_div(ptrdiff_t a, ptrdiff_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Output pixels [*lo, *hi) whose taps k in [k_first, k_last] all read columns inside [0, in_w).
static void inner_range(const ng_dwconv2d_row* g, ptrdiff_t k_first, ptrdiff_t k_last, ptrdiff_t* lo, ptrdiff_t* hi) {
  const ptrdiff_t s = g->stride, out_w = (ptrdiff_t)g->out_w;
  ptrdiff_t a = -floor_div(-(g->pad - k_first * g->dil), s);
  ptrdiff_t b = floor_div((ptrdiff_t)g->in_w - 1 + g->pad - k_last * g->dil, s) + 1;
  if (a < 0) a = 0;
  if (a > out_w) a = out_w;
  if (b > out_w) b = out_w;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

// One output pixel, every tap checked against the row bounds (border pixels).
static void fwd_pixel_checked(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                              const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t o) {
  const size_t C = g->channels, C4 = C & ~(size_t)3;
  const ptrdiff_t in_w = (ptrdiff_t)g->in_w;
  float* yo = y + (size_t)o * C;
  for (size_t cb = 0; cb < C4; cb += 4) {
    float32x4_t acc = bias ? vld1q_f32(bias + cb) : vdupq_n_f32(0.0f);
    for (size_t r = 0; r < nrows; ++r) {
      for (size_t k = 0; k < g->kw; ++k) {
        const ptrdiff_t i = o * g->stride - g->pad + (ptrdiff_t)k * g->dil;
        if (i < 0 || i >= in_w) continue;  // zero padding contributes nothing
        acc = vfmaq_f32(acc, vld1q_f32((x + (ptrdiff_t)r * x_step) + (size_t)i * C + cb),
                        vld1q_f32((w + (ptrdiff_t)r * w_step) + k * C + cb));
      }
    }
    vst1q_f32(yo + cb, acc);
  }
  for (size_t c = C4; c < C; ++c) {
    float acc = bias ? bias[c] : 0.0f;
    for (size_t r = 0; r < nrows; ++r) {
      for (size_t k = 0; k < g->kw; ++k) {
        const ptrdiff_t i = o * g->stride - g->pad + (ptrdiff_t)k * g->dil;
        if (i < 0 || i >= in_w) continue;
        acc += (x + (ptrdiff_t)r * x_step)[(size_t)i * C + c] * (w + (ptrdiff_t)r * w_step)[k * C + c];
      }
    }
    yo[c] = acc;
  }
}

// Four interior output pixels o..o+3: one weight load feeds four FMAs.
static void fwd_tile4(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step, const float* w,
                      ptrdiff_t w_step,
                      const float* bias, float* y, ptrdiff_t o) {
  const size_t C = g->channels, C4 = C & ~(size_t)3;
  const ptrdiff_t xs = g->stride * (ptrdiff_t)C, kd = g->dil * (ptrdiff_t)C;
  const ptrdiff_t x0 = (o * g->stride - g->pad) * (ptrdiff_t)C;
  float* yo = y + (size_t)o * C;
  for (size_t cb = 0; cb < C4; cb += 4) {
    const float32x4_t b = bias ? vld1q_f32(bias + cb) : vdupq_n_f32(0.0f);
    float32x4_t a0 = b, a1 = b, a2 = b, a3 = b;
    for (size_t r = 0; r < nrows; ++r) {
      const float* xk = (x + (ptrdiff_t)r * x_step) + x0 + cb;
      const float* wk = (w + (ptrdiff_t)r * w_step) + cb;
      for (size_t k = 0; k < g->kw; ++k, xk += kd, wk += C) {
        const float32x4_t wv = vld1q_f32(wk);
        a0 = vfmaq_f32(a0, vld1q_f32(xk), wv);
        a1 = vfmaq_f32(a1, vld1q_f32(xk + xs), wv);
        a2 = vfmaq_f32(a2, vld1q_f32(xk + 2 * xs), wv);
        a3 = vfmaq_f32(a3, vld1q_f32(xk + 3 * xs), wv);
      }
    }
    vst1q_f32(yo + cb, a0);
    vst1q_f32(yo + C + cb, a1);
    vst1q_f32(yo + 2 * C + cb, a2);
    vst1q_f32(yo + 3 * C + cb, a3);
  }
  for (size_t c = C4; c < C; ++c) {
    for (ptrdiff_t j = 0; j < 4; ++j) {
      float acc = bias ? bias[c] : 0.0f;
      for (size_t r = 0; r < nrows; ++r) {
        const float* xk = (x + (ptrdiff_t)r * x_step) + x0 + j * xs + c;
        for (size_t k = 0; k < g->kw; ++k) acc += xk[(ptrdiff_t)k * kd] * (w + (ptrdiff_t)r * w_step)[k * C + c];
      }
      yo[(size_t)j * C + c] = acc;
    }
  }
}

extern "C" void ng_f32_dwconv2d_fwd_c4x4_neon(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                              const float* w, ptrdiff_t w_step, const float* bias, float* y) {
  ptrdiff_t lo, hi;
  inner_range(g, 0, (ptrdiff_t)g->kw - 1, &lo, &hi);
  const ptrdiff_t out_w = (ptrdiff_t)g->out_w;
  for (ptrdiff_t o = 0; o < lo; ++o) fwd_pixel_checked(g, nrows, x, x_step, w, w_step, bias, y, o);
  ptrdiff_t o = lo;
  for (; o + 4 <= hi; o += 4) fwd_tile4(g, nrows, x, x_step, w, w_step, bias, y, o);
  // The interior remainder has every tap in bounds; the checked form is correct there too.
  for (; o < out_w; ++o) fwd_pixel_checked(g, nrows, x, x_step, w, w_step, bias, y, o);
}

extern "C" void ng_f32_dwconv2d_bwd_data_c4x1_neon(const ng_dwconv2d_row* g, const float* dy, const float* w_row,
                                                   float* dx) {
  const size_t C = g->channels, C4 = C & ~(size_t)3;
  for (size_t k = 0; k < g->kw; ++k) {
    ptrdiff_t lo, hi;
    inner_range(g, (ptrdiff_t)k, (ptrdiff_t)k, &lo, &hi);
    const float* wk = w_row + k * C;
    for (ptrdiff_t o = lo; o < hi; ++o) {
      float* dxi = dx + (size_t)(o * g->stride - g->pad + (ptrdiff_t)k * g->dil) * C;
      const float* dyo = dy + (size_t)o * C;
      size_t c = 0;
      for (; c < C4; c += 4) vst1q_f32(dxi + c, vfmaq_f32(vld1q_f32(dxi + c), vld1q_f32(dyo + c), vld1q_f32(wk + c)));
      for (; c < C; ++c) dxi[c] += dyo[c] * wk[c];
    }
  }
}

// One (input row, output row) pair of the backward filter.
static void bwd_filter_row(const ng_dwconv2d_row* g, const float* x, const float* dy, float* dw_row) {
  const size_t C = g->channels, C4 = C & ~(size_t)3;
  const ptrdiff_t xs = g->stride * (ptrdiff_t)C;
  for (size_t k = 0; k < g->kw; ++k) {
    ptrdiff_t lo, hi;
    inner_range(g, (ptrdiff_t)k, (ptrdiff_t)k, &lo, &hi);
    if (lo >= hi) continue;
    const ptrdiff_t x0 = (lo * g->stride - g->pad + (ptrdiff_t)k * g->dil) * (ptrdiff_t)C;
    float* dwk = dw_row + k * C;
    for (size_t cb = 0; cb < C4; cb += 4) {
      float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
      const float* xp = x + x0 + cb;
      const float* dp = dy + (size_t)lo * C + cb;
      ptrdiff_t o = lo;
      for (; o + 4 <= hi; o += 4, xp += 4 * xs, dp += 4 * C) {
        a0 = vfmaq_f32(a0, vld1q_f32(xp), vld1q_f32(dp));
        a1 = vfmaq_f32(a1, vld1q_f32(xp + xs), vld1q_f32(dp + C));
        a2 = vfmaq_f32(a2, vld1q_f32(xp + 2 * xs), vld1q_f32(dp + 2 * C));
        a3 = vfmaq_f32(a3, vld1q_f32(xp + 3 * xs), vld1q_f32(dp + 3 * C));
      }
      for (; o < hi; ++o, xp += xs, dp += C) a0 = vfmaq_f32(a0, vld1q_f32(xp), vld1q_f32(dp));
      const float32x4_t sum = vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3));
      vst1q_f32(dwk + cb, vaddq_f32(vld1q_f32(dwk + cb), sum));
    }
    for (size_t c = C4; c < C; ++c) {
      float acc = 0.0f;
      const float* xp = x + x0 + c;
      for (ptrdiff_t o = lo; o < hi; ++o, xp += xs) acc += *xp * dy[(size_t)o * C + c];
      dwk[c] += acc;
    }
  }
}

extern "C" void ng_f32_dwconv2d_bwd_filter_c4x4_neon(const ng_dwconv2d_row* g, size_t nrows, const float* x,
                                  ptrdiff_t x_step,
                                  const float* dy, float* dw, ptrdiff_t dw_step) {
  for (size_t r = 0; r < nrows; ++r) bwd_filter_row(g, x + (ptrdiff_t)r * x_step, dy, dw + (ptrdiff_t)r * dw_step);
}

extern "C" void ng_f32_dwconv2d_fwd2_c4x4_neon(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                        const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t y_step) {
  ng_f32_dwconv2d_fwd_c4x4_neon(g, nrows, x, x_step, w, w_step, bias, y);
  ng_f32_dwconv2d_fwd_c4x4_neon(g, nrows, x + x_step, x_step, w, w_step, bias, y + y_step);
}

extern "C" void ng_f32_dwconv2d_bwd_filter2_c4x4_neon(const ng_dwconv2d_row* g, size_t nrows, const float* x,
                                                ptrdiff_t x_step, const float* dy, ptrdiff_t dy_step, float* dw,
                                                ptrdiff_t dw_step) {
  ng_f32_dwconv2d_bwd_filter_c4x4_neon(g, nrows, x, x_step, dy, dw, dw_step);
  ng_f32_dwconv2d_bwd_filter_c4x4_neon(g, nrows, x + x_step, x_step, dy + dy_step, dw, dw_step);
}
