/*
 * Unary maths and the exp-sum / shift steps of softmax for AArch64 NEON (4-lane vectors, then a 1-3 lane tail
 * through a padded buffer). Same Cephes polynomials and reductions as the AVX2 kernel (see its header and the
 * AVX-512 one's): exp scales by 2^(n/2) * 2^(n - n/2), log reads the exponent from the bits after scaling
 * subnormals by 2^23. FMAX keeps NaN and orders -0 < +0, so relu is a plain vmaxq_f32. Gradients
 * (ng_f32_unary_grad_x16_neon) as the AVX-512 kernel's, on 2-lane double halves.
 * Plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <arm_neon.h>
#include <math.h>

#include "nodegrad/eltwise.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE float32x4_t dup(float v) { return vdupq_n_f32(v); }
NG_FORCE_INLINE float32x4_t bsl(uint32x4_t m, float32x4_t a, float32x4_t b) { return vbslq_f32(m, a, b); }
NG_FORCE_INLINE float64x2_t lo_pd(float32x4_t v) { return vcvt_f64_f32(vget_low_f32(v)); }
NG_FORCE_INLINE float64x2_t hi_pd(float32x4_t v) { return vcvt_high_f64_f32(v); }
NG_FORCE_INLINE float32x4_t pow2i(int32x4_t k) { return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(k, vdupq_n_s32(127)), 23)); }

// e^x = p 2^n for x already clamped to [-110, 89] (n integral, returned in *n; p in [0.7, 1.42]).
NG_FORCE_INLINE float32x4_t exp_reduce(float32x4_t x, float32x4_t* n_out) {
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, dup(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(x, n, dup(0.693359375f));
  r = vfmsq_f32(r, n, dup(-2.12194440e-4f));
  float32x4_t p = dup(1.9875691500e-4f);
  p = vfmaq_f32(dup(1.3981999507e-3f), p, r);
  p = vfmaq_f32(dup(8.3334519073e-3f), p, r);
  p = vfmaq_f32(dup(4.1665795894e-2f), p, r);
  p = vfmaq_f32(dup(1.6666665459e-1f), p, r);
  p = vfmaq_f32(dup(5.0000001201e-1f), p, r);
  *n_out = n;
  return vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), dup(1.0f));
}

// v 2^n for integral n in [-252, 252] as 2^(n/2) 2^(n - n/2): both factors normal, so one rounding at most.
NG_FORCE_INLINE float32x4_t scale2n(float32x4_t v, float32x4_t n) {
  const int32x4_t ni = vcvtq_s32_f32(n);  // NaN gives 0 and a NaN v
  const int32x4_t n1 = vshrq_n_s32(ni, 1);
  return vmulq_f32(vmulq_f32(v, pow2i(n1)), pow2i(vsubq_s32(ni, n1)));
}

NG_FORCE_INLINE float32x4_t exp_ps(float32x4_t x) {
  x = vminq_f32(x, dup(89.0f));  // FMIN/FMAX propagate NaN
  x = vmaxq_f32(x, dup(-104.0f));
  float32x4_t n;
  const float32x4_t p = exp_reduce(x, &n);  // n in [-150, 129]
  return scale2n(p, n);
}

NG_FORCE_INLINE float32x4_t log_ps(float32x4_t x) {
  const uint32x4_t sub = vcltq_f32(x, dup(1.17549435e-38f));  // subnormal (or <= 0: fixed below)
  const float32x4_t xs = bsl(sub, vmulq_f32(x, dup(8388608.0f)), x);
  const int32x4_t bits = vreinterpretq_s32_f32(xs);
  float32x4_t e = vcvtq_f32_s32(vsubq_s32(vreinterpretq_s32_u32(vshrq_n_u32(vreinterpretq_u32_s32(bits), 23)),
                                          vdupq_n_s32(127)));
  e = vsubq_f32(e, bsl(sub, dup(23.0f), dup(0.0f)));
  float32x4_t m = vreinterpretq_f32_s32(vorrq_s32(vandq_s32(bits, vdupq_n_s32(0x007fffff)), vdupq_n_s32(0x3f800000)));
  const uint32x4_t big = vcgtq_f32(m, dup(1.41421356237f));
  m = bsl(big, vmulq_f32(m, dup(0.5f)), m);
  e = vaddq_f32(e, bsl(big, dup(1.0f), dup(0.0f)));
  const float32x4_t f = vsubq_f32(m, dup(1.0f));
  const float32x4_t z = vmulq_f32(f, f);
  float32x4_t y = dup(7.0376836292e-2f);
  y = vfmaq_f32(dup(-1.1514610310e-1f), y, f);
  y = vfmaq_f32(dup(1.1676998740e-1f), y, f);
  y = vfmaq_f32(dup(-1.2420140846e-1f), y, f);
  y = vfmaq_f32(dup(1.4249322787e-1f), y, f);
  y = vfmaq_f32(dup(-1.6668057665e-1f), y, f);
  y = vfmaq_f32(dup(2.0000714765e-1f), y, f);
  y = vfmaq_f32(dup(-2.4999993993e-1f), y, f);
  y = vfmaq_f32(dup(3.3333331174e-1f), y, f);
  y = vmulq_f32(vmulq_f32(y, f), z);
  y = vfmaq_f32(y, e, dup(-2.12194440e-4f));
  y = vfmsq_f32(y, z, dup(0.5f));
  float32x4_t r = vfmaq_f32(vaddq_f32(f, y), e, dup(0.693359375f));
  const float32x4_t zero = dup(0.0f);
  r = bsl(vcltq_f32(x, zero), dup(NAN), r);
  r = bsl(vceqq_f32(x, zero), dup(-INFINITY), r);
  r = bsl(vceqq_f32(x, dup(INFINITY)), x, r);
  return bsl(vmvnq_u32(vceqq_f32(x, x)), x, r);  // NaN in, NaN out
}

NG_FORCE_INLINE float32x4_t tanh_ps(float32x4_t x) {
  const float32x4_t ax = vabsq_f32(x);
  const float32x4_t z = vmulq_f32(x, x);
  float32x4_t p = dup(-5.70498872745e-3f);
  p = vfmaq_f32(dup(2.06390887954e-2f), p, z);
  p = vfmaq_f32(dup(-5.37397155531e-2f), p, z);
  p = vfmaq_f32(dup(1.33314422036e-1f), p, z);
  p = vfmaq_f32(dup(-3.33332819422e-1f), p, z);
  const float32x4_t small = vfmaq_f32(x, vmulq_f32(p, z), x);
  const float32x4_t e = exp_ps(vaddq_f32(ax, ax));
  float32x4_t big = vsubq_f32(dup(1.0f), vdivq_f32(dup(2.0f), vaddq_f32(e, dup(1.0f))));
  big = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(big),
                                        vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u))));
  return bsl(vcltq_f32(ax, dup(0.625f)), small, big);
}

NG_FORCE_INLINE float32x4_t sigmoid_ps(float32x4_t x) {
  const float32x4_t e = exp_ps(vnegq_f32(vabsq_f32(x)));  // e^-|x| <= 1: never overflows
  const float32x4_t num = bsl(vcgeq_f32(x, dup(0.0f)), dup(1.0f), e);
  return vdivq_f32(num, vaddq_f32(e, dup(1.0f)));
}

NG_FORCE_INLINE float32x4_t expm1_neg_ps(float32x4_t x) {
  float32x4_t p = dup(2.5052108385441720e-8f);  // 1/11!
  p = vfmaq_f32(dup(2.7557319223985893e-7f), p, x);
  p = vfmaq_f32(dup(2.7557319223985888e-6f), p, x);
  p = vfmaq_f32(dup(2.4801587301587302e-5f), p, x);
  p = vfmaq_f32(dup(1.9841269841269841e-4f), p, x);
  p = vfmaq_f32(dup(1.3888888888888889e-3f), p, x);
  p = vfmaq_f32(dup(8.3333333333333333e-3f), p, x);
  p = vfmaq_f32(dup(4.1666666666666667e-2f), p, x);
  p = vfmaq_f32(dup(1.6666666666666667e-1f), p, x);
  p = vfmaq_f32(dup(0.5f), p, x);
  const float32x4_t small = vfmaq_f32(x, p, vmulq_f32(x, x));
  const float32x4_t big = vsubq_f32(exp_ps(x), dup(1.0f));
  return bsl(vcgtq_f32(x, dup(-1.0f)), small, big);
}

NG_FORCE_INLINE float32x4_t mul_alpha(float32x4_t v, float64x2_t a) {
  return vcvt_high_f32_f64(vcvt_f32_f64(vmulq_f64(lo_pd(v), a)), vmulq_f64(hi_pd(v), a));
}

// ---------------------------------------------------------------------------------------------------------
// Activations: relu6, selu, softplus, softsign, gelu, silu, hardSigmoid, logSigmoid, as the AVX-512 kernel's.

static const double kSeluScaleD = 1.0507009873554804934193349852946;
static const double kSeluScaleAlphaD = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;

NG_FORCE_INLINE float32x4_t or_sign(float32x4_t v, uint32x4_t m) {  // v with its sign bit set where m
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(v), vandq_u32(m, vdupq_n_u32(0x80000000u))));
}
NG_FORCE_INLINE float32x4_t join2(float64x2_t lo, float64x2_t hi) { return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi); }

// log1p(e) for e in [0, 1] or NaN: log(u) (e / (u - 1)) with u = 1 + e (Kahan: u - 1 is exact), e where u == 1.
NG_FORCE_INLINE float32x4_t log1p_unit_ps(float32x4_t e) {
  const float32x4_t u = vaddq_f32(dup(1.0f), e);
  const float32x4_t d = vsubq_f32(u, dup(1.0f));
  const float32x4_t r = vmulq_f32(log_ps(u), vdivq_f32(e, d));
  return bsl(vceqq_f32(d, dup(0.0f)), e, r);
}

NG_FORCE_INLINE float32x4_t softplus_ps(float32x4_t x) {
  const float32x4_t l = log1p_unit_ps(exp_ps(vnegq_f32(vabsq_f32(x))));
  return vaddq_f32(l, vmaxq_f32(x, dup(0.0f)));
}

// min(x, 0) - log1p(e^-|x|); a zero result takes the reference's sign (-0 below x = 745.13324, +0 from there).
NG_FORCE_INLINE float32x4_t log_sigmoid_ps(float32x4_t x) {
  const float32x4_t l = log1p_unit_ps(exp_ps(vnegq_f32(vabsq_f32(x))));
  const float32x4_t r = vsubq_f32(vminq_f32(x, dup(0.0f)), l);
  return or_sign(r, vmvnq_u32(vcgeq_f32(x, dup(745.13324f))));
}

// x sigmoid(x), the product scaled by 2^n once at the end for x < 0 (see the AVX-512 kernel).
NG_FORCE_INLINE float32x4_t silu_ps(float32x4_t x) {
  float32x4_t n;
  const float32x4_t p = exp_reduce(vmaxq_f32(vnegq_f32(vabsq_f32(x)), dup(-110.0f)), &n);  // n >= -159
  const float32x4_t den = vaddq_f32(dup(1.0f), scale2n(p, n));
  const float32x4_t neg = scale2n(vdivq_f32(vmulq_f32(x, p), den), n);
  float32x4_t r = bsl(vcgeq_f32(x, dup(0.0f)), vdivq_f32(x, den), neg);
  r = bsl(vcltq_f32(x, dup(-110.0f)), dup(-0.0f), r);
  return bsl(vceqq_f32(x, dup(-INFINITY)), dup(NAN), r);
}

// erf(z) / z = S(z^2) for |z| < 1 in double (the AVX-512 kernel's fit).
NG_FORCE_INLINE float64x2_t erf_s_pd(float64x2_t w) {
  float64x2_t s = vdupq_n_f64(-9.1945348202440729e-06);
  s = vfmaq_f64(vdupq_n_f64(0.00011085825846994162), s, w);
  s = vfmaq_f64(vdupq_n_f64(-0.00084565127022474297), s, w);
  s = vfmaq_f64(vdupq_n_f64(0.0052188725252799509), s, w);
  s = vfmaq_f64(vdupq_n_f64(-0.026864518420019676), s, w);
  s = vfmaq_f64(vdupq_n_f64(0.11283762486678964), s, w);
  s = vfmaq_f64(vdupq_n_f64(-0.3761263649593829), s, w);
  return vfmaq_f64(vdupq_n_f64(1.1283791664766818), s, w);
}
NG_FORCE_INLINE float64x2_t phi_cdf_small_pd(float64x2_t x) {
  const float64x2_t z = vmulq_f64(x, vdupq_n_f64(0.70710678118654752440));
  const float64x2_t w = vmulq_f64(z, z);
  return vfmaq_f64(vdupq_n_f64(0.5), vmulq_f64(z, erf_s_pd(w)), vdupq_n_f64(0.5));
}
NG_FORCE_INLINE float32x4_t gelu_small_ps(float32x4_t x) {
  const float64x2_t lo = lo_pd(x), hi = hi_pd(x);
  return join2(vmulq_f64(lo, phi_cdf_small_pd(lo)), vmulq_f64(hi, phi_cdf_small_pd(hi)));
}
NG_FORCE_INLINE float32x4_t phi_cdf_small_ps(float32x4_t x) {
  return join2(phi_cdf_small_pd(lo_pd(x)), phi_cdf_small_pd(hi_pd(x)));
}

// k = (1/sqrt 2) R(2/x^2) and e^(-x^2/2) in *ez for |x| >= sqrt 2: k ez = |x| erfc(|x| / sqrt 2) / 2 (see the
// AVX-512 kernel).
NG_FORCE_INLINE float32x4_t gauss_tail_ps(float32x4_t x, float32x4_t* ez_out) {
  const float32x4_t x2 = vmulq_f32(x, x);
  const float32x4_t x2l = vfmaq_f32(vnegq_f32(x2), x, x);
  const float32x4_t w = vmulq_f32(x2, dup(0.5f));
  float32x4_t ez = exp_ps(vnegq_f32(w));
  ez = vfmsq_f32(ez, ez, vmulq_f32(x2l, dup(0.5f)));
  ez = bsl(vcgtq_f32(w, dup(104.0f)), dup(0.0f), ez);
  const float32x4_t y = vdivq_f32(dup(2.0f), x2);
  float32x4_t p = dup(2.326819970068386e-2f);  // P: 1 <= z < 2
  p = vfmaq_f32(dup(-1.387039388740657e-1f), p, y);
  p = vfmaq_f32(dup(3.687424674597105e-1f), p, y);
  p = vfmaq_f32(dup(-5.824733027278666e-1f), p, y);
  p = vfmaq_f32(dup(6.210004621745983e-1f), p, y);
  p = vfmaq_f32(dup(-4.944515323274145e-1f), p, y);
  p = vfmaq_f32(dup(3.404879937665872e-1f), p, y);
  p = vfmaq_f32(dup(-2.741127028184656e-1f), p, y);
  p = vfmaq_f32(dup(5.638259427386472e-1f), p, y);
  float32x4_t q = dup(-1.047766399936249e+1f);  // R: z >= 2
  q = vfmaq_f32(dup(1.297719955371516e+1f), q, y);
  q = vfmaq_f32(dup(-7.495518717768503e+0f), q, y);
  q = vfmaq_f32(dup(2.921019019210786e+0f), q, y);
  q = vfmaq_f32(dup(-1.015265279202700e+0f), q, y);
  q = vfmaq_f32(dup(4.218463358204948e-1f), q, y);
  q = vfmaq_f32(dup(-2.820767439740514e-1f), q, y);
  q = vfmaq_f32(dup(5.641895067754075e-1f), q, y);
  p = bsl(vcltq_f32(x2, dup(8.0f)), p, q);
  *ez_out = ez;
  return vmulq_f32(p, dup(0.70710678118654752f));
}

NG_FORCE_INLINE float32x4_t gelu_ps(float32x4_t x) {
  float32x4_t ez;
  const float32x4_t k = gauss_tail_ps(x, &ez);  // sets ez
  const float32x4_t t = vmulq_f32(k, ez);
  float32x4_t r = bsl(vcltq_f32(x, dup(0.0f)), vnegq_f32(t), vsubq_f32(x, t));
  r = bsl(vcltq_f32(vabsq_f32(x), dup(1.41421356f)), gelu_small_ps(x), r);
  return bsl(vceqq_f32(x, dup(-INFINITY)), dup(NAN), r);
}

// Phi(x) + x phi(x) as c + v e^(-x^2/2) (see the AVX-512 kernel).
NG_FORCE_INLINE float32x4_t gelu_deriv_ps(float32x4_t x) {
  float32x4_t ez;
  const float32x4_t xc = vmulq_f32(x, dup(0.398942280401432678f));
  const float32x4_t vt = vsubq_f32(xc, vdivq_f32(gauss_tail_ps(x, &ez), x));
  const uint32x4_t small = vcltq_f32(vabsq_f32(x), dup(1.41421356f));
  const float32x4_t c = bsl(small, phi_cdf_small_ps(x), bsl(vcgtq_f32(x, dup(0.0f)), dup(1.0f), dup(0.0f)));
  return vfmaq_f32(c, bsl(small, xc, vt), ez);
}

NG_FORCE_INLINE float32x4_t hard_sigmoid_ps(float32x4_t x) {
  const float64x2_t k = vdupq_n_f64(0.2), h = vdupq_n_f64(0.5);
  const float32x4_t v = join2(vaddq_f64(vmulq_f64(lo_pd(x), k), h), vaddq_f64(vmulq_f64(hi_pd(x), k), h));
  return vmaxq_f32(dup(0.0f), vminq_f32(dup(1.0f), v));
}

NG_FORCE_INLINE float32x4_t softsign_ps(float32x4_t x) {
  const float64x2_t one = vdupq_n_f64(1.0), lo = lo_pd(x), hi = hi_pd(x);
  return join2(vdivq_f64(lo, vaddq_f64(one, vabsq_f64(lo))), vdivq_f64(hi, vaddq_f64(one, vabsq_f64(hi))));
}

NG_FORCE_INLINE float32x4_t selu_ps(float32x4_t x) {
  const float32x4_t xm = vminq_f32(x, dup(0.0f));
  const float32x4_t em = or_sign(expm1_neg_ps(xm), vcltq_s32(vreinterpretq_s32_f32(xm), vdupq_n_s32(0)));
  return bsl(vcgtq_f32(x, dup(0.0f)), mul_alpha(x, vdupq_n_f64(kSeluScaleD)), mul_alpha(em, vdupq_n_f64(kSeluScaleAlphaD)));
}

#define NG_NEON_UNARY(NAME, EXPR)                                                        \
  static void NAME(const float* x, float* y, size_t n, float64x2_t a) {                  \
    (void)a;                                                                             \
    size_t i = 0;                                                                        \
    for (; i + 4 <= n; i += 4) {                                                         \
      const float32x4_t v = vld1q_f32(x + i);                                            \
      vst1q_f32(y + i, (EXPR));                                                          \
    }                                                                                    \
    if (i < n) {                                                                         \
      float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};                                             \
      for (size_t j = i; j < n; ++j) t[j - i] = x[j];                                    \
      const float32x4_t v = vld1q_f32(t);                                                \
      vst1q_f32(t, (EXPR));                                                              \
      for (size_t j = i; j < n; ++j) y[j] = t[j - i];                                    \
    }                                                                                    \
  }

NG_NEON_UNARY(relu_loop, vmaxq_f32(v, dup(0.0f)))
NG_NEON_UNARY(sigmoid_loop, sigmoid_ps(v))
NG_NEON_UNARY(tanh_loop, tanh_ps(v))
NG_NEON_UNARY(exp_loop, exp_ps(v))
NG_NEON_UNARY(log_loop, log_ps(v))
NG_NEON_UNARY(sqrt_loop, vsqrtq_f32(v))
NG_NEON_UNARY(square_loop, vmulq_f32(v, v))
NG_NEON_UNARY(neg_loop, vnegq_f32(v))
NG_NEON_UNARY(abs_loop, vabsq_f32(v))
NG_NEON_UNARY(leaky_loop, bsl(vcgtq_f32(v, dup(0.0f)), v, mul_alpha(v, a)))
// elu: x itself for x >= 0, so -0 stays -0 (the series would give +0) as the reference's alpha expm1(-0).
NG_NEON_UNARY(elu_loop, bsl(vcgeq_f32(v, dup(0.0f)), v, mul_alpha(expm1_neg_ps(vminq_f32(v, dup(0.0f))), a)))
NG_NEON_UNARY(relu6_loop, vminq_f32(vmaxq_f32(v, dup(0.0f)), dup(6.0f)))
NG_NEON_UNARY(selu_loop, selu_ps(v))
NG_NEON_UNARY(softplus_loop, softplus_ps(v))
NG_NEON_UNARY(softsign_loop, softsign_ps(v))
NG_NEON_UNARY(gelu_loop, gelu_ps(v))
NG_NEON_UNARY(silu_loop, silu_ps(v))
NG_NEON_UNARY(hard_sigmoid_loop, hard_sigmoid_ps(v))
NG_NEON_UNARY(log_sigmoid_loop, log_sigmoid_ps(v))

extern "C" void ng_f32_unary_x16_neon(int op, const float* x, float* y, size_t n, double alpha) {
  const float64x2_t a = vdupq_n_f64(alpha);
  switch (op) {
    case NG_UNARY_RELU: relu_loop(x, y, n, a); break;
    case NG_UNARY_SIGMOID: sigmoid_loop(x, y, n, a); break;
    case NG_UNARY_TANH: tanh_loop(x, y, n, a); break;
    case NG_UNARY_EXP: exp_loop(x, y, n, a); break;
    case NG_UNARY_LOG: log_loop(x, y, n, a); break;
    case NG_UNARY_SQRT: sqrt_loop(x, y, n, a); break;
    case NG_UNARY_SQUARE: square_loop(x, y, n, a); break;
    case NG_UNARY_NEG: neg_loop(x, y, n, a); break;
    case NG_UNARY_ABS: abs_loop(x, y, n, a); break;
    case NG_UNARY_LEAKY_RELU: leaky_loop(x, y, n, a); break;
    case NG_UNARY_ELU: elu_loop(x, y, n, a); break;
    case NG_UNARY_RELU6: relu6_loop(x, y, n, a); break;
    case NG_UNARY_SELU: selu_loop(x, y, n, a); break;
    case NG_UNARY_SOFTPLUS: softplus_loop(x, y, n, a); break;
    case NG_UNARY_SOFTSIGN: softsign_loop(x, y, n, a); break;
    case NG_UNARY_GELU: gelu_loop(x, y, n, a); break;
    case NG_UNARY_SILU: silu_loop(x, y, n, a); break;
    case NG_UNARY_HARD_SIGMOID: hard_sigmoid_loop(x, y, n, a); break;
    case NG_UNARY_LOG_SIGMOID: log_sigmoid_loop(x, y, n, a); break;
    default: break;  // the addon rejects other codes before calling
  }
}

// ---------------------------------------------------------------------------------------------------------
// Unary gradients: dx = g op'(x) on 2-lane double halves (x, y, g widened exactly; a = alpha), one rounding back.

static const double kSeluScale = 1.0507009873554804934193349852946;
static const double kSeluScaleAlpha = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;

NG_FORCE_INLINE float64x2_t pd1(double v) { return vdupq_n_f64(v); }
NG_FORCE_INLINE uint64x2_t pd_gt0(float64x2_t x) { return vcgtq_f64(x, vdupq_n_f64(0.0)); }
NG_FORCE_INLINE float32x4_t join_ps(float64x2_t lo, float64x2_t hi) { return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi); }

// vbslq_f64(m, b, a) takes b where m is set: "x > 0 ? b : a".
NG_FORCE_INLINE float64x2_t leaky_pd(float64x2_t x, float64x2_t, float64x2_t g, float64x2_t a) {
  return vbslq_f64(pd_gt0(x), g, vmulq_f64(a, g));
}
NG_FORCE_INLINE float64x2_t elu_pd(float64x2_t x, float64x2_t y, float64x2_t g, float64x2_t a) {
  return vbslq_f64(pd_gt0(x), g, vmulq_f64(g, vaddq_f64(y, a)));
}
NG_FORCE_INLINE float64x2_t selu_pd(float64x2_t x, float64x2_t y, float64x2_t g, float64x2_t) {
  return vbslq_f64(pd_gt0(x), vmulq_f64(g, pd1(kSeluScale)), vmulq_f64(g, vaddq_f64(y, pd1(kSeluScaleAlpha))));
}
NG_FORCE_INLINE float64x2_t hard_sigmoid_pd(float64x2_t x, float64x2_t, float64x2_t g, float64x2_t) {
  const uint64x2_t band = vandq_u64(vcgtq_f64(x, pd1(-2.5)), vcltq_f64(x, pd1(2.5)));
  // +0 outside the band
  return vreinterpretq_f64_u64(vandq_u64(band, vreinterpretq_u64_f64(vmulq_f64(g, pd1(0.2)))));
}
NG_FORCE_INLINE float64x2_t sigmoid_grad_pd(float64x2_t, float64x2_t y, float64x2_t g, float64x2_t) {
  return vmulq_f64(g, vmulq_f64(y, vsubq_f64(pd1(1.0), y)));
}
NG_FORCE_INLINE float64x2_t tanh_grad_pd(float64x2_t, float64x2_t y, float64x2_t g, float64x2_t) {
  return vmulq_f64(g, vsubq_f64(pd1(1.0), vmulq_f64(y, y)));
}
NG_FORCE_INLINE float64x2_t softsign_grad_pd(float64x2_t x, float64x2_t, float64x2_t g, float64x2_t) {
  const float64x2_t d = vaddq_f64(pd1(1.0), vabsq_f64(x));
  return vdivq_f64(g, vmulq_f64(d, d));
}
// e = exp(-|x|) arrives in the y slot: *s = sigmoid(x), *t = sigmoid(-x).
NG_FORCE_INLINE void sigmoid_pair_pd(float64x2_t x, float64x2_t e, float64x2_t* s, float64x2_t* t) {
  const float64x2_t r = vdivq_f64(pd1(1.0), vaddq_f64(pd1(1.0), e));
  const float64x2_t q = vmulq_f64(e, r);
  const uint64x2_t pos = vcgeq_f64(x, pd1(0.0));
  *s = vbslq_f64(pos, r, q);
  *t = vbslq_f64(pos, q, r);
}
NG_FORCE_INLINE float64x2_t softplus_grad_pd(float64x2_t x, float64x2_t e, float64x2_t g, float64x2_t) {
  float64x2_t s, t;
  sigmoid_pair_pd(x, e, &s, &t);
  return vmulq_f64(g, s);
}
NG_FORCE_INLINE float64x2_t log_sigmoid_grad_pd(float64x2_t x, float64x2_t e, float64x2_t g, float64x2_t) {
  float64x2_t s, t;
  sigmoid_pair_pd(x, e, &s, &t);
  return vmulq_f64(g, t);
}
NG_FORCE_INLINE float64x2_t silu_grad_pd(float64x2_t x, float64x2_t e, float64x2_t g, float64x2_t) {
  float64x2_t s, t;
  sigmoid_pair_pd(x, e, &s, &t);
  return vmulq_f64(g, vmulq_f64(s, vaddq_f64(pd1(1.0), vmulq_f64(x, t))));
}

// FN on both double halves of 4-lane float vectors, joined with one rounding.
#define NG_PD2(FN, X, Y, G) join_ps(FN(lo_pd(X), lo_pd(Y), lo_pd(G), a), FN(hi_pd(X), hi_pd(Y), hi_pd(G), a))
// exp(-|x|) (NaN stays NaN).
#define NG_EXP_NEG_ABS(X) exp_ps(vnegq_f32(vabsq_f32(X)))

// One static loop per gradient: 4-lane body, a 1-3 lane tail through padded buffers; a the alpha in double.
#define NG_NEON_GRAD(NAME, EXPR)                                                                        \
  static void NAME(const float* x, const float* y, const float* dy, float* dx, size_t n, float64x2_t a) { \
    (void)a;                                                                                            \
    size_t i = 0;                                                                                       \
    for (; i + 4 <= n; i += 4) {                                                                        \
      const float32x4_t vx = vld1q_f32(x + i), vy = vld1q_f32(y + i), vg = vld1q_f32(dy + i);           \
      (void)vy;                                                                                         \
      vst1q_f32(dx + i, (EXPR));                                                                        \
    }                                                                                                   \
    if (i < n) {                                                                                        \
      float tx[4] = {0.0f, 0.0f, 0.0f, 0.0f}, ty[4] = {0.0f, 0.0f, 0.0f, 0.0f}, tg[4] = {0.0f, 0.0f, 0.0f, 0.0f}; \
      for (size_t j = i; j < n; ++j) {                                                                  \
        tx[j - i] = x[j];                                                                               \
        ty[j - i] = y[j];                                                                               \
        tg[j - i] = dy[j];                                                                              \
      }                                                                                                 \
      const float32x4_t vx = vld1q_f32(tx), vy = vld1q_f32(ty), vg = vld1q_f32(tg);                     \
      (void)vy;                                                                                         \
      vst1q_f32(tx, (EXPR));                                                                            \
      for (size_t j = i; j < n; ++j) dx[j] = tx[j - i];                                                 \
    }                                                                                                   \
  }

NG_FORCE_INLINE float32x4_t select_ps(uint32x4_t m, float32x4_t v) {
  return vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(v)));  // v where m, +0 elsewhere
}

// relu and relu6 select dy itself (+0 elsewhere): no arithmetic, so no widening.
NG_NEON_GRAD(relu_grad_loop, select_ps(vcgtq_f32(vx, dup(0.0f)), vg))
NG_NEON_GRAD(relu6_grad_loop, select_ps(vandq_u32(vcgtq_f32(vx, dup(0.0f)), vcltq_f32(vx, dup(6.0f))), vg))
NG_NEON_GRAD(leaky_grad_loop, NG_PD2(leaky_pd, vx, vy, vg))
NG_NEON_GRAD(elu_grad_loop, NG_PD2(elu_pd, vx, vy, vg))
NG_NEON_GRAD(selu_grad_loop, NG_PD2(selu_pd, vx, vy, vg))
NG_NEON_GRAD(hard_sigmoid_grad_loop, NG_PD2(hard_sigmoid_pd, vx, vy, vg))
NG_NEON_GRAD(sigmoid_grad_loop, NG_PD2(sigmoid_grad_pd, vx, vy, vg))
NG_NEON_GRAD(tanh_grad_loop, NG_PD2(tanh_grad_pd, vx, vy, vg))
NG_NEON_GRAD(softsign_grad_loop, NG_PD2(softsign_grad_pd, vx, vy, vg))
NG_NEON_GRAD(softplus_grad_loop, NG_PD2(softplus_grad_pd, vx, NG_EXP_NEG_ABS(vx), vg))
NG_NEON_GRAD(log_sigmoid_grad_loop, NG_PD2(log_sigmoid_grad_pd, vx, NG_EXP_NEG_ABS(vx), vg))
NG_NEON_GRAD(silu_grad_loop, NG_PD2(silu_grad_pd, vx, NG_EXP_NEG_ABS(vx), vg))
// gelu: the derivative in float (AVX-512 kernel), one float product with dy.
NG_NEON_GRAD(gelu_grad_loop, vmulq_f32(vg, gelu_deriv_ps(vx)))

extern "C" void ng_f32_unary_grad_x16_neon(int op, const float* x, const float* y, const float* dy, float* dx,
                                           size_t n, double alpha) {
  const float64x2_t a = vdupq_n_f64(alpha);
  switch (op) {
    case NG_UNARY_GRAD_RELU: relu_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_RELU6: relu6_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_LEAKY_RELU: leaky_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_ELU: elu_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_SELU: selu_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_HARD_SIGMOID: hard_sigmoid_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_SIGMOID: sigmoid_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_TANH: tanh_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_SOFTSIGN: softsign_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_SOFTPLUS: softplus_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_LOG_SIGMOID: log_sigmoid_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_SILU: silu_grad_loop(x, y, dy, dx, n, a); break;
    case NG_UNARY_GRAD_GELU: gelu_grad_loop(x, y, dy, dx, n, a); break;
    default: break;  // the addon rejects other codes before calling
  }
}

#undef NG_PD2
#undef NG_EXP_NEG_ABS
#undef NG_NEON_GRAD

extern "C" double ng_f32_expsum_x16_neon(const float* x, float* y, size_t n, float shift) {
  const float32x4_t s = dup(shift);
  float64x2_t a0 = vdupq_n_f64(0.0), a1 = a0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t e = exp_ps(vsubq_f32(vld1q_f32(x + i), s));
    if (y) vst1q_f32(y + i, e);
    a0 = vaddq_f64(a0, lo_pd(e));
    a1 = vaddq_f64(a1, hi_pd(e));
  }
  double sum = vaddvq_f64(vaddq_f64(a0, a1));
  if (i < n) {
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t j = i; j < n; ++j) t[j - i] = x[j];
    vst1q_f32(t, exp_ps(vsubq_f32(vld1q_f32(t), s)));
    for (size_t j = i; j < n; ++j) {
      if (y) y[j] = t[j - i];
      sum += (double)t[j - i];
    }
  }
  return sum;
}

extern "C" void ng_f32_sub2_x16_neon(const float* x, float* y, size_t n, float a, float b) {
  const float32x4_t va = dup(a), vb = dup(b);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vsubq_f32(vsubq_f32(vld1q_f32(x + i), va), vb));
  for (; i < n; ++i) y[i] = (x[i] - a) - b;
}
