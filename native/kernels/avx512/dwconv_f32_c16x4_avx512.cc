/*
 * Depthwise convolution row kernels for AVX-512F (nodegrad/conv.h). Forward: 16 channels per vector, 4 output
 * pixels per register tile over the interior (every tap in bounds, no checks), one pixel at a time with
 * per-tap checks on the borders. Backward data: scatter-accumulate one pixel at a time (strides > 1 only).
 * Backward filter: per tap, 4 independent accumulators over the output pixels. The channel tail is one
 * opmask-predicated vector (masked lanes are neither read nor written). Plain loops, intrinsics and static
 * functions only (ODR rule of kernels.h).
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

static __mmask16 lane_mask(size_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u); }

// One output pixel, every tap checked against the row bounds (border pixels).
static void fwd_pixel_checked(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                              const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t o) {
  const size_t C = g->channels;
  const ptrdiff_t in_w = (ptrdiff_t)g->in_w;
  for (size_t cb = 0; cb < C; cb += 16) {
    const __mmask16 m = lane_mask(C - cb);
    __m512 acc = bias ? _mm512_maskz_loadu_ps(m, bias + cb) : _mm512_setzero_ps();
    for (size_t r = 0; r < nrows; ++r) {
      for (size_t k = 0; k < g->kw; ++k) {
        const ptrdiff_t i = o * g->stride - g->pad + (ptrdiff_t)k * g->dil;
        if (i < 0 || i >= in_w) continue;  // zero padding contributes nothing
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, (x + (ptrdiff_t)r * x_step) + (size_t)i * C + cb),
                              _mm512_maskz_loadu_ps(m, (w + (ptrdiff_t)r * w_step) + k * C + cb), acc);
      }
    }
    _mm512_mask_storeu_ps(y + (size_t)o * C + cb, m, acc);
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
  for (size_t cb = 0; cb < C; cb += 16) {
    const __mmask16 m = lane_mask(C - cb);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + cb) : _mm512_setzero_ps();
    __m512 a0 = b, a1 = b, a2 = b, a3 = b;
    for (size_t r = 0; r < nrows; ++r) {
      const float* xk = (x + (ptrdiff_t)r * x_step) + x0 + cb;
      const float* wk = (w + (ptrdiff_t)r * w_step) + cb;
      for (size_t k = 0; k < g->kw; ++k, xk += kd, wk += C) {
        const __m512 wv = _mm512_maskz_loadu_ps(m, wk);
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xk), wv, a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xk + xs), wv, a1);
        a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xk + 2 * xs), wv, a2);
        a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xk + 3 * xs), wv, a3);
      }
    }
    _mm512_mask_storeu_ps(yo + cb, m, a0);
    _mm512_mask_storeu_ps(yo + C + cb, m, a1);
    _mm512_mask_storeu_ps(yo + 2 * C + cb, m, a2);
    _mm512_mask_storeu_ps(yo + 3 * C + cb, m, a3);
  }
}

// One interior output pixel (the remainder of the 4-pixel tiles).
static void fwd_tile1(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step, const float* w,
                      ptrdiff_t w_step,
                      const float* bias, float* y, ptrdiff_t o) {
  const size_t C = g->channels;
  const ptrdiff_t kd = g->dil * (ptrdiff_t)C;
  const ptrdiff_t x0 = (o * g->stride - g->pad) * (ptrdiff_t)C;
  for (size_t cb = 0; cb < C; cb += 16) {
    const __mmask16 m = lane_mask(C - cb);
    __m512 a0 = bias ? _mm512_maskz_loadu_ps(m, bias + cb) : _mm512_setzero_ps();
    for (size_t r = 0; r < nrows; ++r) {
      const float* xk = (x + (ptrdiff_t)r * x_step) + x0 + cb;
      const float* wk = (w + (ptrdiff_t)r * w_step) + cb;
      for (size_t k = 0; k < g->kw; ++k, xk += kd, wk += C) {
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xk), _mm512_maskz_loadu_ps(m, wk), a0);
      }
    }
    _mm512_mask_storeu_ps(y + (size_t)o * C + cb, m, a0);
  }
}

#define NG_LD(p) _mm512_maskz_loadu_ps(m, (p))

// 3 rows x 3 taps over interior pixels [lo, hi): a channel block's nine weight vectors stay in registers along
// the row, so each FMA needs one load (the common 3x3 depthwise layer).
static void fwd_k3r3_interior(const ng_dwconv2d_row* g, const float* x, ptrdiff_t x_step, const float* w,
                              ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t lo, ptrdiff_t hi) {
  const size_t C = g->channels;
  const ptrdiff_t xs = g->stride * (ptrdiff_t)C, kd = g->dil * (ptrdiff_t)C;
  for (size_t cb = 0; cb < C; cb += 16) {
    const __mmask16 m = lane_mask(C - cb);
    const float* w0 = w + cb;
    const float* w1 = w0 + w_step;
    const float* w2 = w1 + w_step;
    const __m512 k00 = NG_LD(w0), k01 = NG_LD(w0 + C), k02 = NG_LD(w0 + 2 * C);
    const __m512 k10 = NG_LD(w1), k11 = NG_LD(w1 + C), k12 = NG_LD(w1 + 2 * C);
    const __m512 k20 = NG_LD(w2), k21 = NG_LD(w2 + C), k22 = NG_LD(w2 + 2 * C);
    const __m512 b = bias ? NG_LD(bias + cb) : _mm512_setzero_ps();
    const float* r0 = x + (lo * g->stride - g->pad) * (ptrdiff_t)C + cb;
    const float* r1 = r0 + x_step;
    const float* r2 = r1 + x_step;
    float* yo = y + (size_t)lo * C + cb;
    ptrdiff_t o = lo;
// Eight pixels per step: eight independent FMA chains cover the FMA latency (4 cycles x 2 ports).
#define NG_TAP8(R, K, WV)                                              \
  a0 = _mm512_fmadd_ps(NG_LD((R) + (K) * kd), (WV), a0);               \
  a1 = _mm512_fmadd_ps(NG_LD((R) + (K) * kd + xs), (WV), a1);          \
  a2 = _mm512_fmadd_ps(NG_LD((R) + (K) * kd + 2 * xs), (WV), a2);      \
  a3 = _mm512_fmadd_ps(NG_LD((R) + (K) * kd + 3 * xs), (WV), a3);      \
  a4 = _mm512_fmadd_ps(NG_LD((R) + (K) * kd + 4 * xs), (WV), a4);      \
  a5 = _mm512_fmadd_ps(NG_LD((R) + (K) * kd + 5 * xs), (WV), a5);      \
  a6 = _mm512_fmadd_ps(NG_LD((R) + (K) * kd + 6 * xs), (WV), a6);      \
  a7 = _mm512_fmadd_ps(NG_LD((R) + (K) * kd + 7 * xs), (WV), a7);
    for (; o + 8 <= hi; o += 8, r0 += 8 * xs, r1 += 8 * xs, r2 += 8 * xs, yo += 8 * C) {
      __m512 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
      NG_TAP8(r0, 0, k00) NG_TAP8(r0, 1, k01) NG_TAP8(r0, 2, k02)
      NG_TAP8(r1, 0, k10) NG_TAP8(r1, 1, k11) NG_TAP8(r1, 2, k12)
      NG_TAP8(r2, 0, k20) NG_TAP8(r2, 1, k21) NG_TAP8(r2, 2, k22)
      _mm512_mask_storeu_ps(yo, m, a0);
      _mm512_mask_storeu_ps(yo + C, m, a1);
      _mm512_mask_storeu_ps(yo + 2 * C, m, a2);
      _mm512_mask_storeu_ps(yo + 3 * C, m, a3);
      _mm512_mask_storeu_ps(yo + 4 * C, m, a4);
      _mm512_mask_storeu_ps(yo + 5 * C, m, a5);
      _mm512_mask_storeu_ps(yo + 6 * C, m, a6);
      _mm512_mask_storeu_ps(yo + 7 * C, m, a7);
    }
#undef NG_TAP8
    for (; o < hi; ++o, r0 += xs, r1 += xs, r2 += xs, yo += C) {
      __m512 a0 = b;
      a0 = _mm512_fmadd_ps(NG_LD(r0), k00, a0);
      a0 = _mm512_fmadd_ps(NG_LD(r0 + kd), k01, a0);
      a0 = _mm512_fmadd_ps(NG_LD(r0 + 2 * kd), k02, a0);
      a0 = _mm512_fmadd_ps(NG_LD(r1), k10, a0);
      a0 = _mm512_fmadd_ps(NG_LD(r1 + kd), k11, a0);
      a0 = _mm512_fmadd_ps(NG_LD(r1 + 2 * kd), k12, a0);
      a0 = _mm512_fmadd_ps(NG_LD(r2), k20, a0);
      a0 = _mm512_fmadd_ps(NG_LD(r2 + kd), k21, a0);
      a0 = _mm512_fmadd_ps(NG_LD(r2 + 2 * kd), k22, a0);
      _mm512_mask_storeu_ps(yo, m, a0);
    }
  }
}

// Stride 1, dilation 1, 3 rows x 3 taps over interior pixels [lo, hi): each input vector is loaded once and
// feeds the (up to) three output pixels that read it, so eight outputs cost 30 loads for 72 FMAs per channel
// block instead of 72 (loads, not FMAs, bound the plain form; misaligned typed-array memory doubles their cost).
static void fwd_k3r3_s1d1(const ng_dwconv2d_row* g, const float* x, ptrdiff_t x_step, const float* w, ptrdiff_t w_step,
                          const float* bias, float* y, ptrdiff_t lo, ptrdiff_t hi) {
  const size_t C = g->channels;
  const ptrdiff_t c = (ptrdiff_t)C;
  // Pixels outer, channel blocks inner: every cache line of a pixel is consumed in one pass along the row.
  ptrdiff_t o = lo;
  for (; o + 8 <= hi; o += 8) {
    const float* x0 = x + (o - g->pad) * c;
    float* yo = y + (size_t)o * C;
    for (size_t cb = 0; cb < C; cb += 16) {
      const __mmask16 m = lane_mask(C - cb);
      const float* w0 = w + cb;
      const float* w1 = w0 + w_step;
      const float* w2 = w1 + w_step;
      const __m512 b = bias ? NG_LD(bias + cb) : _mm512_setzero_ps();
      __m512 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
// Input vector q of the row feeds output q (tap 0), q-1 (tap 1) and q-2 (tap 2).
#define NG_ROW8(R, WR)                                                                             \
  {                                                                                                \
    const __m512 W0 = NG_LD(WR), W1 = NG_LD((WR) + C), W2 = NG_LD((WR) + 2 * C);                   \
    __m512 v = NG_LD(R);                                                                           \
    a0 = _mm512_fmadd_ps(v, W0, a0);                                                               \
    v = NG_LD((R) + c);                                                                            \
    a0 = _mm512_fmadd_ps(v, W1, a0); a1 = _mm512_fmadd_ps(v, W0, a1);                              \
    v = NG_LD((R) + 2 * c);                                                                        \
    a0 = _mm512_fmadd_ps(v, W2, a0); a1 = _mm512_fmadd_ps(v, W1, a1); a2 = _mm512_fmadd_ps(v, W0, a2); \
    v = NG_LD((R) + 3 * c);                                                                        \
    a1 = _mm512_fmadd_ps(v, W2, a1); a2 = _mm512_fmadd_ps(v, W1, a2); a3 = _mm512_fmadd_ps(v, W0, a3); \
    v = NG_LD((R) + 4 * c);                                                                        \
    a2 = _mm512_fmadd_ps(v, W2, a2); a3 = _mm512_fmadd_ps(v, W1, a3); a4 = _mm512_fmadd_ps(v, W0, a4); \
    v = NG_LD((R) + 5 * c);                                                                        \
    a3 = _mm512_fmadd_ps(v, W2, a3); a4 = _mm512_fmadd_ps(v, W1, a4); a5 = _mm512_fmadd_ps(v, W0, a5); \
    v = NG_LD((R) + 6 * c);                                                                        \
    a4 = _mm512_fmadd_ps(v, W2, a4); a5 = _mm512_fmadd_ps(v, W1, a5); a6 = _mm512_fmadd_ps(v, W0, a6); \
    v = NG_LD((R) + 7 * c);                                                                        \
    a5 = _mm512_fmadd_ps(v, W2, a5); a6 = _mm512_fmadd_ps(v, W1, a6); a7 = _mm512_fmadd_ps(v, W0, a7); \
    v = NG_LD((R) + 8 * c);                                                                        \
    a6 = _mm512_fmadd_ps(v, W2, a6); a7 = _mm512_fmadd_ps(v, W1, a7);                              \
    v = NG_LD((R) + 9 * c);                                                                        \
    a7 = _mm512_fmadd_ps(v, W2, a7);                                                               \
  }
      NG_ROW8(x0 + cb, w0)
      NG_ROW8(x0 + x_step + cb, w1)
      NG_ROW8(x0 + 2 * x_step + cb, w2)
#undef NG_ROW8
      float* yc = yo + cb;
      _mm512_mask_storeu_ps(yc, m, a0);
      _mm512_mask_storeu_ps(yc + C, m, a1);
      _mm512_mask_storeu_ps(yc + 2 * C, m, a2);
      _mm512_mask_storeu_ps(yc + 3 * C, m, a3);
      _mm512_mask_storeu_ps(yc + 4 * C, m, a4);
      _mm512_mask_storeu_ps(yc + 5 * C, m, a5);
      _mm512_mask_storeu_ps(yc + 6 * C, m, a6);
      _mm512_mask_storeu_ps(yc + 7 * C, m, a7);
    }
  }
  if (o < hi) fwd_k3r3_interior(g, x, x_step, w, w_step, bias, y, o, hi);
}

// Two output rows at once (stride 1, dilation 1, 3x3, both windows complete): the four input rows they read are
// loaded once for both, halving the loads per FMA again (16 accumulators, 6 weight vectors per input row).
static void fwd_k3r3_s1d1_rows2(const ng_dwconv2d_row* g, const float* x, ptrdiff_t x_step, const float* w,
                                ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t y_step, ptrdiff_t lo,
                                ptrdiff_t hi) {
  const size_t C = g->channels;
  const ptrdiff_t c = (ptrdiff_t)C;
  ptrdiff_t o = lo;
  for (; o + 8 <= hi; o += 8) {
    const float* x0 = x + (o - g->pad) * c;
    float* yo = y + (size_t)o * C;
    for (size_t cb = 0; cb < C; cb += 16) {
      const __mmask16 m = lane_mask(C - cb);
      const __m512 bv = bias ? NG_LD(bias + cb) : _mm512_setzero_ps();
      __m512 a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv;
      __m512 b0 = bv, b1 = bv, b2 = bv, b3 = bv, b4 = bv, b5 = bv, b6 = bv, b7 = bv;
// Input vector q feeds output q (tap 0), q-1 (tap 1), q-2 (tap 2) of the row accumulating into P.
#define NG_FMA(ACC, V, W) ACC = _mm512_fmadd_ps(V, W, ACC)
#define NG_ROW(R, P, W0, W1, W2)                                                                   \
  {                                                                                                \
    __m512 v = NG_LD(R);                                                                           \
    NG_FMA(P##0, v, W0);                                                                           \
    v = NG_LD((R) + c);                                                                            \
    NG_FMA(P##0, v, W1); NG_FMA(P##1, v, W0);                                                      \
    v = NG_LD((R) + 2 * c);                                                                        \
    NG_FMA(P##0, v, W2); NG_FMA(P##1, v, W1); NG_FMA(P##2, v, W0);                                 \
    v = NG_LD((R) + 3 * c);                                                                        \
    NG_FMA(P##1, v, W2); NG_FMA(P##2, v, W1); NG_FMA(P##3, v, W0);                                 \
    v = NG_LD((R) + 4 * c);                                                                        \
    NG_FMA(P##2, v, W2); NG_FMA(P##3, v, W1); NG_FMA(P##4, v, W0);                                 \
    v = NG_LD((R) + 5 * c);                                                                        \
    NG_FMA(P##3, v, W2); NG_FMA(P##4, v, W1); NG_FMA(P##5, v, W0);                                 \
    v = NG_LD((R) + 6 * c);                                                                        \
    NG_FMA(P##4, v, W2); NG_FMA(P##5, v, W1); NG_FMA(P##6, v, W0);                                 \
    v = NG_LD((R) + 7 * c);                                                                        \
    NG_FMA(P##5, v, W2); NG_FMA(P##6, v, W1); NG_FMA(P##7, v, W0);                                 \
    v = NG_LD((R) + 8 * c);                                                                        \
    NG_FMA(P##6, v, W2); NG_FMA(P##7, v, W1);                                                      \
    v = NG_LD((R) + 9 * c);                                                                        \
    NG_FMA(P##7, v, W2);                                                                           \
  }
// Both rows' FMAs from one pass over input row R (P: first output row with weights WA, Q: second with WB).
#define NG_ROW2(R, WA0, WA1, WA2, WB0, WB1, WB2)                                                   \
  {                                                                                                \
    __m512 v = NG_LD(R);                                                                           \
    NG_FMA(a0, v, WA0); NG_FMA(b0, v, WB0);                                                        \
    v = NG_LD((R) + c);                                                                            \
    NG_FMA(a0, v, WA1); NG_FMA(a1, v, WA0); NG_FMA(b0, v, WB1); NG_FMA(b1, v, WB0);                \
    v = NG_LD((R) + 2 * c);                                                                        \
    NG_FMA(a0, v, WA2); NG_FMA(a1, v, WA1); NG_FMA(a2, v, WA0);                                    \
    NG_FMA(b0, v, WB2); NG_FMA(b1, v, WB1); NG_FMA(b2, v, WB0);                                    \
    v = NG_LD((R) + 3 * c);                                                                        \
    NG_FMA(a1, v, WA2); NG_FMA(a2, v, WA1); NG_FMA(a3, v, WA0);                                    \
    NG_FMA(b1, v, WB2); NG_FMA(b2, v, WB1); NG_FMA(b3, v, WB0);                                    \
    v = NG_LD((R) + 4 * c);                                                                        \
    NG_FMA(a2, v, WA2); NG_FMA(a3, v, WA1); NG_FMA(a4, v, WA0);                                    \
    NG_FMA(b2, v, WB2); NG_FMA(b3, v, WB1); NG_FMA(b4, v, WB0);                                    \
    v = NG_LD((R) + 5 * c);                                                                        \
    NG_FMA(a3, v, WA2); NG_FMA(a4, v, WA1); NG_FMA(a5, v, WA0);                                    \
    NG_FMA(b3, v, WB2); NG_FMA(b4, v, WB1); NG_FMA(b5, v, WB0);                                    \
    v = NG_LD((R) + 6 * c);                                                                        \
    NG_FMA(a4, v, WA2); NG_FMA(a5, v, WA1); NG_FMA(a6, v, WA0);                                    \
    NG_FMA(b4, v, WB2); NG_FMA(b5, v, WB1); NG_FMA(b6, v, WB0);                                    \
    v = NG_LD((R) + 7 * c);                                                                        \
    NG_FMA(a5, v, WA2); NG_FMA(a6, v, WA1); NG_FMA(a7, v, WA0);                                    \
    NG_FMA(b5, v, WB2); NG_FMA(b6, v, WB1); NG_FMA(b7, v, WB0);                                    \
    v = NG_LD((R) + 8 * c);                                                                        \
    NG_FMA(a6, v, WA2); NG_FMA(a7, v, WA1); NG_FMA(b6, v, WB2); NG_FMA(b7, v, WB1);                \
    v = NG_LD((R) + 9 * c);                                                                        \
    NG_FMA(a7, v, WA2); NG_FMA(b7, v, WB2);                                                        \
  }
      const float* wr0 = w + cb;
      const float* wr1 = wr0 + w_step;
      const float* wr2 = wr1 + w_step;
      {
        const __m512 W0 = NG_LD(wr0), W1 = NG_LD(wr0 + C), W2 = NG_LD(wr0 + 2 * C);
        NG_ROW(x0 + cb, a, W0, W1, W2)
      }
      {
        const __m512 A0 = NG_LD(wr1), A1 = NG_LD(wr1 + C), A2 = NG_LD(wr1 + 2 * C);
        const __m512 B0 = NG_LD(wr0), B1 = NG_LD(wr0 + C), B2 = NG_LD(wr0 + 2 * C);
        NG_ROW2(x0 + x_step + cb, A0, A1, A2, B0, B1, B2)
      }
      {
        const __m512 A0 = NG_LD(wr2), A1 = NG_LD(wr2 + C), A2 = NG_LD(wr2 + 2 * C);
        const __m512 B0 = NG_LD(wr1), B1 = NG_LD(wr1 + C), B2 = NG_LD(wr1 + 2 * C);
        NG_ROW2(x0 + 2 * x_step + cb, A0, A1, A2, B0, B1, B2)
      }
      {
        const __m512 W0 = NG_LD(wr2), W1 = NG_LD(wr2 + C), W2 = NG_LD(wr2 + 2 * C);
        NG_ROW(x0 + 3 * x_step + cb, b, W0, W1, W2)
      }
#undef NG_ROW2
#undef NG_ROW
#undef NG_FMA
      float* ya = yo + cb;
      float* yb = ya + y_step;
      _mm512_mask_storeu_ps(ya, m, a0);
      _mm512_mask_storeu_ps(ya + C, m, a1);
      _mm512_mask_storeu_ps(ya + 2 * C, m, a2);
      _mm512_mask_storeu_ps(ya + 3 * C, m, a3);
      _mm512_mask_storeu_ps(ya + 4 * C, m, a4);
      _mm512_mask_storeu_ps(ya + 5 * C, m, a5);
      _mm512_mask_storeu_ps(ya + 6 * C, m, a6);
      _mm512_mask_storeu_ps(ya + 7 * C, m, a7);
      _mm512_mask_storeu_ps(yb, m, b0);
      _mm512_mask_storeu_ps(yb + C, m, b1);
      _mm512_mask_storeu_ps(yb + 2 * C, m, b2);
      _mm512_mask_storeu_ps(yb + 3 * C, m, b3);
      _mm512_mask_storeu_ps(yb + 4 * C, m, b4);
      _mm512_mask_storeu_ps(yb + 5 * C, m, b5);
      _mm512_mask_storeu_ps(yb + 6 * C, m, b6);
      _mm512_mask_storeu_ps(yb + 7 * C, m, b7);
    }
  }
  if (o < hi) {
    fwd_k3r3_interior(g, x, x_step, w, w_step, bias, y, o, hi);
    fwd_k3r3_interior(g, x + x_step, x_step, w, w_step, bias, y + y_step, o, hi);
  }
}


// Border pixels of one output row (input rows XB, XB + x_step, XB + 2*x_step; dy row DYB): only in-row taps.
#define NG_BF_BORDER(XB, DYB) \
    for (ptrdiff_t o = 0; o < out_w; ++o) {                                                                          \
      if (o == lo) o = hi > lo ? hi : lo;                                                                            \
      if (o >= out_w) break;                                                                                         \
      const ptrdiff_t i0 = o * g->stride - g->pad;                                                                   \
      const __m512 d = NG_LD((DYB) + (size_t)o * C + cb);                                                            \
      const float* c0 = (XB) + cb;                                                                                   \
      const float* c1 = c0 + x_step;                                                                                 \
      const float* c2 = c1 + x_step;                                                                                 \
      for (ptrdiff_t k = 0; k < 3; ++k) {                                                                            \
        const ptrdiff_t i = i0 + k * g->dil;                                                                         \
        if (i < 0 || i >= in_w) continue;                                                                            \
        const ptrdiff_t off = i * (ptrdiff_t)C;                                                                      \
        if (k == 0) {                                                                                                \
          a00 = _mm512_fmadd_ps(NG_LD(c0 + off), d, a00);                                                            \
          a10 = _mm512_fmadd_ps(NG_LD(c1 + off), d, a10);                                                            \
          a20 = _mm512_fmadd_ps(NG_LD(c2 + off), d, a20);                                                            \
        } else if (k == 1) {                                                                                         \
          a01 = _mm512_fmadd_ps(NG_LD(c0 + off), d, a01);                                                            \
          a11 = _mm512_fmadd_ps(NG_LD(c1 + off), d, a11);                                                            \
          a21 = _mm512_fmadd_ps(NG_LD(c2 + off), d, a21);                                                            \
        } else {                                                                                                     \
          a02 = _mm512_fmadd_ps(NG_LD(c0 + off), d, a02);                                                            \
          a12 = _mm512_fmadd_ps(NG_LD(c1 + off), d, a12);                                                            \
          a22 = _mm512_fmadd_ps(NG_LD(c2 + off), d, a22);                                                            \
        }                                                                                                            \
      }                                                                                                              \
    }

// Backward filter for 3 rows x 3 taps: nine accumulators per channel block, one dy load per output pixel.
static void bwd_filter_k3r3(const ng_dwconv2d_row* g, const float* x, ptrdiff_t x_step, const float* dy, float* dw,
                            ptrdiff_t dw_step) {
  const size_t C = g->channels;
  const ptrdiff_t xs = g->stride * (ptrdiff_t)C, kd = g->dil * (ptrdiff_t)C, in_w = (ptrdiff_t)g->in_w;
  const ptrdiff_t out_w = (ptrdiff_t)g->out_w;
  ptrdiff_t lo, hi;
  inner_range(g, 0, 2, &lo, &hi);
  for (size_t cb = 0; cb < C; cb += 16) {
    const __mmask16 m = lane_mask(C - cb);
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00, a20 = a00, a21 = a00,
           a22 = a00;
    const float* r0 = x + (lo * g->stride - g->pad) * (ptrdiff_t)C + cb;
    const float* r1 = r0 + x_step;
    const float* r2 = r1 + x_step;
    const float* dp = dy + (size_t)lo * C + cb;
    if (g->stride == 1 && g->dil == 1 && lo < hi) {
      // Stride 1: the three taps of a row read adjacent pixels, so each x vector is loaded once and slides.
      __m512 x0a = NG_LD(r0), x0b = NG_LD(r0 + C), x1a = NG_LD(r1), x1b = NG_LD(r1 + C), x2a = NG_LD(r2),
             x2b = NG_LD(r2 + C);
      for (ptrdiff_t o = lo; o < hi; ++o, r0 += C, r1 += C, r2 += C, dp += C) {
        const __m512 d = NG_LD(dp);
        const __m512 x0c = NG_LD(r0 + 2 * C), x1c = NG_LD(r1 + 2 * C), x2c = NG_LD(r2 + 2 * C);
        a00 = _mm512_fmadd_ps(x0a, d, a00);
        a01 = _mm512_fmadd_ps(x0b, d, a01);
        a02 = _mm512_fmadd_ps(x0c, d, a02);
        a10 = _mm512_fmadd_ps(x1a, d, a10);
        a11 = _mm512_fmadd_ps(x1b, d, a11);
        a12 = _mm512_fmadd_ps(x1c, d, a12);
        a20 = _mm512_fmadd_ps(x2a, d, a20);
        a21 = _mm512_fmadd_ps(x2b, d, a21);
        a22 = _mm512_fmadd_ps(x2c, d, a22);
        x0a = x0b; x0b = x0c;
        x1a = x1b; x1b = x1c;
        x2a = x2b; x2b = x2c;
      }
    } else {
      for (ptrdiff_t o = lo; o < hi; ++o, r0 += xs, r1 += xs, r2 += xs, dp += C) {
        const __m512 d = NG_LD(dp);
        a00 = _mm512_fmadd_ps(NG_LD(r0), d, a00);
        a01 = _mm512_fmadd_ps(NG_LD(r0 + kd), d, a01);
        a02 = _mm512_fmadd_ps(NG_LD(r0 + 2 * kd), d, a02);
        a10 = _mm512_fmadd_ps(NG_LD(r1), d, a10);
        a11 = _mm512_fmadd_ps(NG_LD(r1 + kd), d, a11);
        a12 = _mm512_fmadd_ps(NG_LD(r1 + 2 * kd), d, a12);
        a20 = _mm512_fmadd_ps(NG_LD(r2), d, a20);
        a21 = _mm512_fmadd_ps(NG_LD(r2 + kd), d, a21);
        a22 = _mm512_fmadd_ps(NG_LD(r2 + 2 * kd), d, a22);
      }
    }
    NG_BF_BORDER(x, dy)
    float* d0 = dw + cb;
    float* d1 = d0 + dw_step;
    float* d2 = d1 + dw_step;
#define NG_ACC(P, A) _mm512_mask_storeu_ps((P), m, _mm512_add_ps(NG_LD(P), (A)))
    NG_ACC(d0, a00); NG_ACC(d0 + C, a01); NG_ACC(d0 + 2 * C, a02);
    NG_ACC(d1, a10); NG_ACC(d1 + C, a11); NG_ACC(d1 + 2 * C, a12);
    NG_ACC(d2, a20); NG_ACC(d2 + C, a21); NG_ACC(d2 + 2 * C, a22);
#undef NG_ACC
  }
}

// Two adjacent output rows (stride 1, dilation 1, 3x3, both windows complete) into the same nine accumulators:
// their four input rows are read once (6 loads per 18 FMAs instead of 8).
static void bwd_filter2_k3r3_s1d1(const ng_dwconv2d_row* g, const float* x, ptrdiff_t x_step, const float* dy,
                                  ptrdiff_t dy_step, float* dw, ptrdiff_t dw_step) {
  const size_t C = g->channels;
  const ptrdiff_t in_w = (ptrdiff_t)g->in_w, out_w = (ptrdiff_t)g->out_w;
  ptrdiff_t lo, hi;
  inner_range(g, 0, 2, &lo, &hi);
  for (size_t cb = 0; cb < C; cb += 16) {
    const __mmask16 m = lane_mask(C - cb);
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00, a20 = a00, a21 = a00,
           a22 = a00;
    if (lo < hi) {
      const float* r0 = x + (lo - g->pad) * (ptrdiff_t)C + cb;
      const float* r1 = r0 + x_step;
      const float* r2 = r1 + x_step;
      const float* r3 = r2 + x_step;
      const float* p0 = dy + (size_t)lo * C + cb;
      const float* p1 = p0 + dy_step;
      __m512 x0a = NG_LD(r0), x0b = NG_LD(r0 + C), x1a = NG_LD(r1), x1b = NG_LD(r1 + C);
      __m512 x2a = NG_LD(r2), x2b = NG_LD(r2 + C), x3a = NG_LD(r3), x3b = NG_LD(r3 + C);
      for (ptrdiff_t o = lo; o < hi; ++o, r0 += C, r1 += C, r2 += C, r3 += C, p0 += C, p1 += C) {
        const __m512 d0 = NG_LD(p0), d1 = NG_LD(p1);
        const __m512 x0c = NG_LD(r0 + 2 * C), x1c = NG_LD(r1 + 2 * C), x2c = NG_LD(r2 + 2 * C), x3c = NG_LD(r3 + 2 * C);
        a00 = _mm512_fmadd_ps(x0a, d0, a00); a01 = _mm512_fmadd_ps(x0b, d0, a01); a02 = _mm512_fmadd_ps(x0c, d0, a02);
        a10 = _mm512_fmadd_ps(x1a, d0, a10); a11 = _mm512_fmadd_ps(x1b, d0, a11); a12 = _mm512_fmadd_ps(x1c, d0, a12);
        a20 = _mm512_fmadd_ps(x2a, d0, a20); a21 = _mm512_fmadd_ps(x2b, d0, a21); a22 = _mm512_fmadd_ps(x2c, d0, a22);
        a00 = _mm512_fmadd_ps(x1a, d1, a00); a01 = _mm512_fmadd_ps(x1b, d1, a01); a02 = _mm512_fmadd_ps(x1c, d1, a02);
        a10 = _mm512_fmadd_ps(x2a, d1, a10); a11 = _mm512_fmadd_ps(x2b, d1, a11); a12 = _mm512_fmadd_ps(x2c, d1, a12);
        a20 = _mm512_fmadd_ps(x3a, d1, a20); a21 = _mm512_fmadd_ps(x3b, d1, a21); a22 = _mm512_fmadd_ps(x3c, d1, a22);
        x0a = x0b; x0b = x0c;
        x1a = x1b; x1b = x1c;
        x2a = x2b; x2b = x2c;
        x3a = x3b; x3b = x3c;
      }
    }
    NG_BF_BORDER(x, dy)
    NG_BF_BORDER(x + x_step, dy + dy_step)
    float* d0 = dw + cb;
    float* d1 = d0 + dw_step;
    float* d2 = d1 + dw_step;
#define NG_ACC(P, A) _mm512_mask_storeu_ps((P), m, _mm512_add_ps(NG_LD(P), (A)))
    NG_ACC(d0, a00); NG_ACC(d0 + C, a01); NG_ACC(d0 + 2 * C, a02);
    NG_ACC(d1, a10); NG_ACC(d1 + C, a11); NG_ACC(d1 + 2 * C, a12);
    NG_ACC(d2, a20); NG_ACC(d2 + C, a21); NG_ACC(d2 + 2 * C, a22);
#undef NG_ACC
  }
}

extern "C" void ng_f32_dwconv2d_fwd_c16x4_avx512(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                                 const float* w, ptrdiff_t w_step, const float* bias, float* y) {
  ptrdiff_t lo, hi;
  inner_range(g, 0, (ptrdiff_t)g->kw - 1, &lo, &hi);
  const ptrdiff_t out_w = (ptrdiff_t)g->out_w;
  for (ptrdiff_t o = 0; o < lo; ++o) fwd_pixel_checked(g, nrows, x, x_step, w, w_step, bias, y, o);
  if (nrows == 3 && g->kw == 3 && g->stride == 1 && g->dil == 1) {
    fwd_k3r3_s1d1(g, x, x_step, w, w_step, bias, y, lo, hi);
  } else if (nrows == 3 && g->kw == 3) {
    fwd_k3r3_interior(g, x, x_step, w, w_step, bias, y, lo, hi);
  } else {
    ptrdiff_t o = lo;
    for (; o + 4 <= hi; o += 4) fwd_tile4(g, nrows, x, x_step, w, w_step, bias, y, o);
    for (; o < hi; ++o) fwd_tile1(g, nrows, x, x_step, w, w_step, bias, y, o);
  }
  for (ptrdiff_t o = hi; o < out_w; ++o) fwd_pixel_checked(g, nrows, x, x_step, w, w_step, bias, y, o);
}

extern "C" void ng_f32_dwconv2d_bwd_data_c16x1_avx512(const ng_dwconv2d_row* g, const float* dy, const float* w_row,
                                                      float* dx) {
  const size_t C = g->channels;
  for (size_t k = 0; k < g->kw; ++k) {
    ptrdiff_t lo, hi;
    inner_range(g, (ptrdiff_t)k, (ptrdiff_t)k, &lo, &hi);
    const float* wk = w_row + k * C;
    for (ptrdiff_t o = lo; o < hi; ++o) {
      float* dxi = dx + (size_t)(o * g->stride - g->pad + (ptrdiff_t)k * g->dil) * C;
      const float* dyo = dy + (size_t)o * C;
      for (size_t cb = 0; cb < C; cb += 16) {
        const __mmask16 m = lane_mask(C - cb);
        const __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, dyo + cb), _mm512_maskz_loadu_ps(m, wk + cb),
                                         _mm512_maskz_loadu_ps(m, dxi + cb));
        _mm512_mask_storeu_ps(dxi + cb, m, v);
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
    for (size_t cb = 0; cb < C; cb += 16) {
      const __mmask16 m = lane_mask(C - cb);
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      const float* xp = x + x0 + cb;
      const float* dp = dy + (size_t)lo * C + cb;
      ptrdiff_t o = lo;
      for (; o + 4 <= hi; o += 4, xp += 4 * xs, dp += 4 * C) {
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp), _mm512_maskz_loadu_ps(m, dp), a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp + xs), _mm512_maskz_loadu_ps(m, dp + C), a1);
        a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp + 2 * xs), _mm512_maskz_loadu_ps(m, dp + 2 * C), a2);
        a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp + 3 * xs), _mm512_maskz_loadu_ps(m, dp + 3 * C), a3);
      }
      for (; o < hi; ++o, xp += xs, dp += C) {
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp), _mm512_maskz_loadu_ps(m, dp), a0);
      }
      const __m512 sum = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
      float* dwk = dw_row + k * C + cb;
      _mm512_mask_storeu_ps(dwk, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dwk), sum));
    }
  }
}

extern "C" void ng_f32_dwconv2d_bwd_filter_c16x4_avx512(const ng_dwconv2d_row* g, size_t nrows, const float* x,
                                  ptrdiff_t x_step,
                                  const float* dy, float* dw, ptrdiff_t dw_step) {
  if (nrows == 3 && g->kw == 3) {
    bwd_filter_k3r3(g, x, x_step, dy, dw, dw_step);
    return;
  }
  for (size_t r = 0; r < nrows; ++r) bwd_filter_row(g, x + (ptrdiff_t)r * x_step, dy, dw + (ptrdiff_t)r * dw_step);
}

extern "C" void ng_f32_dwconv2d_fwd2_c16x4_avx512(const ng_dwconv2d_row* g, size_t nrows, const float* x,
                                                  ptrdiff_t x_step, const float* w, ptrdiff_t w_step,
                                                  const float* bias, float* y, ptrdiff_t y_step) {
  if (!(nrows == 3 && g->kw == 3 && g->stride == 1 && g->dil == 1)) {
    ng_f32_dwconv2d_fwd_c16x4_avx512(g, nrows, x, x_step, w, w_step, bias, y);
    ng_f32_dwconv2d_fwd_c16x4_avx512(g, nrows, x + x_step, x_step, w, w_step, bias, y + y_step);
    return;
  }
  ptrdiff_t lo, hi;
  inner_range(g, 0, 2, &lo, &hi);
  const ptrdiff_t out_w = (ptrdiff_t)g->out_w;
  for (ptrdiff_t r = 0; r < 2; ++r) {
    const float* xr = x + r * x_step;
    float* yr = y + r * y_step;
    for (ptrdiff_t o = 0; o < lo; ++o) fwd_pixel_checked(g, 3, xr, x_step, w, w_step, bias, yr, o);
    for (ptrdiff_t o = hi; o < out_w; ++o) fwd_pixel_checked(g, 3, xr, x_step, w, w_step, bias, yr, o);
  }
  fwd_k3r3_s1d1_rows2(g, x, x_step, w, w_step, bias, y, y_step, lo, hi);
}

extern "C" void ng_f32_dwconv2d_bwd_filter2_c16x4_avx512(const ng_dwconv2d_row* g, size_t nrows, const float* x,
                                                         ptrdiff_t x_step, const float* dy, ptrdiff_t dy_step,
                                                         float* dw, ptrdiff_t dw_step) {
  if (nrows == 3 && g->kw == 3 && g->stride == 1 && g->dil == 1) {
    bwd_filter2_k3r3_s1d1(g, x, x_step, dy, dy_step, dw, dw_step);
    return;
  }
  ng_f32_dwconv2d_bwd_filter_c16x4_avx512(g, nrows, x, x_step, dy, dw, dw_step);
  ng_f32_dwconv2d_bwd_filter_c16x4_avx512(g, nrows, x + x_step, x_step, dy + dy_step, dw, dw_step);
}
