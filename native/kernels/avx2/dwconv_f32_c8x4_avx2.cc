/*
 * Depthwise convolution row kernels for AVX2 + FMA (nodegrad/conv.h): the AVX-512 file's loops with 8 channels
 * per vector. Full 8-channel blocks use plain loads; the channel tail uses vmaskmovps (masked lanes are
 * neither read nor written). Plain loops, intrinsics and static functions only (ODR rule of kernels.h).
 */
#include <immintrin.h>

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

static const int kMaskBits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// Lanes [0, min(left, 8)) set.
static __m256i lane_mask(size_t left) {
  return _mm256_loadu_si256((const __m256i*)(kMaskBits + 8 - (left >= 8 ? 8 : left)));
}

// full: every lane live (plain load/store); otherwise the masked forms. Loop-invariant, so well predicted.
#define NG_LD(p) (full ? _mm256_loadu_ps(p) : _mm256_maskload_ps((p), mk))
#define NG_ST(p, v)                      \
  do {                                   \
    if (full) _mm256_storeu_ps((p), (v)); \
    else _mm256_maskstore_ps((p), mk, (v)); \
  } while (0)

// One output pixel, every tap checked against the row bounds (border pixels).
static void fwd_pixel_checked(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                              const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t o) {
  const size_t C = g->channels;
  const ptrdiff_t in_w = (ptrdiff_t)g->in_w;
  for (size_t cb = 0; cb < C; cb += 8) {
    const int full = cb + 8 <= C;
    const __m256i mk = lane_mask(C - cb);
    __m256 acc = bias ? NG_LD(bias + cb) : _mm256_setzero_ps();
    for (size_t r = 0; r < nrows; ++r) {
      for (size_t k = 0; k < g->kw; ++k) {
        const ptrdiff_t i = o * g->stride - g->pad + (ptrdiff_t)k * g->dil;
        if (i < 0 || i >= in_w) continue;  // zero padding contributes nothing
        acc = _mm256_fmadd_ps(NG_LD((x + (ptrdiff_t)r * x_step) + (size_t)i * C + cb),
                              NG_LD((w + (ptrdiff_t)r * w_step) + k * C + cb), acc);
      }
    }
    NG_ST(y + (size_t)o * C + cb, acc);
  }
}

// Four interior output pixels o..o+3: one weight load feeds four FMAs.
static void fwd_tile4(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step, const float* w,
                      ptrdiff_t w_step,
                      const float* bias, float* y, ptrdiff_t o) {
  const size_t C = g->channels;
  const ptrdiff_t xs = g->stride * (ptrdiff_t)C, kd = g->dil * (ptrdiff_t)C;
  const ptrdiff_t x0 = (o * g->stride - g->pad) * (ptrdiff_t)C;
  float* yo = y + (size_t)o * C;
  for (size_t cb = 0; cb < C; cb += 8) {
    const int full = cb + 8 <= C;
    const __m256i mk = lane_mask(C - cb);
    const __m256 b = bias ? NG_LD(bias + cb) : _mm256_setzero_ps();
    __m256 a0 = b, a1 = b, a2 = b, a3 = b;
    for (size_t r = 0; r < nrows; ++r) {
      const float* xk = (x + (ptrdiff_t)r * x_step) + x0 + cb;
      const float* wk = (w + (ptrdiff_t)r * w_step) + cb;
      for (size_t k = 0; k < g->kw; ++k, xk += kd, wk += C) {
        const __m256 wv = NG_LD(wk);
        a0 = _mm256_fmadd_ps(NG_LD(xk), wv, a0);
        a1 = _mm256_fmadd_ps(NG_LD(xk + xs), wv, a1);
        a2 = _mm256_fmadd_ps(NG_LD(xk + 2 * xs), wv, a2);
        a3 = _mm256_fmadd_ps(NG_LD(xk + 3 * xs), wv, a3);
      }
    }
    NG_ST(yo + cb, a0);
    NG_ST(yo + C + cb, a1);
    NG_ST(yo + 2 * C + cb, a2);
    NG_ST(yo + 3 * C + cb, a3);
  }
}

// One interior output pixel (the remainder of the 4-pixel tiles).
static void fwd_tile1(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step, const float* w,
                      ptrdiff_t w_step,
                      const float* bias, float* y, ptrdiff_t o) {
  const size_t C = g->channels;
  const ptrdiff_t kd = g->dil * (ptrdiff_t)C;
  const ptrdiff_t x0 = (o * g->stride - g->pad) * (ptrdiff_t)C;
  for (size_t cb = 0; cb < C; cb += 8) {
    const int full = cb + 8 <= C;
    const __m256i mk = lane_mask(C - cb);
    __m256 a0 = bias ? NG_LD(bias + cb) : _mm256_setzero_ps();
    for (size_t r = 0; r < nrows; ++r) {
      const float* xk = (x + (ptrdiff_t)r * x_step) + x0 + cb;
      const float* wk = (w + (ptrdiff_t)r * w_step) + cb;
      for (size_t k = 0; k < g->kw; ++k, xk += kd, wk += C) a0 = _mm256_fmadd_ps(NG_LD(xk), NG_LD(wk), a0);
    }
    NG_ST(y + (size_t)o * C + cb, a0);
  }
}

