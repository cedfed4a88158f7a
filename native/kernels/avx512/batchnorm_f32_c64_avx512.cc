/*
 * Batch-norm kernels for AVX-512F over x [rows, c] (tile c64: 4 x 16 channels per step, single vectors, then an
 * opmask-predicated channel tail). Each block of channels runs down all rows with its per-channel values and
 * accumulators in registers. Sums are in double: each 16-float vector is widened into two 8-double halves
 * (statistics: x - shift squared and summed there; backward: dy and dy * (x - mean), the product rounded once
 * in float). The normalisation and dx passes use FMA.
 * Built only into nodegrad_avx512; plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <immintrin.h>

#include "nodegrad/norm.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's _mm512_castps512_ps256 / _mm512_cvtps_pd expand to a self-initialised "undefined" vector it then warns about.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE __mmask16 lane_mask(int v, int nv, __mmask16 tail) { return v == nv - 1 ? tail : (__mmask16)0xFFFF; }
NG_FORCE_INLINE __m512d lo_pd(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
NG_FORCE_INLINE __m512d hi_pd(__m512 v) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)); }

// acc[0..16) += the two halves of a, under the lane mask.
NG_FORCE_INLINE void add_to(double* acc, __m512d lo, __m512d hi, __mmask16 lanes) {
  const __mmask8 ml = (__mmask8)(lanes & 0xFF), mh = (__mmask8)(lanes >> 8);
  _mm512_mask_storeu_pd(acc, ml, _mm512_add_pd(_mm512_maskz_loadu_pd(ml, acc), lo));
  _mm512_mask_storeu_pd(acc + 8, mh, _mm512_add_pd(_mm512_maskz_loadu_pd(mh, acc + 8), hi));
}

NG_FORCE_INLINE void stats_block(const float* x, size_t ld, size_t rows, const float* shift, double* s1, double* s2,
                               int nv, __mmask16 tail) {
  __m512d kl[4], kh[4], al[4], ah[4], ql[4], qh[4];
  for (int v = 0; v < nv; ++v) {
    const __m512 k = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), shift + 16 * v);
    kl[v] = lo_pd(k);
    kh[v] = hi_pd(k);
    al[v] = ah[v] = ql[v] = qh[v] = _mm512_setzero_pd();
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * ld;
    for (int v = 0; v < nv; ++v) {
      const __m512 xv = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), p + 16 * v);
      const __m512d dl = _mm512_sub_pd(lo_pd(xv), kl[v]), dh = _mm512_sub_pd(hi_pd(xv), kh[v]);  // exact
      al[v] = _mm512_add_pd(al[v], dl);
      ah[v] = _mm512_add_pd(ah[v], dh);
      ql[v] = _mm512_fmadd_pd(dl, dl, ql[v]);
      qh[v] = _mm512_fmadd_pd(dh, dh, qh[v]);
    }
  }
  for (int v = 0; v < nv; ++v) {
    add_to(s1 + 16 * v, al[v], ah[v], lane_mask(v, nv, tail));
    add_to(s2 + 16 * v, ql[v], qh[v], lane_mask(v, nv, tail));
  }
}

extern "C" void ng_f32_bn_stats_c64_avx512(const float* x, size_t ld, size_t rows, size_t c, const float* shift,
                                           double* s1, double* s2) {
  size_t ch = 0;
  for (; ch + 64 <= c; ch += 64) stats_block(x + ch, ld, rows, shift + ch, s1 + ch, s2 + ch, 4, 0xFFFF);
  for (; ch + 16 <= c; ch += 16) stats_block(x + ch, ld, rows, shift + ch, s1 + ch, s2 + ch, 1, 0xFFFF);
  if (ch < c) stats_block(x + ch, ld, rows, shift + ch, s1 + ch, s2 + ch, 1, (__mmask16)((1u << (c - ch)) - 1u));
}

NG_FORCE_INLINE void apply_block(const float* x, float* y, size_t rows, size_t c, const float* mh, const float* ml,
                               const float* sc, const float* bi, int nv, __mmask16 tail) {
  __m512 h[4], l[4], s[4], b[4];
  for (int v = 0; v < nv; ++v) {
    const __mmask16 k = lane_mask(v, nv, tail);
    h[v] = _mm512_maskz_loadu_ps(k, mh + 16 * v);
    l[v] = _mm512_maskz_loadu_ps(k, ml + 16 * v);
    s[v] = _mm512_maskz_loadu_ps(k, sc + 16 * v);
    b[v] = _mm512_maskz_loadu_ps(k, bi + 16 * v);
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * c;
    float* o = y + r * c;
    for (int v = 0; v < nv; ++v) {
      const __mmask16 k = lane_mask(v, nv, tail);
      const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + 16 * v), h[v]), l[v]);
      _mm512_mask_storeu_ps(o + 16 * v, k, _mm512_fmadd_ps(d, s[v], b[v]));
    }
  }
}

extern "C" void ng_f32_bn_apply_c64_avx512(const float* x, float* y, size_t rows, size_t c, const float* mean_hi,
                                           const float* mean_lo, const float* scale, const float* bias) {
  size_t ch = 0;
  for (; ch + 64 <= c; ch += 64)
    apply_block(x + ch, y + ch, rows, c, mean_hi + ch, mean_lo + ch, scale + ch, bias + ch, 4, 0xFFFF);
  for (; ch + 16 <= c; ch += 16)
    apply_block(x + ch, y + ch, rows, c, mean_hi + ch, mean_lo + ch, scale + ch, bias + ch, 1, 0xFFFF);
  if (ch < c)
    apply_block(x + ch, y + ch, rows, c, mean_hi + ch, mean_lo + ch, scale + ch, bias + ch, 1,
                (__mmask16)((1u << (c - ch)) - 1u));
}

NG_FORCE_INLINE void bwd_reduce_block(const float* dy, const float* x, size_t ld, size_t rows, const float* mean,
                                    double* sdy, double* sdyx, int nv, __mmask16 tail) {
  __m512 m[4];
  __m512d gl[4], gh[4], pl[4], ph[4];
  for (int v = 0; v < nv; ++v) {
    m[v] = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), mean + 16 * v);
    gl[v] = gh[v] = pl[v] = ph[v] = _mm512_setzero_pd();
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* g = dy + r * ld;
    const float* p = x + r * ld;
    for (int v = 0; v < nv; ++v) {
      const __mmask16 k = lane_mask(v, nv, tail);
      const __m512 gv = _mm512_maskz_loadu_ps(k, g + 16 * v);
      const __m512 pr = _mm512_mul_ps(gv, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + 16 * v), m[v]));
      gl[v] = _mm512_add_pd(gl[v], lo_pd(gv));
      gh[v] = _mm512_add_pd(gh[v], hi_pd(gv));
      pl[v] = _mm512_add_pd(pl[v], lo_pd(pr));
      ph[v] = _mm512_add_pd(ph[v], hi_pd(pr));
    }
  }
  for (int v = 0; v < nv; ++v) {
    add_to(sdy + 16 * v, gl[v], gh[v], lane_mask(v, nv, tail));
    add_to(sdyx + 16 * v, pl[v], ph[v], lane_mask(v, nv, tail));
  }
}

extern "C" void ng_f32_bn_bwd_reduce_c64_avx512(const float* dy, const float* x, size_t ld, size_t rows, size_t c,
                                                const float* mean, double* sdy, double* sdyx) {
  size_t ch = 0;
  for (; ch + 64 <= c; ch += 64) bwd_reduce_block(dy + ch, x + ch, ld, rows, mean + ch, sdy + ch, sdyx + ch, 4, 0xFFFF);
  for (; ch + 16 <= c; ch += 16) bwd_reduce_block(dy + ch, x + ch, ld, rows, mean + ch, sdy + ch, sdyx + ch, 1, 0xFFFF);
  if (ch < c)
    bwd_reduce_block(dy + ch, x + ch, ld, rows, mean + ch, sdy + ch, sdyx + ch, 1, (__mmask16)((1u << (c - ch)) - 1u));
}

NG_FORCE_INLINE void bwd_apply_block(const float* dy, const float* x, float* dx, size_t rows, size_t c, const float* mean,
                                   const float* a, const float* b, const float* k, int nv, __mmask16 tail) {
  __m512 m[4], av[4], bv[4], kv[4];
  for (int v = 0; v < nv; ++v) {
    const __mmask16 l = lane_mask(v, nv, tail);
    av[v] = _mm512_maskz_loadu_ps(l, a + 16 * v);
    m[v] = b ? _mm512_maskz_loadu_ps(l, mean + 16 * v) : _mm512_setzero_ps();
    bv[v] = b ? _mm512_maskz_loadu_ps(l, b + 16 * v) : _mm512_setzero_ps();
    kv[v] = b ? _mm512_maskz_loadu_ps(l, k + 16 * v) : _mm512_setzero_ps();
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* g = dy + r * c;
    const float* p = x + r * c;
    float* o = dx + r * c;
    for (int v = 0; v < nv; ++v) {
      const __mmask16 l = lane_mask(v, nv, tail);
      const __m512 gv = _mm512_maskz_loadu_ps(l, g + 16 * v);
      if (!b) {
        _mm512_mask_storeu_ps(o + 16 * v, l, _mm512_mul_ps(av[v], gv));
        continue;
      }
      const __m512 t = _mm512_fmadd_ps(bv[v], _mm512_sub_ps(_mm512_maskz_loadu_ps(l, p + 16 * v), m[v]), kv[v]);
      _mm512_mask_storeu_ps(o + 16 * v, l, _mm512_fmsub_ps(av[v], gv, t));
    }
  }
}

extern "C" void ng_f32_bn_bwd_apply_c64_avx512(const float* dy, const float* x, float* dx, size_t rows, size_t c,
                                               const float* mean, const float* a, const float* b, const float* k) {
  size_t ch = 0;
  for (; ch + 64 <= c; ch += 64)
    bwd_apply_block(dy + ch, x + ch, dx + ch, rows, c, mean + ch, a + ch, b ? b + ch : 0, k + ch, 4, 0xFFFF);
  for (; ch + 16 <= c; ch += 16)
    bwd_apply_block(dy + ch, x + ch, dx + ch, rows, c, mean + ch, a + ch, b ? b + ch : 0, k + ch, 1, 0xFFFF);
  if (ch < c)
    bwd_apply_block(dy + ch, x + ch, dx + ch, rows, c, mean + ch, a + ch, b ? b + ch : 0, k + ch, 1,
                    (__mmask16)((1u << (c - ch)) - 1u));
}
