/*
 * Batch-norm kernels for AVX2 over x [rows, c] (tile c16: 2 x 8 channels per step, single vectors, then a
 * maskload/maskstore channel tail; 16 ymm registers fit two vectors' double accumulators, not four). Each block
 * of channels runs down all rows with its per-channel values and accumulators in registers; sums widen each
 * 8-float vector into two 4-double halves. The normalisation and dx passes use FMA.
 * Built only into nodegrad_avx2; plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <immintrin.h>

#include "nodegrad/norm.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE __m256i first_lanes(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
// Loads/stores vector v of nv; only the last one of a channel tail (tail != NULL) is masked.
NG_FORCE_INLINE __m256 ld(const float* p, int v, int nv, const __m256i* tail) {
  return (tail && v == nv - 1) ? _mm256_maskload_ps(p, *tail) : _mm256_loadu_ps(p);
}
NG_FORCE_INLINE void st(float* p, int v, int nv, const __m256i* tail, __m256 x) {
  if (tail && v == nv - 1) _mm256_maskstore_ps(p, *tail, x);
  else _mm256_storeu_ps(p, x);
}
NG_FORCE_INLINE __m256d lo_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
NG_FORCE_INLINE __m256d hi_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

// acc[0..8) += lo, hi; for a tail vector only its first n lanes (n in [1, 8)).
NG_FORCE_INLINE void add_to(double* acc, __m256d lo, __m256d hi, int v, int nv, const __m256i* tail, size_t n) {
  if (!(tail && v == nv - 1)) {
    _mm256_storeu_pd(acc, _mm256_add_pd(_mm256_loadu_pd(acc), lo));
    _mm256_storeu_pd(acc + 4, _mm256_add_pd(_mm256_loadu_pd(acc + 4), hi));
    return;
  }
  double l[8];
  _mm256_storeu_pd(l, lo);
  _mm256_storeu_pd(l + 4, hi);
  for (size_t i = 0; i < n; ++i) acc[i] += l[i];
}

NG_FORCE_INLINE void stats_block(const float* x, size_t ld_, size_t rows, const float* shift, double* s1, double* s2,
                               int nv, const __m256i* tail, size_t ntail) {
  __m256d kl[2], kh[2], al[2], ah[2], ql[2], qh[2];
  for (int v = 0; v < nv; ++v) {
    const __m256 k = ld(shift + 8 * v, v, nv, tail);
    kl[v] = lo_pd(k);
    kh[v] = hi_pd(k);
    al[v] = ah[v] = ql[v] = qh[v] = _mm256_setzero_pd();
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * ld_;
    for (int v = 0; v < nv; ++v) {
      const __m256 xv = ld(p + 8 * v, v, nv, tail);
      const __m256d dl = _mm256_sub_pd(lo_pd(xv), kl[v]), dh = _mm256_sub_pd(hi_pd(xv), kh[v]);  // exact
      al[v] = _mm256_add_pd(al[v], dl);
      ah[v] = _mm256_add_pd(ah[v], dh);
      ql[v] = _mm256_fmadd_pd(dl, dl, ql[v]);
      qh[v] = _mm256_fmadd_pd(dh, dh, qh[v]);
    }
  }
  for (int v = 0; v < nv; ++v) {
    add_to(s1 + 8 * v, al[v], ah[v], v, nv, tail, ntail);
    add_to(s2 + 8 * v, ql[v], qh[v], v, nv, tail, ntail);
  }
}

extern "C" void ng_f32_bn_stats_c16_avx2(const float* x, size_t ld, size_t rows, size_t c, const float* shift,
                                         double* s1, double* s2) {
  size_t ch = 0;
  for (; ch + 16 <= c; ch += 16) stats_block(x + ch, ld, rows, shift + ch, s1 + ch, s2 + ch, 2, 0, 0);
  for (; ch + 8 <= c; ch += 8) stats_block(x + ch, ld, rows, shift + ch, s1 + ch, s2 + ch, 1, 0, 0);
  if (ch < c) {
    const __m256i tl = first_lanes(c - ch);
    stats_block(x + ch, ld, rows, shift + ch, s1 + ch, s2 + ch, 1, &tl, c - ch);
  }
}

NG_FORCE_INLINE void apply_block(const float* x, float* y, size_t rows, size_t c, const float* mh, const float* ml,
                               const float* sc, const float* bi, int nv, const __m256i* tail) {
  __m256 h[2], l[2], s[2], b[2];
  for (int v = 0; v < nv; ++v) {
    h[v] = ld(mh + 8 * v, v, nv, tail);
    l[v] = ld(ml + 8 * v, v, nv, tail);
    s[v] = ld(sc + 8 * v, v, nv, tail);
    b[v] = ld(bi + 8 * v, v, nv, tail);
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * c;
    float* o = y + r * c;
    for (int v = 0; v < nv; ++v) {
      const __m256 d = _mm256_sub_ps(_mm256_sub_ps(ld(p + 8 * v, v, nv, tail), h[v]), l[v]);
      st(o + 8 * v, v, nv, tail, _mm256_fmadd_ps(d, s[v], b[v]));
    }
  }
}

extern "C" void ng_f32_bn_apply_c16_avx2(const float* x, float* y, size_t rows, size_t c, const float* mean_hi,
                                         const float* mean_lo, const float* scale, const float* bias) {
  size_t ch = 0;
  for (; ch + 16 <= c; ch += 16)
    apply_block(x + ch, y + ch, rows, c, mean_hi + ch, mean_lo + ch, scale + ch, bias + ch, 2, 0);
  for (; ch + 8 <= c; ch += 8)
    apply_block(x + ch, y + ch, rows, c, mean_hi + ch, mean_lo + ch, scale + ch, bias + ch, 1, 0);
  if (ch < c) {
    const __m256i tl = first_lanes(c - ch);
    apply_block(x + ch, y + ch, rows, c, mean_hi + ch, mean_lo + ch, scale + ch, bias + ch, 1, &tl);
  }
}

NG_FORCE_INLINE void bwd_reduce_block(const float* dy, const float* x, size_t ld_, size_t rows, const float* mean,
                                    double* sdy, double* sdyx, int nv, const __m256i* tail, size_t ntail) {
  __m256 m[2];
  __m256d gl[2], gh[2], pl[2], ph[2];
  for (int v = 0; v < nv; ++v) {
    m[v] = ld(mean + 8 * v, v, nv, tail);
    gl[v] = gh[v] = pl[v] = ph[v] = _mm256_setzero_pd();
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* g = dy + r * ld_;
    const float* p = x + r * ld_;
    for (int v = 0; v < nv; ++v) {
      const __m256 gv = ld(g + 8 * v, v, nv, tail);
      const __m256 pr = _mm256_mul_ps(gv, _mm256_sub_ps(ld(p + 8 * v, v, nv, tail), m[v]));
      gl[v] = _mm256_add_pd(gl[v], lo_pd(gv));
      gh[v] = _mm256_add_pd(gh[v], hi_pd(gv));
      pl[v] = _mm256_add_pd(pl[v], lo_pd(pr));
      ph[v] = _mm256_add_pd(ph[v], hi_pd(pr));
    }
  }
  for (int v = 0; v < nv; ++v) {
    add_to(sdy + 8 * v, gl[v], gh[v], v, nv, tail, ntail);
    add_to(sdyx + 8 * v, pl[v], ph[v], v, nv, tail, ntail);
  }
}

extern "C" void ng_f32_bn_bwd_reduce_c16_avx2(const float* dy, const float* x, size_t ld, size_t rows, size_t c,
                                              const float* mean, double* sdy, double* sdyx) {
  size_t ch = 0;
  for (; ch + 16 <= c; ch += 16) bwd_reduce_block(dy + ch, x + ch, ld, rows, mean + ch, sdy + ch, sdyx + ch, 2, 0, 0);
  for (; ch + 8 <= c; ch += 8) bwd_reduce_block(dy + ch, x + ch, ld, rows, mean + ch, sdy + ch, sdyx + ch, 1, 0, 0);
  if (ch < c) {
    const __m256i tl = first_lanes(c - ch);
    bwd_reduce_block(dy + ch, x + ch, ld, rows, mean + ch, sdy + ch, sdyx + ch, 1, &tl, c - ch);
  }
}

NG_FORCE_INLINE void bwd_apply_block(const float* dy, const float* x, float* dx, size_t rows, size_t c, const float* mean,
                                   const float* a, const float* b, const float* k, int nv, const __m256i* tail) {
  __m256 m[2], av[2], bv[2], kv[2];
  for (int v = 0; v < nv; ++v) {
    av[v] = ld(a + 8 * v, v, nv, tail);
    m[v] = b ? ld(mean + 8 * v, v, nv, tail) : _mm256_setzero_ps();
    bv[v] = b ? ld(b + 8 * v, v, nv, tail) : _mm256_setzero_ps();
    kv[v] = b ? ld(k + 8 * v, v, nv, tail) : _mm256_setzero_ps();
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* g = dy + r * c;
    const float* p = x + r * c;
    float* o = dx + r * c;
    for (int v = 0; v < nv; ++v) {
      const __m256 gv = ld(g + 8 * v, v, nv, tail);
      if (!b) {
        st(o + 8 * v, v, nv, tail, _mm256_mul_ps(av[v], gv));
        continue;
      }
      const __m256 t = _mm256_fmadd_ps(bv[v], _mm256_sub_ps(ld(p + 8 * v, v, nv, tail), m[v]), kv[v]);
      st(o + 8 * v, v, nv, tail, _mm256_fmsub_ps(av[v], gv, t));
    }
  }
}

extern "C" void ng_f32_bn_bwd_apply_c16_avx2(const float* dy, const float* x, float* dx, size_t rows, size_t c,
                                             const float* mean, const float* a, const float* b, const float* k) {
  size_t ch = 0;
  for (; ch + 16 <= c; ch += 16)
    bwd_apply_block(dy + ch, x + ch, dx + ch, rows, c, mean + ch, a + ch, b ? b + ch : 0, k + ch, 2, 0);
  for (; ch + 8 <= c; ch += 8)
    bwd_apply_block(dy + ch, x + ch, dx + ch, rows, c, mean + ch, a + ch, b ? b + ch : 0, k + ch, 1, 0);
  if (ch < c) {
    const __m256i tl = first_lanes(c - ch);
    bwd_apply_block(dy + ch, x + ch, dx + ch, rows, c, mean + ch, a + ch, b ? b + ch : 0, k + ch, 1, &tl);
  }
}