// Stride 1, dilation 1, 3 rows x 3 taps over interior pixels [lo, hi), eight pixels per step: each input vector
// is loaded once and feeds the (up to) three outputs that read it (30 loads for 72 FMAs per channel block), and
// eight accumulators cover the FMA latency.
static void fwd_k3r3_s1d1(const ng_dwconv2d_row* g, const float* x, ptrdiff_t x_step, const float* w, ptrdiff_t w_step,
                          const float* bias, float* y, ptrdiff_t lo, ptrdiff_t hi) {
  const size_t C = g->channels;
  const ptrdiff_t c = (ptrdiff_t)C;
  ptrdiff_t o = lo;
  for (; o + 8 <= hi; o += 8) {
    const float* x0 = x + (o - g->pad) * c;
    float* yo = y + (size_t)o * C;
    for (size_t cb = 0; cb < C; cb += 8) {
      const int full = cb + 8 <= C;
      const __m256i mk = lane_mask(C - cb);
      const __m256 b = bias ? NG_LD(bias + cb) : _mm256_setzero_ps();
      __m256 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
#define NG_FMA(ACC, V, W) ACC = _mm256_fmadd_ps(V, W, ACC)
#define NG_ROW8(R, WR)                                                                     \
  {                                                                                        \
    const __m256 W0 = NG_LD(WR), W1 = NG_LD((WR) + C), W2 = NG_LD((WR) + 2 * C);           \
    __m256 v = NG_LD(R);                                                                   \
    NG_FMA(a0, v, W0);                                                                     \
    v = NG_LD((R) + c);                                                                    \
    NG_FMA(a0, v, W1); NG_FMA(a1, v, W0);                                                  \
    v = NG_LD((R) + 2 * c);                                                                \
    NG_FMA(a0, v, W2); NG_FMA(a1, v, W1); NG_FMA(a2, v, W0);                               \
    v = NG_LD((R) + 3 * c);                                                                \
    NG_FMA(a1, v, W2); NG_FMA(a2, v, W1); NG_FMA(a3, v, W0);                               \
    v = NG_LD((R) + 4 * c);                                                                \
    NG_FMA(a2, v, W2); NG_FMA(a3, v, W1); NG_FMA(a4, v, W0);                               \
    v = NG_LD((R) + 5 * c);                                                                \
    NG_FMA(a3, v, W2); NG_FMA(a4, v, W1); NG_FMA(a5, v, W0);                               \
    v = NG_LD((R) + 6 * c);                                                                \
    NG_FMA(a4, v, W2); NG_FMA(a5, v, W1); NG_FMA(a6, v, W0);                               \
    v = NG_LD((R) + 7 * c);                                                                \
    NG_FMA(a5, v, W2); NG_FMA(a6, v, W1); NG_FMA(a7, v, W0);                               \
    v = NG_LD((R) + 8 * c);                                                                \
    NG_FMA(a6, v, W2); NG_FMA(a7, v, W1);                                                  \
    v = NG_LD((R) + 9 * c);                                                                \
    NG_FMA(a7, v, W2);                                                                     \
  }
      NG_ROW8(x0 + cb, w + cb)
      NG_ROW8(x0 + x_step + cb, w + w_step + cb)
      NG_ROW8(x0 + 2 * x_step + cb, w + 2 * w_step + cb)
#undef NG_ROW8
#undef NG_FMA
      float* yc = yo + cb;
      NG_ST(yc, a0);
      NG_ST(yc + C, a1);
      NG_ST(yc + 2 * C, a2);
      NG_ST(yc + 3 * C, a3);
      NG_ST(yc + 4 * C, a4);
      NG_ST(yc + 5 * C, a5);
      NG_ST(yc + 6 * C, a6);
      NG_ST(yc + 7 * C, a7);
    }
  }
  for (; o + 4 <= hi; o += 4) fwd_tile4(g, 3, x, x_step, w, w_step, bias, y, o);
  for (; o < hi; ++o) fwd_tile1(g, 3, x, x_step, w, w_step, bias, y, o);
}

extern "C" void ng_f32_dwconv2d_fwd_c8x4_avx2(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                              const float* w, ptrdiff_t w_step, const float* bias, float* y) {
  ptrdiff_t lo, hi;
  inner_range(g, 0, (ptrdiff_t)g->kw - 1, &lo, &hi);
  const ptrdiff_t out_w = (ptrdiff_t)g->out_w;
  for (ptrdiff_t o = 0; o < lo; ++o) fwd_pixel_checked(g, nrows, x, x_step, w, w_step, bias, y, o);
  if (nrows == 3 && g->kw == 3 && g->stride == 1 && g->dil == 1) {
    fwd_k3r3_s1d1(g, x, x_step, w, w_step, bias, y, lo, hi);
  } else {
    ptrdiff_t o = lo;
    for (; o + 4 <= hi; o += 4) fwd_tile4(g, nrows, x, x_step, w, w_step, bias, y, o);
    for (; o < hi; ++o) fwd_tile1(g, nrows, x, x_step, w, w_step, bias, y, o);
  }
  for (ptrdiff_t o = hi; o < out_w; ++o) fwd_pixel_checked(g, nrows, x, x_step, w, w_step, bias, y, o);
}

