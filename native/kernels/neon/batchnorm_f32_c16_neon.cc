/*
 * Batch-norm kernels for AArch64 NEON over x [rows, c] (tile c16: 4 x 4 channels per step, single vectors,
 * then a 1-3 lane tail through a zero-padded buffer). Each block of channels runs down all rows with its
 * per-channel values and double accumulators in registers (each 4-float vector widens into two float64x2).
 * The normalisation and dx passes use fused multiply-add.
 * Plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <arm_neon.h>

#include "nodegrad/norm.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE float32x4_t ld(const float* p, int v, int nv, size_t tn) {
  if (tn == 0 || v != nv - 1) return vld1q_f32(p);
  float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (size_t i = 0; i < tn; ++i) t[i] = p[i];
  return vld1q_f32(t);
}
NG_FORCE_INLINE void st(float* p, int v, int nv, size_t tn, float32x4_t x) {
  if (tn == 0 || v != nv - 1) {
    vst1q_f32(p, x);
    return;
  }
  float t[4];
  vst1q_f32(t, x);
  for (size_t i = 0; i < tn; ++i) p[i] = t[i];
}
NG_FORCE_INLINE float64x2_t lo_pd(float32x4_t v) { return vcvt_f64_f32(vget_low_f32(v)); }
NG_FORCE_INLINE float64x2_t hi_pd(float32x4_t v) { return vcvt_high_f64_f32(v); }

// acc[0..4) += lo, hi (only the first tn lanes of a tail vector).
NG_FORCE_INLINE void add_to(double* acc, float64x2_t lo, float64x2_t hi, int v, int nv, size_t tn) {
  double t[4];
  vst1q_f64(t, lo);
  vst1q_f64(t + 2, hi);
  const size_t n = (tn == 0 || v != nv - 1) ? 4 : tn;
  for (size_t i = 0; i < n; ++i) acc[i] += t[i];
}

NG_FORCE_INLINE void stats_block(const float* x, size_t ld_, size_t rows, const float* shift, double* s1, double* s2,
                               int nv, size_t tn) {
  float64x2_t kl[4], kh[4], al[4], ah[4], ql[4], qh[4];
  for (int v = 0; v < nv; ++v) {
    const float32x4_t k = ld(shift + 4 * v, v, nv, tn);
    kl[v] = lo_pd(k);
    kh[v] = hi_pd(k);
    al[v] = ah[v] = ql[v] = qh[v] = vdupq_n_f64(0.0);
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * ld_;
    for (int v = 0; v < nv; ++v) {
      const float32x4_t xv = ld(p + 4 * v, v, nv, tn);
      const float64x2_t dl = vsubq_f64(lo_pd(xv), kl[v]), dh = vsubq_f64(hi_pd(xv), kh[v]);  // exact
      al[v] = vaddq_f64(al[v], dl);
      ah[v] = vaddq_f64(ah[v], dh);
      ql[v] = vfmaq_f64(ql[v], dl, dl);
      qh[v] = vfmaq_f64(qh[v], dh, dh);
    }
  }
  for (int v = 0; v < nv; ++v) {
    add_to(s1 + 4 * v, al[v], ah[v], v, nv, tn);
    add_to(s2 + 4 * v, ql[v], qh[v], v, nv, tn);
  }
}

extern "C" void ng_f32_bn_stats_c16_neon(const float* x, size_t ld, size_t rows, size_t c, const float* shift,
                                         double* s1, double* s2) {
  size_t ch = 0;
  for (; ch + 16 <= c; ch += 16) stats_block(x + ch, ld, rows, shift + ch, s1 + ch, s2 + ch, 4, 0);
  for (; ch + 4 <= c; ch += 4) stats_block(x + ch, ld, rows, shift + ch, s1 + ch, s2 + ch, 1, 0);
  if (ch < c) stats_block(x + ch, ld, rows, shift + ch, s1 + ch, s2 + ch, 1, c - ch);
}

NG_FORCE_INLINE void apply_block(const float* x, float* y, size_t rows, size_t c, const float* mh, const float* ml,
                               const float* sc, const float* bi, int nv, size_t tn) {
  float32x4_t h[4], l[4], s[4], b[4];
  for (int v = 0; v < nv; ++v) {
    h[v] = ld(mh + 4 * v, v, nv, tn);
    l[v] = ld(ml + 4 * v, v, nv, tn);
    s[v] = ld(sc + 4 * v, v, nv, tn);
    b[v] = ld(bi + 4 * v, v, nv, tn);
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* p = x + r * c;
    float* o = y + r * c;
    for (int v = 0; v < nv; ++v) {
      const float32x4_t d = vsubq_f32(vsubq_f32(ld(p + 4 * v, v, nv, tn), h[v]), l[v]);
      st(o + 4 * v, v, nv, tn, vfmaq_f32(b[v], d, s[v]));
    }
  }
}

extern "C" void ng_f32_bn_apply_c16_neon(const float* x, float* y, size_t rows, size_t c, const float* mean_hi,
                                         const float* mean_lo, const float* scale, const float* bias) {
  size_t ch = 0;
  for (; ch + 16 <= c; ch += 16)
    apply_block(x + ch, y + ch, rows, c, mean_hi + ch, mean_lo + ch, scale + ch, bias + ch, 4, 0);
  for (; ch + 4 <= c; ch += 4)
    apply_block(x + ch, y + ch, rows, c, mean_hi + ch, mean_lo + ch, scale + ch, bias + ch, 1, 0);
  if (ch < c) apply_block(x + ch, y + ch, rows, c, mean_hi + ch, mean_lo + ch, scale + ch, bias + ch, 1, c - ch);
}

NG_FORCE_INLINE void bwd_reduce_block(const float* dy, const float* x, size_t ld_, size_t rows, const float* mean,
                                    double* sdy, double* sdyx, int nv, size_t tn) {
  float32x4_t m[4];
  float64x2_t gl[4], gh[4], pl[4], ph[4];
  for (int v = 0; v < nv; ++v) {
    m[v] = ld(mean + 4 * v, v, nv, tn);
    gl[v] = gh[v] = pl[v] = ph[v] = vdupq_n_f64(0.0);
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* g = dy + r * ld_;
    const float* p = x + r * ld_;
    for (int v = 0; v < nv; ++v) {
      const float32x4_t gv = ld(g + 4 * v, v, nv, tn);
      const float32x4_t pr = vmulq_f32(gv, vsubq_f32(ld(p + 4 * v, v, nv, tn), m[v]));
      gl[v] = vaddq_f64(gl[v], lo_pd(gv));
      gh[v] = vaddq_f64(gh[v], hi_pd(gv));
      pl[v] = vaddq_f64(pl[v], lo_pd(pr));
      ph[v] = vaddq_f64(ph[v], hi_pd(pr));
    }
  }
  for (int v = 0; v < nv; ++v) {
    add_to(sdy + 4 * v, gl[v], gh[v], v, nv, tn);
    add_to(sdyx + 4 * v, pl[v], ph[v], v, nv, tn);
  }
}

extern "C" void ng_f32_bn_bwd_reduce_c16_neon(const float* dy, const float* x, size_t ld, size_t rows, size_t c,
                                              const float* mean, double* sdy, double* sdyx) {
  size_t ch = 0;
  for (; ch + 16 <= c; ch += 16) bwd_reduce_block(dy + ch, x + ch, ld, rows, mean + ch, sdy + ch, sdyx + ch, 4, 0);
  for (; ch + 4 <= c; ch += 4) bwd_reduce_block(dy + ch, x + ch, ld, rows, mean + ch, sdy + ch, sdyx + ch, 1, 0);
  if (ch < c) bwd_reduce_block(dy + ch, x + ch, ld, rows, mean + ch, sdy + ch, sdyx + ch, 1, c - ch);
}

NG_FORCE_INLINE void bwd_apply_block(const float* dy, const float* x, float* dx, size_t rows, size_t c, const float* mean,
                                   const float* a, const float* b, const float* k, int nv, size_t tn) {
  float32x4_t m[4], av[4], bv[4], kv[4];
  const float32x4_t zero = vdupq_n_f32(0.0f);
  for (int v = 0; v < nv; ++v) {
    av[v] = ld(a + 4 * v, v, nv, tn);
    m[v] = b ? ld(mean + 4 * v, v, nv, tn) : zero;
    bv[v] = b ? ld(b + 4 * v, v, nv, tn) : zero;
    kv[v] = b ? ld(k + 4 * v, v, nv, tn) : zero;
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* g = dy + r * c;
    const float* p = x + r * c;
    float* o = dx + r * c;
    for (int v = 0; v < nv; ++v) {
      const float32x4_t gv = ld(g + 4 * v, v, nv, tn);
      if (!b) {
        st(o + 4 * v, v, nv, tn, vmulq_f32(av[v], gv));
        continue;
      }
      const float32x4_t t = vfmaq_f32(kv[v], bv[v], vsubq_f32(ld(p + 4 * v, v, nv, tn), m[v]));
      st(o + 4 * v, v, nv, tn, vnegq_f32(vfmsq_f32(t, av[v], gv)));  // a*dy - t, rounded once
    }
  }
}

extern "C" void ng_f32_bn_bwd_apply_c16_neon(const float* dy, const float* x, float* dx, size_t rows, size_t c,
                                             const float* mean, const float* a, const float* b, const float* k) {
  size_t ch = 0;
  for (; ch + 16 <= c; ch += 16)
    bwd_apply_block(dy + ch, x + ch, dx + ch, rows, c, mean + ch, a + ch, b ? b + ch : 0, k + ch, 4, 0);
  for (; ch + 4 <= c; ch += 4)
    bwd_apply_block(dy + ch, x + ch, dx + ch, rows, c, mean + ch, a + ch, b ? b + ch : 0, k + ch, 1, 0);
  if (ch < c) bwd_apply_block(dy + ch, x + ch, dx + ch, rows, c, mean + ch, a + ch, b ? b + ch : 0, k + ch, 1, c - ch);
}
