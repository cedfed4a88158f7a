/*
 * Unary maths and the exp-sum / shift steps of softmax for AVX-512F (tile x64 in the sense of the other
 * kernels: 16-lane vectors, then an opmask-predicated tail, so no scalar loop and no read past the end).
 *
 * Transcendentals are Cephes single-precision polynomials evaluated with FMA:
 * - exp: n = round(x log2 e), r = x - n ln2 (two-constant Cody-Waite), e^r by the degree-7 Cephes expf
 *   polynomial, scaled by 2^n with vscalefps (one rounding into the subnormal range, overflow to inf).
 * - log: vgetexpps / vgetmantps (subnormals included), mantissa in [sqrt(1/2), sqrt 2), Cephes logf degree-9.
 * - tanh: Cephes tanhf odd polynomial below |x| = 0.625, 1 - 2/(e^2|x| + 1) above.
 * - sigmoid: e = exp(-|x|), then 1/(1+e) or e/(1+e) with one division.
 * - elu: expm1 by its Taylor series to degree 11 on (-1, 0] (truncation < 2^-28 relative), exp(x) - 1 below;
 *   leakyRelu and elu multiply by alpha in double, as the reference does.
 * - softplus, logSigmoid: e = exp(-|x|), log1p(e) = log(1 + e) e / ((1 + e) - 1) (Kahan), e where 1 + e == 1.
 * - silu: x / (1 + e) for x >= 0; for x < 0 e^x = p 2^n is kept split and x p / (1 + e) is scaled by 2^n last,
 *   so subnormal results are rounded once (x < -110: -0; -Infinity: NaN, as the reference's -Infinity * 0).
 * - gelu: |x| < sqrt 2: 0.5 x (1 + erf(x / sqrt 2)) in double with erf(z) = z S(z^2), S a degree-7 fit (error
 *   below 5e-11 relative to erfc, so the cancellation of 1 + erf for x < 0 costs nothing); beyond, Cephes erfcf's
 *   P / R polynomials in 2/x^2 times e^(-x^2/2), x^2 split exactly (FMA) so the exponent carries no rounding.
 * - selu, hardSigmoid, softsign: the final products / sums in double, as the reference; relu6 min(relu(x), 6).
 * Measured against the reference (libm in double, rounded once) in test/native/eltwise.test.ts: exp, log within
 * 2 ulp; sigmoid, tanh, elu, selu within 3 ulp; softplus, logSigmoid, silu within 4; gelu within 5; the other
 * ops are exact. The gelu gradient is float32 (bound in nodegrad/eltwise.h).
 * Gradients (ng_f32_unary_grad_x64_avx512): x, y and dy widened to two 8-lane double halves, the reference's
 * formula evaluated there in its order, one rounding back (bit-identical); softplus, logSigmoid and silu take
 * e = exp(-|x|) from exp_ps, then sigmoid(+-x) = 1/(1+e), e/(1+e) in double.
 * Built only into nodegrad_avx512; plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <immintrin.h>
#include <math.h>

#include "nodegrad/eltwise.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's cast/convert intrinsics expand to a self-initialised "undefined" vector it then warns about.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE __mmask16 tail_mask(size_t n) { return (__mmask16)((1u << n) - 1u); }
NG_FORCE_INLINE __m512 set1(float v) { return _mm512_set1_ps(v); }
NG_FORCE_INLINE __m512d lo_pd(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
NG_FORCE_INLINE __m512d hi_pd(__m512 v) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)); }
NG_FORCE_INLINE __m512 join_ps(__m512d lo, __m512d hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
}

// e^x = p 2^n for x already clamped to [-110, 89] (n integral, returned in *n; p in [0.7, 1.42]).
NG_FORCE_INLINE __m512 exp_reduce(__m512 x, __m512* n_out) {
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, set1(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, set1(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, set1(-2.12194440e-4f), r);
  __m512 p = set1(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, set1(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, set1(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, set1(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, set1(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, set1(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
  *n_out = n;
  return _mm512_add_ps(p, set1(1.0f));
}

NG_FORCE_INLINE __m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(set1(89.0f), x);  // min/max return their second operand for NaN: NaN passes through
  x = _mm512_max_ps(set1(-104.0f), x);
  __m512 n;
  const __m512 p = exp_reduce(x, &n);
  return _mm512_scalef_ps(p, n);
}

NG_FORCE_INLINE __m512 log_ps(__m512 x) {
  __m512 e = _mm512_getexp_ps(x);
  __m512 m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
  const __mmask16 big = _mm512_cmp_ps_mask(m, set1(1.41421356237f), _CMP_GT_OQ);
  m = _mm512_mask_mul_ps(m, big, m, set1(0.5f));
  e = _mm512_mask_add_ps(e, big, e, set1(1.0f));
  const __m512 f = _mm512_sub_ps(m, set1(1.0f));
  const __m512 z = _mm512_mul_ps(f, f);
  __m512 y = set1(7.0376836292e-2f);
  y = _mm512_fmadd_ps(y, f, set1(-1.1514610310e-1f));
  y = _mm512_fmadd_ps(y, f, set1(1.1676998740e-1f));
  y = _mm512_fmadd_ps(y, f, set1(-1.2420140846e-1f));
  y = _mm512_fmadd_ps(y, f, set1(1.4249322787e-1f));
  y = _mm512_fmadd_ps(y, f, set1(-1.6668057665e-1f));
  y = _mm512_fmadd_ps(y, f, set1(2.0000714765e-1f));
  y = _mm512_fmadd_ps(y, f, set1(-2.4999993993e-1f));
  y = _mm512_fmadd_ps(y, f, set1(3.3333331174e-1f));
  y = _mm512_mul_ps(_mm512_mul_ps(y, f), z);
  y = _mm512_fmadd_ps(e, set1(-2.12194440e-4f), y);
  y = _mm512_fnmadd_ps(z, set1(0.5f), y);
  __m512 r = _mm512_fmadd_ps(e, set1(0.693359375f), _mm512_add_ps(f, y));
  const __m512 zero = _mm512_setzero_ps();
  r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), set1(NAN));
  r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, zero, _CMP_EQ_OQ), set1(-INFINITY));
  return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, set1(INFINITY), _CMP_EQ_OQ), x);
}

NG_FORCE_INLINE __m512 tanh_ps(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 z = _mm512_mul_ps(x, x);
  __m512 p = set1(-5.70498872745e-3f);
  p = _mm512_fmadd_ps(p, z, set1(2.06390887954e-2f));
  p = _mm512_fmadd_ps(p, z, set1(-5.37397155531e-2f));
  p = _mm512_fmadd_ps(p, z, set1(1.33314422036e-1f));
  p = _mm512_fmadd_ps(p, z, set1(-3.33332819422e-1f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
  const __m512 e = exp_ps(_mm512_add_ps(ax, ax));
  __m512 big = _mm512_sub_ps(set1(1.0f), _mm512_div_ps(set1(2.0f), _mm512_add_ps(e, set1(1.0f))));
  big = _mm512_or_ps(big, _mm512_and_ps(x, set1(-0.0f)));  // big >= 0: take x's sign
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, set1(0.625f), _CMP_LT_OQ), big, small);
}

NG_FORCE_INLINE __m512 sigmoid_ps(__m512 x) {
  const __m512 e = exp_ps(_mm512_or_ps(x, set1(-0.0f)));  // e^-|x| <= 1: never overflows
  const __m512 num = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ), e, set1(1.0f));
  return _mm512_div_ps(num, _mm512_add_ps(e, set1(1.0f)));
}

// expm1(x) for x <= 0 (and NaN).
NG_FORCE_INLINE __m512 expm1_neg_ps(__m512 x) {
  __m512 p = set1(2.5052108385441720e-8f);  // 1/11!
  p = _mm512_fmadd_ps(p, x, set1(2.7557319223985893e-7f));
  p = _mm512_fmadd_ps(p, x, set1(2.7557319223985888e-6f));
  p = _mm512_fmadd_ps(p, x, set1(2.4801587301587302e-5f));
  p = _mm512_fmadd_ps(p, x, set1(1.9841269841269841e-4f));
  p = _mm512_fmadd_ps(p, x, set1(1.3888888888888889e-3f));
  p = _mm512_fmadd_ps(p, x, set1(8.3333333333333333e-3f));
  p = _mm512_fmadd_ps(p, x, set1(4.1666666666666667e-2f));
  p = _mm512_fmadd_ps(p, x, set1(1.6666666666666667e-1f));
  p = _mm512_fmadd_ps(p, x, set1(0.5f));
  const __m512 small = _mm512_fmadd_ps(p, _mm512_mul_ps(x, x), x);
  const __m512 big = _mm512_sub_ps(exp_ps(x), set1(1.0f));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, set1(-1.0f), _CMP_GT_OQ), big, small);
}

// alpha * v in double, rounded once (the reference's float64 product).
NG_FORCE_INLINE __m512 mul_alpha(__m512 v, __m512d alpha) {
  return join_ps(_mm512_mul_pd(lo_pd(v), alpha), _mm512_mul_pd(hi_pd(v), alpha));
}

// ---------------------------------------------------------------------------------------------------------
// Activations: relu6, selu, softplus, softsign, gelu, silu, hardSigmoid, logSigmoid (accuracy in the header).

static const double kSeluScaleD = 1.0507009873554804934193349852946;
static const double kSeluScaleAlphaD = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;

// log1p(e) for e in [0, 1] or NaN: log(u) (e / (u - 1)) with u = 1 + e (Kahan: u - 1 is exact), e where u == 1.
NG_FORCE_INLINE __m512 log1p_unit_ps(__m512 e) {
  const __m512 u = _mm512_add_ps(set1(1.0f), e);
  const __m512 d = _mm512_sub_ps(u, set1(1.0f));
  const __m512 r = _mm512_mul_ps(log_ps(u), _mm512_div_ps(e, d));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_EQ_OQ), r, e);
}

NG_FORCE_INLINE __m512 softplus_ps(__m512 x) {
  const __m512 l = log1p_unit_ps(exp_ps(_mm512_or_ps(x, set1(-0.0f))));
  return _mm512_add_ps(l, _mm512_max_ps(x, _mm512_setzero_ps()));  // a NaN x: l is NaN
}

// min(x, 0) - log1p(e^-|x|); a zero result (x > 103) takes the sign of the reference's double difference: -0
// while e^-x is nonzero in double (x < 745.13324), +0 beyond, where it is exactly 0 - 0.
NG_FORCE_INLINE __m512 log_sigmoid_ps(__m512 x) {
  const __m512 l = log1p_unit_ps(exp_ps(_mm512_or_ps(x, set1(-0.0f))));
  const __m512 r = _mm512_sub_ps(_mm512_min_ps(x, _mm512_setzero_ps()), l);
  return _mm512_mask_or_ps(r, _mm512_cmp_ps_mask(x, set1(745.13324f), _CMP_NGE_UQ), r, set1(-0.0f));
}

// x sigmoid(x) with e^-|x| = p 2^n: x / (1 + e) for x >= 0; (x p / (1 + e)) 2^n below, scaled once at the end so
// a subnormal result is rounded once. x < -110 underflows to -0; -Infinity gives NaN (-Infinity * 0).
NG_FORCE_INLINE __m512 silu_ps(__m512 x) {
  __m512 n;
  const __m512 p = exp_reduce(_mm512_max_ps(set1(-110.0f), _mm512_or_ps(x, set1(-0.0f))), &n);
  const __m512 den = _mm512_add_ps(set1(1.0f), _mm512_scalef_ps(p, n));
  const __m512 neg = _mm512_scalef_ps(_mm512_div_ps(_mm512_mul_ps(x, p), den), n);
  __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ), neg, _mm512_div_ps(x, den));
  r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, set1(-110.0f), _CMP_LT_OQ), set1(-0.0f));
  return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, set1(-INFINITY), _CMP_EQ_OQ), set1(NAN));
}

// erf(z) / z = S(z^2) for |z| < 1, fitted in double (error below 5e-11 relative to erfc(|z|), so 1 + erf(z)
// keeps it for z < 0 too).
NG_FORCE_INLINE __m512d erf_s_pd(__m512d w) {
  __m512d s = _mm512_set1_pd(-9.1945348202440729e-06);
  s = _mm512_fmadd_pd(s, w, _mm512_set1_pd(0.00011085825846994162));
  s = _mm512_fmadd_pd(s, w, _mm512_set1_pd(-0.00084565127022474297));
  s = _mm512_fmadd_pd(s, w, _mm512_set1_pd(0.0052188725252799509));
  s = _mm512_fmadd_pd(s, w, _mm512_set1_pd(-0.026864518420019676));
  s = _mm512_fmadd_pd(s, w, _mm512_set1_pd(0.11283762486678964));
  s = _mm512_fmadd_pd(s, w, _mm512_set1_pd(-0.3761263649593829));
  return _mm512_fmadd_pd(s, w, _mm512_set1_pd(1.1283791664766818));
}
// Phi(x) = (1 + erf(x / sqrt 2)) / 2 for |x| < sqrt 2, in double.
NG_FORCE_INLINE __m512d phi_cdf_small_pd(__m512d x) {
  const __m512d z = _mm512_mul_pd(x, _mm512_set1_pd(0.70710678118654752440));
  const __m512d w = _mm512_mul_pd(z, z);
  return _mm512_fmadd_pd(_mm512_mul_pd(z, erf_s_pd(w)), _mm512_set1_pd(0.5), _mm512_set1_pd(0.5));
}
NG_FORCE_INLINE __m512 gelu_small_ps(__m512 x) {
  const __m512d lo = lo_pd(x), hi = hi_pd(x);
  return join_ps(_mm512_mul_pd(lo, phi_cdf_small_pd(lo)), _mm512_mul_pd(hi, phi_cdf_small_pd(hi)));
}
NG_FORCE_INLINE __m512 phi_cdf_small_ps(__m512 x) {
  return join_ps(phi_cdf_small_pd(lo_pd(x)), phi_cdf_small_pd(hi_pd(x)));
}

// The Gaussian tail for |x| >= sqrt 2: returns k = (1/sqrt 2) R(2/x^2), with k e^(-x^2/2) = |x| erfc(|x|/sqrt 2) / 2
// (Cephes erfcf's R; its P below |x| = 2 sqrt 2), and e^(-x^2/2) in *ez, to be multiplied in last (a subnormal
// ez is then rounded only once more). x^2 is split exactly as hi + lo (FMA) and
// e^-(hi+lo)/2 = e^(-hi/2) (1 - lo/2): a plain float x^2 would cost x^2 2^-24 relative in the exponential.
// Beyond x^2/2 = 104 (the exp clamp) ez is 0 (NaN stays NaN).
NG_FORCE_INLINE __m512 gauss_tail_ps(__m512 x, __m512* ez_out) {
  const __m512 x2 = _mm512_mul_ps(x, x);
  const __m512 x2l = _mm512_fmsub_ps(x, x, x2);
  const __m512 w = _mm512_mul_ps(x2, set1(0.5f));
  __m512 ez = exp_ps(_mm512_xor_ps(w, set1(-0.0f)));
  ez = _mm512_fnmadd_ps(ez, _mm512_mul_ps(x2l, set1(0.5f)), ez);
  ez = _mm512_mask_mov_ps(ez, _mm512_cmp_ps_mask(w, set1(104.0f), _CMP_GT_OQ), _mm512_setzero_ps());
  const __m512 y = _mm512_div_ps(set1(2.0f), x2);
  __m512 p = set1(2.326819970068386e-2f);  // P: 1 <= z < 2
  p = _mm512_fmadd_ps(p, y, set1(-1.387039388740657e-1f));
  p = _mm512_fmadd_ps(p, y, set1(3.687424674597105e-1f));
  p = _mm512_fmadd_ps(p, y, set1(-5.824733027278666e-1f));
  p = _mm512_fmadd_ps(p, y, set1(6.210004621745983e-1f));
  p = _mm512_fmadd_ps(p, y, set1(-4.944515323274145e-1f));
  p = _mm512_fmadd_ps(p, y, set1(3.404879937665872e-1f));
  p = _mm512_fmadd_ps(p, y, set1(-2.741127028184656e-1f));
  p = _mm512_fmadd_ps(p, y, set1(5.638259427386472e-1f));
  __m512 q = set1(-1.047766399936249e+1f);  // R: z >= 2
  q = _mm512_fmadd_ps(q, y, set1(1.297719955371516e+1f));
  q = _mm512_fmadd_ps(q, y, set1(-7.495518717768503e+0f));
  q = _mm512_fmadd_ps(q, y, set1(2.921019019210786e+0f));
  q = _mm512_fmadd_ps(q, y, set1(-1.015265279202700e+0f));
  q = _mm512_fmadd_ps(q, y, set1(4.218463358204948e-1f));
  q = _mm512_fmadd_ps(q, y, set1(-2.820767439740514e-1f));
  q = _mm512_fmadd_ps(q, y, set1(5.641895067754075e-1f));
  p = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x2, set1(8.0f), _CMP_LT_OQ), q, p);
  *ez_out = ez;
  return _mm512_mul_ps(p, set1(0.70710678118654752f));
}

// 0.5 x erfc(-x / sqrt 2): the double series below |x| = sqrt 2; -T (x < 0) or x - T above; NaN at -Infinity.
NG_FORCE_INLINE __m512 gelu_ps(__m512 x) {
  __m512 ez;
  const __m512 k = gauss_tail_ps(x, &ez);  // sets ez
  const __m512 t = _mm512_mul_ps(k, ez);
  const __m512 zero = _mm512_setzero_ps();
  __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), _mm512_sub_ps(x, t),
                                  _mm512_xor_ps(t, set1(-0.0f)));
  r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_abs_ps(x), set1(1.41421356f), _CMP_LT_OQ), r, gelu_small_ps(x));
  return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, set1(-INFINITY), _CMP_EQ_OQ), set1(NAN));
}

// Phi(x) + x phi(x), the gelu derivative, as c + v e^(-x^2/2) with one FMA: below |x| = sqrt 2, c = Phi(x) from
// the double series and v = x / sqrt(2 pi); above, Phi(x) = [x > 0] - (k / x) e^(-x^2/2), so c = [x > 0] and
// v = x / sqrt(2 pi) - k / x (no cancellation: the second term is at most half the first). NaN at +-Infinity
// (Infinity * 0), as the reference.
NG_FORCE_INLINE __m512 gelu_deriv_ps(__m512 x) {
  __m512 ez;
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 xc = _mm512_mul_ps(x, set1(0.398942280401432678f));
  const __m512 vt = _mm512_sub_ps(xc, _mm512_div_ps(gauss_tail_ps(x, &ez), x));
  const __mmask16 small = _mm512_cmp_ps_mask(ax, set1(1.41421356f), _CMP_LT_OQ);
  const __m512 c = _mm512_mask_blend_ps(small, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ),
                                                                   set1(1.0f)), phi_cdf_small_ps(x));
  return _mm512_fmadd_ps(_mm512_mask_blend_ps(small, vt, xc), ez, c);
}

// hardSigmoid: 0.2 x + 0.5 in double (two roundings, as the reference), then clamped (NaN passes).
NG_FORCE_INLINE __m512 hard_sigmoid_ps(__m512 x) {
  const __m512d k = _mm512_set1_pd(0.2), h = _mm512_set1_pd(0.5);
  const __m512 v = join_ps(_mm512_add_pd(_mm512_mul_pd(lo_pd(x), k), h), _mm512_add_pd(_mm512_mul_pd(hi_pd(x), k), h));
  return _mm512_max_ps(_mm512_setzero_ps(), _mm512_min_ps(set1(1.0f), v));
}

NG_FORCE_INLINE __m512 softsign_ps(__m512 x) {
  const __m512d one = _mm512_set1_pd(1.0), lo = lo_pd(x), hi = hi_pd(x);
  return join_ps(_mm512_div_pd(lo, _mm512_add_pd(one, _mm512_abs_pd(lo))),
                 _mm512_div_pd(hi, _mm512_add_pd(one, _mm512_abs_pd(hi))));
}

// selu: scale x, or (scale alpha) expm1(x) in double; expm1 keeps x's sign so -0 gives -0.
NG_FORCE_INLINE __m512 selu_ps(__m512 x) {
  const __m512 xm = _mm512_min_ps(_mm512_setzero_ps(), x);
  const __m512 em = _mm512_or_ps(expm1_neg_ps(xm), _mm512_and_ps(xm, set1(-0.0f)));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ),
                              mul_alpha(em, _mm512_set1_pd(kSeluScaleAlphaD)), mul_alpha(x, _mm512_set1_pd(kSeluScaleD)));
}

// One static loop per op: 16-lane body, masked tail; v is the input vector, a the alpha broadcast in double.
#define NG_AVX512_UNARY(NAME, EXPR)                                                      \
  static void NAME(const float* x, float* y, size_t n, __m512d a) {                      \
    (void)a;                                                                             \
    size_t i = 0;                                                                        \
    for (; i + 16 <= n; i += 16) {                                                       \
      const __m512 v = _mm512_loadu_ps(x + i);                                           \
      _mm512_storeu_ps(y + i, (EXPR));                                                   \
    }                                                                                    \
    if (i < n) {                                                                         \
      const __mmask16 k = tail_mask(n - i);                                              \
      const __m512 v = _mm512_maskz_loadu_ps(k, x + i);                                  \
      _mm512_mask_storeu_ps(y + i, k, (EXPR));                                           \
    }                                                                                    \
  }

// relu keeps NaN (unordered compare) and turns -0 into +0, as Math.max(x, 0).
NG_AVX512_UNARY(relu_loop, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLE_UQ), v))
NG_AVX512_UNARY(sigmoid_loop, sigmoid_ps(v))
NG_AVX512_UNARY(tanh_loop, tanh_ps(v))
NG_AVX512_UNARY(exp_loop, exp_ps(v))
NG_AVX512_UNARY(log_loop, log_ps(v))
NG_AVX512_UNARY(sqrt_loop, _mm512_sqrt_ps(v))
NG_AVX512_UNARY(square_loop, _mm512_mul_ps(v, v))
NG_AVX512_UNARY(neg_loop, _mm512_xor_ps(v, set1(-0.0f)))
NG_AVX512_UNARY(abs_loop, _mm512_abs_ps(v))
NG_AVX512_UNARY(leaky_loop,
                _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), mul_alpha(v, a), v))
// elu: x itself for x >= 0, so -0 stays -0 (the series would give +0) as the reference's alpha expm1(-0).
NG_AVX512_UNARY(elu_loop, _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GE_OQ),
                                               mul_alpha(expm1_neg_ps(_mm512_min_ps(_mm512_setzero_ps(), v)), a), v))
// relu6: relu, then min with 6 (the second operand, relu's NaN, passes).
NG_AVX512_UNARY(relu6_loop, _mm512_min_ps(set1(6.0f), _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(),
                                                                                              _CMP_NLE_UQ), v)))
NG_AVX512_UNARY(selu_loop, selu_ps(v))
NG_AVX512_UNARY(softplus_loop, softplus_ps(v))
NG_AVX512_UNARY(softsign_loop, softsign_ps(v))
NG_AVX512_UNARY(gelu_loop, gelu_ps(v))
NG_AVX512_UNARY(silu_loop, silu_ps(v))
NG_AVX512_UNARY(hard_sigmoid_loop, hard_sigmoid_ps(v))
NG_AVX512_UNARY(log_sigmoid_loop, log_sigmoid_ps(v))

extern "C" void ng_f32_unary_x64_avx512(int op, const float* x, float* y, size_t n, double alpha) {
  const __m512d a = _mm512_set1_pd(alpha);
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
// Unary gradients: dx = g op'(x) on 8-lane double halves (x, y, g widened exactly; a = alpha), one rounding back.

static const double kSeluScale = 1.0507009873554804934193349852946;
static const double kSeluScaleAlpha = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;

NG_FORCE_INLINE __m512d pd1(double v) { return _mm512_set1_pd(v); }
NG_FORCE_INLINE __mmask8 pd_gt0(__m512d x) { return _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_GT_OQ); }

// mask_blend(k, a, b) takes b where k is set: "x > 0 ? b : a".
NG_FORCE_INLINE __m512d leaky_pd(__m512d x, __m512d, __m512d g, __m512d a) {
  return _mm512_mask_blend_pd(pd_gt0(x), _mm512_mul_pd(a, g), g);
}
NG_FORCE_INLINE __m512d elu_pd(__m512d x, __m512d y, __m512d g, __m512d a) {
  return _mm512_mask_blend_pd(pd_gt0(x), _mm512_mul_pd(g, _mm512_add_pd(y, a)), g);
}
NG_FORCE_INLINE __m512d selu_pd(__m512d x, __m512d y, __m512d g, __m512d) {
  return _mm512_mask_blend_pd(pd_gt0(x), _mm512_mul_pd(g, _mm512_add_pd(y, pd1(kSeluScaleAlpha))),
                              _mm512_mul_pd(g, pd1(kSeluScale)));
}
NG_FORCE_INLINE __m512d hard_sigmoid_pd(__m512d x, __m512d, __m512d g, __m512d) {
  const __mmask8 band = _mm512_cmp_pd_mask(x, pd1(-2.5), _CMP_GT_OQ) & _mm512_cmp_pd_mask(x, pd1(2.5), _CMP_LT_OQ);
  return _mm512_maskz_mov_pd(band, _mm512_mul_pd(g, pd1(0.2)));  // +0 outside the band
}
NG_FORCE_INLINE __m512d sigmoid_grad_pd(__m512d, __m512d y, __m512d g, __m512d) {
  return _mm512_mul_pd(g, _mm512_mul_pd(y, _mm512_sub_pd(pd1(1.0), y)));
}
NG_FORCE_INLINE __m512d tanh_grad_pd(__m512d, __m512d y, __m512d g, __m512d) {
  return _mm512_mul_pd(g, _mm512_sub_pd(pd1(1.0), _mm512_mul_pd(y, y)));
}
NG_FORCE_INLINE __m512d softsign_grad_pd(__m512d x, __m512d, __m512d g, __m512d) {
  const __m512d d = _mm512_add_pd(pd1(1.0), _mm512_abs_pd(x));
  return _mm512_div_pd(g, _mm512_mul_pd(d, d));
}
// e = exp(-|x|) arrives in the y slot: *s = sigmoid(x), *t = sigmoid(-x).
NG_FORCE_INLINE void sigmoid_pair_pd(__m512d x, __m512d e, __m512d* s, __m512d* t) {
  const __m512d r = _mm512_div_pd(pd1(1.0), _mm512_add_pd(pd1(1.0), e));
  const __m512d q = _mm512_mul_pd(e, r);
  const __mmask8 pos = _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_GE_OQ);
  *s = _mm512_mask_blend_pd(pos, q, r);
  *t = _mm512_mask_blend_pd(pos, r, q);
}
NG_FORCE_INLINE __m512d softplus_grad_pd(__m512d x, __m512d e, __m512d g, __m512d) {
  __m512d s, t;
  sigmoid_pair_pd(x, e, &s, &t);
  return _mm512_mul_pd(g, s);
}
NG_FORCE_INLINE __m512d log_sigmoid_grad_pd(__m512d x, __m512d e, __m512d g, __m512d) {
  __m512d s, t;
  sigmoid_pair_pd(x, e, &s, &t);
  return _mm512_mul_pd(g, t);
}
NG_FORCE_INLINE __m512d silu_grad_pd(__m512d x, __m512d e, __m512d g, __m512d) {
  __m512d s, t;
  sigmoid_pair_pd(x, e, &s, &t);
  return _mm512_mul_pd(g, _mm512_mul_pd(s, _mm512_add_pd(pd1(1.0), _mm512_mul_pd(x, t))));
}

// FN on both double halves of 16-lane float vectors, joined with one rounding.
#define NG_PD2(FN, X, Y, G) join_ps(FN(lo_pd(X), lo_pd(Y), lo_pd(G), a), FN(hi_pd(X), hi_pd(Y), hi_pd(G), a))
// exp(-|x|): the sign bit set (NaN stays NaN).
#define NG_EXP_NEG_ABS(X) exp_ps(_mm512_or_ps((X), set1(-0.0f)))

// One static loop per gradient: 16-lane body, masked tail; vx, vy, vg the inputs, a the alpha in double.
#define NG_AVX512_GRAD(NAME, EXPR)                                                                      \
  static void NAME(const float* x, const float* y, const float* dy, float* dx, size_t n, __m512d a) {   \
    (void)a;                                                                                            \
    size_t i = 0;                                                                                       \
    for (; i + 16 <= n; i += 16) {                                                                      \
      const __m512 vx = _mm512_loadu_ps(x + i), vy = _mm512_loadu_ps(y + i), vg = _mm512_loadu_ps(dy + i); \
      (void)vy;                                                                                         \
      _mm512_storeu_ps(dx + i, (EXPR));                                                                 \
    }                                                                                                   \
    if (i < n) {                                                                                        \
      const __mmask16 k = tail_mask(n - i);                                                             \
      const __m512 vx = _mm512_maskz_loadu_ps(k, x + i), vy = _mm512_maskz_loadu_ps(k, y + i);          \
      const __m512 vg = _mm512_maskz_loadu_ps(k, dy + i);                                               \
      (void)vy;                                                                                         \
      _mm512_mask_storeu_ps(dx + i, k, (EXPR));                                                         \
    }                                                                                                   \
  }

// relu and relu6 select dy itself (+0 elsewhere): no arithmetic, so no widening.
NG_AVX512_GRAD(relu_grad_loop, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(vx, _mm512_setzero_ps(), _CMP_GT_OQ), vg))
NG_AVX512_GRAD(relu6_grad_loop, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(vx, _mm512_setzero_ps(), _CMP_GT_OQ) &
                                                        _mm512_cmp_ps_mask(vx, set1(6.0f), _CMP_LT_OQ),
                                                    vg))
NG_AVX512_GRAD(leaky_grad_loop, NG_PD2(leaky_pd, vx, vy, vg))
NG_AVX512_GRAD(elu_grad_loop, NG_PD2(elu_pd, vx, vy, vg))
NG_AVX512_GRAD(selu_grad_loop, NG_PD2(selu_pd, vx, vy, vg))
NG_AVX512_GRAD(hard_sigmoid_grad_loop, NG_PD2(hard_sigmoid_pd, vx, vy, vg))
NG_AVX512_GRAD(sigmoid_grad_loop, NG_PD2(sigmoid_grad_pd, vx, vy, vg))
NG_AVX512_GRAD(tanh_grad_loop, NG_PD2(tanh_grad_pd, vx, vy, vg))
NG_AVX512_GRAD(softsign_grad_loop, NG_PD2(softsign_grad_pd, vx, vy, vg))
NG_AVX512_GRAD(softplus_grad_loop, NG_PD2(softplus_grad_pd, vx, NG_EXP_NEG_ABS(vx), vg))
NG_AVX512_GRAD(log_sigmoid_grad_loop, NG_PD2(log_sigmoid_grad_pd, vx, NG_EXP_NEG_ABS(vx), vg))
NG_AVX512_GRAD(silu_grad_loop, NG_PD2(silu_grad_pd, vx, NG_EXP_NEG_ABS(vx), vg))
// gelu: the derivative in float (header), one float product with dy.
NG_AVX512_GRAD(gelu_grad_loop, _mm512_mul_ps(vg, gelu_deriv_ps(vx)))

extern "C" void ng_f32_unary_grad_x64_avx512(int op, const float* x, const float* y, const float* dy, float* dx,
                                             size_t n, double alpha) {
  const __m512d a = _mm512_set1_pd(alpha);
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
#undef NG_AVX512_GRAD

extern "C" double ng_f32_expsum_x64_avx512(const float* x, float* y, size_t n, float shift) {
  const __m512 s = set1(shift);
  __m512d a0 = _mm512_setzero_pd(), a1 = a0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
    if (y) _mm512_storeu_ps(y + i, e);
    a0 = _mm512_add_pd(a0, lo_pd(e));
    a1 = _mm512_add_pd(a1, hi_pd(e));
  }
  if (i < n) {
    const __mmask16 k = tail_mask(n - i);
    const __m512 e = _mm512_maskz_mov_ps(k, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), s)));
    if (y) _mm512_mask_storeu_ps(y + i, k, e);
    a0 = _mm512_add_pd(a0, lo_pd(e));
    a1 = _mm512_add_pd(a1, hi_pd(e));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
}

extern "C" void ng_f32_sub2_x64_avx512(const float* x, float* y, size_t n, float a, float b) {
  const __m512 va = set1(a), vb = set1(b);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), va), vb));
  if (i < n) {
    const __mmask16 k = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, k, _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), va), vb));
  }
}