extern "C" void ng_f32_dwconv2d_bwd_data_c8x1_avx2(const ng_dwconv2d_row* g, const float* dy, const float* w_row,
                                                   float* dx) {
  const size_t C = g->channels;
  for (size_t k = 0; k < g->kw; ++k) {
    ptrdiff_t lo, hi;
    inner_range(g, (ptrdiff_t)k, (ptrdiff_t)k, &lo, &hi);
    const float* wk = w_row + k * C;
    for (ptrdiff_t o = lo; o < hi; ++o) {
      float* dxi = dx + (size_t)(o * g->stride - g->pad + (ptrdiff_t)k * g->dil) * C;
      const float* dyo = dy + (size_t)o * C;
      for (size_t cb = 0; cb < C; cb += 8) {
        const int full = cb + 8 <= C;
        const __m256i mk = lane_mask(C - cb);
        NG_ST(dxi + cb, _mm256_fmadd_ps(NG_LD(dyo + cb), NG_LD(wk + cb), NG_LD(dxi + cb)));
      }
    }
  }
}

// One (input row, output row) pair of the backward filter.
static void bwd_filter_row(const ng_dwconv2d_row* g, const float* x, const float* dy, float* dw_row) {
  const size_t C = g->channels;
  const ptrdiff_t xs = g->stride * (ptrdiff_t)C;
  for (size_t k = 0; k < g->kw; ++k) {
    ptrdiff_t lo, hi;
    inner_range(g, (ptrdiff_t)k, (ptrdiff_t)k, &lo, &hi);
    if (lo >= hi) continue;
    const ptrdiff_t x0 = (lo * g->stride - g->pad + (ptrdiff_t)k * g->dil) * (ptrdiff_t)C;
    for (size_t cb = 0; cb < C; cb += 8) {
      const int full = cb + 8 <= C;
      const __m256i mk = lane_mask(C - cb);
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      const float* xp = x + x0 + cb;
      const float* dp = dy + (size_t)lo * C + cb;
      ptrdiff_t o = lo;
      for (; o + 4 <= hi; o += 4, xp += 4 * xs, dp += 4 * C) {
        a0 = _mm256_fmadd_ps(NG_LD(xp), NG_LD(dp), a0);
        a1 = _mm256_fmadd_ps(NG_LD(xp + xs), NG_LD(dp + C), a1);
        a2 = _mm256_fmadd_ps(NG_LD(xp + 2 * xs), NG_LD(dp + 2 * C), a2);
        a3 = _mm256_fmadd_ps(NG_LD(xp + 3 * xs), NG_LD(dp + 3 * C), a3);
      }
      for (; o < hi; ++o, xp += xs, dp += C) a0 = _mm256_fmadd_ps(NG_LD(xp), NG_LD(dp), a0);
      const __m256 sum = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
      float* dwk = dw_row + k * C + cb;
      NG_ST(dwk, _mm256_add_ps(NG_LD(dwk), sum));
    }
  }
}

extern "C" void ng_f32_dwconv2d_bwd_filter_c8x4_avx2(const ng_dwconv2d_row* g, size_t nrows, const float* x,
                                  ptrdiff_t x_step,
                                  const float* dy, float* dw, ptrdiff_t dw_step) {
  for (size_t r = 0; r < nrows; ++r) bwd_filter_row(g, x + (ptrdiff_t)r * x_step, dy, dw + (ptrdiff_t)r * dw_step);
}

extern "C" void ng_f32_dwconv2d_fwd2_c8x4_avx2(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                        const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t y_step) {
  ng_f32_dwconv2d_fwd_c8x4_avx2(g, nrows, x, x_step, w, w_step, bias, y);
  ng_f32_dwconv2d_fwd_c8x4_avx2(g, nrows, x + x_step, x_step, w, w_step, bias, y + y_step);
}

extern "C" void ng_f32_dwconv2d_bwd_filter2_c8x4_avx2(const ng_dwconv2d_row* g, size_t nrows, const float* x,
                                                ptrdiff_t x_step, const float* dy, ptrdiff_t dy_step, float* dw,
                                                ptrdiff_t dw_step) {
  ng_f32_dwconv2d_bwd_filter_c8x4_avx2(g, nrows, x, x_step, dy, dw, dw_step);
  ng_f32_dwconv2d_bwd_filter_c8x4_avx2(g, nrows, x + x_step, x_step, dy + dy_step, dw, dw_step);
}
