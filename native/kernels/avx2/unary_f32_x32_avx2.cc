/*
 * Unary maths and the exp-sum / shift steps of softmax for AVX2 + FMA (8-lane vectors, then a maskload /
 * maskstore tail). Same Cephes polynomials and reductions as the AVX-512 kernel (see its header), with two
 * differences where AVX2 lacks an instruction: exp scales by 2^n as 2^(n/2) * 2^(n - n/2) (both factors
 * normal, one rounding into the subnormal range), and log reads the exponent from the bits after scaling
 * subnormals by 2^23. Accuracy bounds are the AVX-512 kernel's (test/native/eltwise.test.ts). Gradients
 * (ng_f32_unary_grad_x32_avx2) as the AVX-512 kernel's, on 4-lane double halves.
 * Built only into nodegrad_avx2; plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <immintrin.h>
#include <math.h>

#include "nodegrad/eltwise.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE __m256i first_lanes(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
NG_FORCE_INLINE __m256 set1(float v) { return _mm256_set1_ps(v); }
NG_FORCE_INLINE __m256d lo_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
NG_FORCE_INLINE __m256d hi_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }
NG_FORCE_INLINE __m256 join_ps(__m256d lo, __m256d hi) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
}
// 2^k for integer k in [-126, 127], as float bits.
NG_FORCE_INLINE __m256 pow2i(__m256i k) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23)); }

// e^x = p 2^n for x already clamped to [-110, 89] (n integral, returned in *n; p in [0.7, 1.42]).
NG_FORCE_INLINE __m256 exp_reduce(__m256 x, __m256* n_out) {
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, set1(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, set1(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, set1(-2.12194440e-4f), r);
  __m256 p = set1(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, set1(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, set1(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, set1(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, set1(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, set1(5.0000001201e-1f));
  *n_out = n;
  return _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), set1(1.0f));
}

// v 2^n for integral n in [-252, 252] as 2^(n/2) 2^(n - n/2): both factors normal, so one rounding at most.
NG_FORCE_INLINE __m256 scale2n(__m256 v, __m256 n) {
  const __m256i ni = _mm256_cvtps_epi32(n);  // NaN gives garbage factors times a NaN v
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  return _mm256_mul_ps(_mm256_mul_ps(v, pow2i(n1)), pow2i(_mm256_sub_epi32(ni, n1)));
}

NG_FORCE_INLINE __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(set1(89.0f), x);  // min/max return their second operand for NaN: NaN passes through
  x = _mm256_max_ps(set1(-104.0f), x);
  __m256 n;
  const __m256 p = exp_reduce(x, &n);  // n in [-150, 129]
  return scale2n(p, n);
}

NG_FORCE_INLINE __m256 log_ps(__m256 x) {
  const __m256 sub = _mm256_cmp_ps(x, set1(1.17549435e-38f), _CMP_LT_OQ);  // subnormal (or <= 0: fixed below)
  const __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, set1(8388608.0f)), sub);
  const __m256i bits = _mm256_castps_si256(xs);
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
  e = _mm256_sub_ps(e, _mm256_and_ps(sub, set1(23.0f)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                 _mm256_set1_epi32(0x3f800000)));
  const __m256 big = _mm256_cmp_ps(m, set1(1.41421356237f), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, set1(0.5f)), big);
  e = _mm256_add_ps(e, _mm256_and_ps(big, set1(1.0f)));
  const __m256 f = _mm256_sub_ps(m, set1(1.0f));
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 y = set1(7.0376836292e-2f);
  y = _mm256_fmadd_ps(y, f, set1(-1.1514610310e-1f));
  y = _mm256_fmadd_ps(y, f, set1(1.1676998740e-1f));
  y = _mm256_fmadd_ps(y, f, set1(-1.2420140846e-1f));
  y = _mm256_fmadd_ps(y, f, set1(1.4249322787e-1f));
  y = _mm256_fmadd_ps(y, f, set1(-1.6668057665e-1f));
  y = _mm256_fmadd_ps(y, f, set1(2.0000714765e-1f));
  y = _mm256_fmadd_ps(y, f, set1(-2.4999993993e-1f));
  y = _mm256_fmadd_ps(y, f, set1(3.3333331174e-1f));
  y = _mm256_mul_ps(_mm256_mul_ps(y, f), z);
  y = _mm256_fmadd_ps(e, set1(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, set1(0.5f), y);
  __m256 r = _mm256_fmadd_ps(e, set1(0.693359375f), _mm256_add_ps(f, y));
  const __m256 zero = _mm256_setzero_ps();
  r = _mm256_blendv_ps(r, set1(NAN), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
  r = _mm256_blendv_ps(r, set1(-INFINITY), _mm256_cmp_ps(x, zero, _CMP_EQ_OQ));
  r = _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, set1(INFINITY), _CMP_EQ_OQ));
  return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN in, NaN out
}

NG_FORCE_INLINE __m256 tanh_ps(__m256 x) {
  const __m256 sign = set1(-0.0f);
  const __m256 ax = _mm256_andnot_ps(sign, x);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = set1(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, set1(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, set1(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, set1(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, set1(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  const __m256 e = exp_ps(_mm256_add_ps(ax, ax));
  __m256 big = _mm256_sub_ps(set1(1.0f), _mm256_div_ps(set1(2.0f), _mm256_add_ps(e, set1(1.0f))));
  big = _mm256_or_ps(big, _mm256_and_ps(x, sign));  // big >= 0: take x's sign
  return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, set1(0.625f), _CMP_LT_OQ));
}

NG_FORCE_INLINE __m256 sigmoid_ps(__m256 x) {
  const __m256 e = exp_ps(_mm256_or_ps(x, set1(-0.0f)));  // e^-|x| <= 1: never overflows
  const __m256 num = _mm256_blendv_ps(e, set1(1.0f), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(e, set1(1.0f)));
}

NG_FORCE_INLINE __m256 expm1_neg_ps(__m256 x) {
  __m256 p = set1(2.5052108385441720e-8f);  // 1/11!
  p = _mm256_fmadd_ps(p, x, set1(2.7557319223985893e-7f));
  p = _mm256_fmadd_ps(p, x, set1(2.7557319223985888e-6f));
  p = _mm256_fmadd_ps(p, x, set1(2.4801587301587302e-5f));
  p = _mm256_fmadd_ps(p, x, set1(1.9841269841269841e-4f));
  p = _mm256_fmadd_ps(p, x, set1(1.3888888888888889e-3f));
  p = _mm256_fmadd_ps(p, x, set1(8.3333333333333333e-3f));
  p = _mm256_fmadd_ps(p, x, set1(4.1666666666666667e-2f));
  p = _mm256_fmadd_ps(p, x, set1(1.6666666666666667e-1f));
  p = _mm256_fmadd_ps(p, x, set1(0.5f));
  const __m256 small = _mm256_fmadd_ps(p, _mm256_mul_ps(x, x), x);
  const __m256 big = _mm256_sub_ps(exp_ps(x), set1(1.0f));
  return _mm256_blendv_ps(big, small, _mm256_cmp_ps(x, set1(-1.0f), _CMP_GT_OQ));
}

NG_FORCE_INLINE __m256 mul_alpha(__m256 v, __m256d alpha) {
  return join_ps(_mm256_mul_pd(lo_pd(v), alpha), _mm256_mul_pd(hi_pd(v), alpha));
}

// ---------------------------------------------------------------------------------------------------------
// Activations: relu6, selu, softplus, softsign, gelu, silu, hardSigmoid, logSigmoid, as the AVX-512 kernel's.

static const double kSeluScaleD = 1.0507009873554804934193349852946;
static const double kSeluScaleAlphaD = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;

NG_FORCE_INLINE __m256 abs_ps(__m256 x) { return _mm256_andnot_ps(set1(-0.0f), x); }

// log1p(e) for e in [0, 1] or NaN: log(u) (e / (u - 1)) with u = 1 + e (Kahan: u - 1 is exact), e where u == 1.
NG_FORCE_INLINE __m256 log1p_unit_ps(__m256 e) {
  const __m256 u = _mm256_add_ps(set1(1.0f), e);
  const __m256 d = _mm256_sub_ps(u, set1(1.0f));
  const __m256 r = _mm256_mul_ps(log_ps(u), _mm256_div_ps(e, d));
  return _mm256_blendv_ps(r, e, _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_EQ_OQ));
}

NG_FORCE_INLINE __m256 softplus_ps(__m256 x) {
  const __m256 l = log1p_unit_ps(exp_ps(_mm256_or_ps(x, set1(-0.0f))));
  return _mm256_add_ps(l, _mm256_max_ps(x, _mm256_setzero_ps()));  // a NaN x: l is NaN
}

// min(x, 0) - log1p(e^-|x|); a zero result takes the reference's sign (-0 below x = 745.13324, +0 from there).
NG_FORCE_INLINE __m256 log_sigmoid_ps(__m256 x) {
  const __m256 l = log1p_unit_ps(exp_ps(_mm256_or_ps(x, set1(-0.0f))));
  const __m256 r = _mm256_sub_ps(_mm256_min_ps(x, _mm256_setzero_ps()), l);
  return _mm256_or_ps(r, _mm256_and_ps(_mm256_cmp_ps(x, set1(745.13324f), _CMP_NGE_UQ), set1(-0.0f)));
}

// x sigmoid(x), the product scaled by 2^n once at the end for x < 0 (see the AVX-512 kernel).
NG_FORCE_INLINE __m256 silu_ps(__m256 x) {
  __m256 n;
  const __m256 p = exp_reduce(_mm256_max_ps(set1(-110.0f), _mm256_or_ps(x, set1(-0.0f))), &n);  // n >= -159
  const __m256 den = _mm256_add_ps(set1(1.0f), scale2n(p, n));
  const __m256 neg = scale2n(_mm256_div_ps(_mm256_mul_ps(x, p), den), n);
  __m256 r = _mm256_blendv_ps(neg, _mm256_div_ps(x, den), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  r = _mm256_blendv_ps(r, set1(-0.0f), _mm256_cmp_ps(x, set1(-110.0f), _CMP_LT_OQ));
  return _mm256_blendv_ps(r, set1(NAN), _mm256_cmp_ps(x, set1(-INFINITY), _CMP_EQ_OQ));
}

// erf(z) / z = S(z^2) for |z| < 1 in double (the AVX-512 kernel's fit).
NG_FORCE_INLINE __m256d erf_s_pd(__m256d w) {
  __m256d s = _mm256_set1_pd(-9.1945348202440729e-06);
  s = _mm256_fmadd_pd(s, w, _mm256_set1_pd(0.00011085825846994162));
  s = _mm256_fmadd_pd(s, w, _mm256_set1_pd(-0.00084565127022474297));
  s = _mm256_fmadd_pd(s, w, _mm256_set1_pd(0.0052188725252799509));
  s = _mm256_fmadd_pd(s, w, _mm256_set1_pd(-0.026864518420019676));
  s = _mm256_fmadd_pd(s, w, _mm256_set1_pd(0.11283762486678964));
  s = _mm256_fmadd_pd(s, w, _mm256_set1_pd(-0.3761263649593829));
  return _mm256_fmadd_pd(s, w, _mm256_set1_pd(1.1283791664766818));
}
NG_FORCE_INLINE __m256d phi_cdf_small_pd(__m256d x) {
  const __m256d z = _mm256_mul_pd(x, _mm256_set1_pd(0.70710678118654752440));
  const __m256d w = _mm256_mul_pd(z, z);
  return _mm256_fmadd_pd(_mm256_mul_pd(z, erf_s_pd(w)), _mm256_set1_pd(0.5), _mm256_set1_pd(0.5));
}
NG_FORCE_INLINE __m256 gelu_small_ps(__m256 x) {
  const __m256d lo = lo_pd(x), hi = hi_pd(x);
  return join_ps(_mm256_mul_pd(lo, phi_cdf_small_pd(lo)), _mm256_mul_pd(hi, phi_cdf_small_pd(hi)));
}
NG_FORCE_INLINE __m256 phi_cdf_small_ps(__m256 x) {
  return join_ps(phi_cdf_small_pd(lo_pd(x)), phi_cdf_small_pd(hi_pd(x)));
}

// k = (1/sqrt 2) R(2/x^2) and e^(-x^2/2) in *ez for |x| >= sqrt 2: k ez = |x| erfc(|x| / sqrt 2) / 2 (see the
// AVX-512 kernel).
NG_FORCE_INLINE __m256 gauss_tail_ps(__m256 x, __m256* ez_out) {
  const __m256 x2 = _mm256_mul_ps(x, x);
  const __m256 x2l = _mm256_fmsub_ps(x, x, x2);
  const __m256 w = _mm256_mul_ps(x2, set1(0.5f));
  __m256 ez = exp_ps(_mm256_xor_ps(w, set1(-0.0f)));
  ez = _mm256_fnmadd_ps(ez, _mm256_mul_ps(x2l, set1(0.5f)), ez);
  ez = _mm256_andnot_ps(_mm256_cmp_ps(w, set1(104.0f), _CMP_GT_OQ), ez);
  const __m256 y = _mm256_div_ps(set1(2.0f), x2);
  __m256 p = set1(2.326819970068386e-2f);  // P: 1 <= z < 2
  p = _mm256_fmadd_ps(p, y, set1(-1.387039388740657e-1f));
  p = _mm256_fmadd_ps(p, y, set1(3.687424674597105e-1f));
  p = _mm256_fmadd_ps(p, y, set1(-5.824733027278666e-1f));
  p = _mm256_fmadd_ps(p, y, set1(6.210004621745983e-1f));
  p = _mm256_fmadd_ps(p, y, set1(-4.944515323274145e-1f));
  p = _mm256_fmadd_ps(p, y, set1(3.404879937665872e-1f));
  p = _mm256_fmadd_ps(p, y, set1(-2.741127028184656e-1f));
  p = _mm256_fmadd_ps(p, y, set1(5.638259427386472e-1f));
  __m256 q = set1(-1.047766399936249e+1f);  // R: z >= 2
  q = _mm256_fmadd_ps(q, y, set1(1.297719955371516e+1f));
  q = _mm256_fmadd_ps(q, y, set1(-7.495518717768503e+0f));
  q = _mm256_fmadd_ps(q, y, set1(2.921019019210786e+0f));
  q = _mm256_fmadd_ps(q, y, set1(-1.015265279202700e+0f));
  q = _mm256_fmadd_ps(q, y, set1(4.218463358204948e-1f));
  q = _mm256_fmadd_ps(q, y, set1(-2.820767439740514e-1f));
  q = _mm256_fmadd_ps(q, y, set1(5.641895067754075e-1f));
  p = _mm256_blendv_ps(q, p, _mm256_cmp_ps(x2, set1(8.0f), _CMP_LT_OQ));
  *ez_out = ez;
  return _mm256_mul_ps(p, set1(0.70710678118654752f));
}

NG_FORCE_INLINE __m256 gelu_ps(__m256 x) {
  __m256 ez;
  const __m256 k = gauss_tail_ps(x, &ez);  // sets ez
  const __m256 t = _mm256_mul_ps(k, ez);
  __m256 r = _mm256_blendv_ps(_mm256_sub_ps(x, t), _mm256_xor_ps(t, set1(-0.0f)),
                              _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  r = _mm256_blendv_ps(r, gelu_small_ps(x), _mm256_cmp_ps(abs_ps(x), set1(1.41421356f), _CMP_LT_OQ));
  return _mm256_blendv_ps(r, set1(NAN), _mm256_cmp_ps(x, set1(-INFINITY), _CMP_EQ_OQ));
}

// Phi(x) + x phi(x) as c + v e^(-x^2/2) (see the AVX-512 kernel).
NG_FORCE_INLINE __m256 gelu_deriv_ps(__m256 x) {
  __m256 ez;
  const __m256 xc = _mm256_mul_ps(x, set1(0.398942280401432678f));
  const __m256 vt = _mm256_sub_ps(xc, _mm256_div_ps(gauss_tail_ps(x, &ez), x));
  const __m256 small = _mm256_cmp_ps(abs_ps(x), set1(1.41421356f), _CMP_LT_OQ);
  const __m256 c = _mm256_blendv_ps(_mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ), set1(1.0f)),
                                    phi_cdf_small_ps(x), small);
  return _mm256_fmadd_ps(_mm256_blendv_ps(vt, xc, small), ez, c);
}

NG_FORCE_INLINE __m256 hard_sigmoid_ps(__m256 x) {
  const __m256d k = _mm256_set1_pd(0.2), h = _mm256_set1_pd(0.5);
  const __m256 v = join_ps(_mm256_add_pd(_mm256_mul_pd(lo_pd(x), k), h), _mm256_add_pd(_mm256_mul_pd(hi_pd(x), k), h));
  return _mm256_max_ps(_mm256_setzero_ps(), _mm256_min_ps(set1(1.0f), v));
}

NG_FORCE_INLINE __m256 softsign_ps(__m256 x) {
  const __m256d one = _mm256_set1_pd(1.0), sign = _mm256_set1_pd(-0.0), lo = lo_pd(x), hi = hi_pd(x);
  return join_ps(_mm256_div_pd(lo, _mm256_add_pd(one, _mm256_andnot_pd(sign, lo))),
                 _mm256_div_pd(hi, _mm256_add_pd(one, _mm256_andnot_pd(sign, hi))));
}

NG_FORCE_INLINE __m256 selu_ps(__m256 x) {
  const __m256 xm = _mm256_min_ps(_mm256_setzero_ps(), x);
  const __m256 em = _mm256_or_ps(expm1_neg_ps(xm), _mm256_and_ps(xm, set1(-0.0f)));
  return _mm256_blendv_ps(mul_alpha(em, _mm256_set1_pd(kSeluScaleAlphaD)), mul_alpha(x, _mm256_set1_pd(kSeluScaleD)),
                          _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
}

#define NG_AVX2_UNARY(NAME, EXPR)                                                        \
  static void NAME(const float* x, float* y, size_t n, __m256d a) {                      \
    (void)a;                                                                             \
    size_t i = 0;                                                                        \
    for (; i + 8 <= n; i += 8) {                                                         \
      const __m256 v = _mm256_loadu_ps(x + i);                                           \
      _mm256_storeu_ps(y + i, (EXPR));                                                   \
    }                                                                                    \
    if (i < n) {                                                                         \
      const __m256i k = first_lanes(n - i);                                              \
      const __m256 v = _mm256_maskload_ps(x + i, k);                                     \
      _mm256_maskstore_ps(y + i, k, (EXPR));                                             \
    }                                                                                    \
  }

// relu keeps NaN (unordered compare) and turns -0 into +0, as Math.max(x, 0).
NG_AVX2_UNARY(relu_loop, _mm256_and_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NLE_UQ), v))
NG_AVX2_UNARY(sigmoid_loop, sigmoid_ps(v))
NG_AVX2_UNARY(tanh_loop, tanh_ps(v))
NG_AVX2_UNARY(exp_loop, exp_ps(v))
NG_AVX2_UNARY(log_loop, log_ps(v))
NG_AVX2_UNARY(sqrt_loop, _mm256_sqrt_ps(v))
NG_AVX2_UNARY(square_loop, _mm256_mul_ps(v, v))
NG_AVX2_UNARY(neg_loop, _mm256_xor_ps(v, set1(-0.0f)))
NG_AVX2_UNARY(abs_loop, _mm256_andnot_ps(set1(-0.0f), v))
NG_AVX2_UNARY(leaky_loop, _mm256_blendv_ps(mul_alpha(v, a), v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ)))
// elu: x itself for x >= 0, so -0 stays -0 (the series would give +0) as the reference's alpha expm1(-0).
NG_AVX2_UNARY(elu_loop, _mm256_blendv_ps(mul_alpha(expm1_neg_ps(_mm256_min_ps(_mm256_setzero_ps(), v)), a), v,
                                         _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ)))
// relu6: relu, then min with 6 (the second operand, relu's NaN, passes).
NG_AVX2_UNARY(relu6_loop, _mm256_min_ps(set1(6.0f), _mm256_and_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NLE_UQ), v)))
NG_AVX2_UNARY(selu_loop, selu_ps(v))
NG_AVX2_UNARY(softplus_loop, softplus_ps(v))
NG_AVX2_UNARY(softsign_loop, softsign_ps(v))
NG_AVX2_UNARY(gelu_loop, gelu_ps(v))
NG_AVX2_UNARY(silu_loop, silu_ps(v))
NG_AVX2_UNARY(hard_sigmoid_loop, hard_sigmoid_ps(v))
NG_AVX2_UNARY(log_sigmoid_loop, log_sigmoid_ps(v))

extern "C" void ng_f32_unary_x32_avx2(int op, const float* x, float* y, size_t n, double alpha) {
  const __m256d a = _mm256_set1_pd(alpha);
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
// Unary gradients: dx = g op'(x) on 4-lane double halves (x, y, g widened exactly; a = alpha), one rounding back.

static const double kSeluScale = 1.0507009873554804934193349852946;
static const double kSeluScaleAlpha = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;

NG_FORCE_INLINE __m256d pd1(double v) { return _mm256_set1_pd(v); }
NG_FORCE_INLINE __m256d pd_gt0(__m256d x) { return _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_GT_OQ); }

// blendv(a, b, m) takes b where m is set: "x > 0 ? b : a".
NG_FORCE_INLINE __m256d leaky_pd(__m256d x, __m256d, __m256d g, __m256d a) {
  return _mm256_blendv_pd(_mm256_mul_pd(a, g), g, pd_gt0(x));
}
NG_FORCE_INLINE __m256d elu_pd(__m256d x, __m256d y, __m256d g, __m256d a) {
  return _mm256_blendv_pd(_mm256_mul_pd(g, _mm256_add_pd(y, a)), g, pd_gt0(x));
}
NG_FORCE_INLINE __m256d selu_pd(__m256d x, __m256d y, __m256d g, __m256d) {
  return _mm256_blendv_pd(_mm256_mul_pd(g, _mm256_add_pd(y, pd1(kSeluScaleAlpha))), _mm256_mul_pd(g, pd1(kSeluScale)),
                          pd_gt0(x));
}
NG_FORCE_INLINE __m256d hard_sigmoid_pd(__m256d x, __m256d, __m256d g, __m256d) {
  const __m256d band = _mm256_and_pd(_mm256_cmp_pd(x, pd1(-2.5), _CMP_GT_OQ), _mm256_cmp_pd(x, pd1(2.5), _CMP_LT_OQ));
  return _mm256_and_pd(band, _mm256_mul_pd(g, pd1(0.2)));  // +0 outside the band
}
NG_FORCE_INLINE __m256d sigmoid_grad_pd(__m256d, __m256d y, __m256d g, __m256d) {
  return _mm256_mul_pd(g, _mm256_mul_pd(y, _mm256_sub_pd(pd1(1.0), y)));
}
NG_FORCE_INLINE __m256d tanh_grad_pd(__m256d, __m256d y, __m256d g, __m256d) {
  return _mm256_mul_pd(g, _mm256_sub_pd(pd1(1.0), _mm256_mul_pd(y, y)));
}
NG_FORCE_INLINE __m256d softsign_grad_pd(__m256d x, __m256d, __m256d g, __m256d) {
  const __m256d d = _mm256_add_pd(pd1(1.0), _mm256_andnot_pd(pd1(-0.0), x));
  return _mm256_div_pd(g, _mm256_mul_pd(d, d));
}
// e = exp(-|x|) arrives in the y slot: *s = sigmoid(x), *t = sigmoid(-x).
NG_FORCE_INLINE void sigmoid_pair_pd(__m256d x, __m256d e, __m256d* s, __m256d* t) {
  const __m256d r = _mm256_div_pd(pd1(1.0), _mm256_add_pd(pd1(1.0), e));
  const __m256d q = _mm256_mul_pd(e, r);
  const __m256d pos = _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_GE_OQ);
  *s = _mm256_blendv_pd(q, r, pos);
  *t = _mm256_blendv_pd(r, q, pos);
}
NG_FORCE_INLINE __m256d softplus_grad_pd(__m256d x, __m256d e, __m256d g, __m256d) {
  __m256d s, t;
  sigmoid_pair_pd(x, e, &s, &t);
  return _mm256_mul_pd(g, s);
}
NG_FORCE_INLINE __m256d log_sigmoid_grad_pd(__m256d x, __m256d e, __m256d g, __m256d) {
  __m256d s, t;
  sigmoid_pair_pd(x, e, &s, &t);
  return _mm256_mul_pd(g, t);
}
NG_FORCE_INLINE __m256d silu_grad_pd(__m256d x, __m256d e, __m256d g, __m256d) {
  __m256d s, t;
  sigmoid_pair_pd(x, e, &s, &t);
  return _mm256_mul_pd(g, _mm256_mul_pd(s, _mm256_add_pd(pd1(1.0), _mm256_mul_pd(x, t))));
}

// FN on both double halves of 8-lane float vectors, joined with one rounding.
#define NG_PD2(FN, X, Y, G) join_ps(FN(lo_pd(X), lo_pd(Y), lo_pd(G), a), FN(hi_pd(X), hi_pd(Y), hi_pd(G), a))
// exp(-|x|): the sign bit set (NaN stays NaN).
#define NG_EXP_NEG_ABS(X) exp_ps(_mm256_or_ps((X), set1(-0.0f)))

// One static loop per gradient: 8-lane body, maskload / maskstore tail; vx, vy, vg the inputs, a the alpha.
#define NG_AVX2_GRAD(NAME, EXPR)                                                                        \
  static void NAME(const float* x, const float* y, const float* dy, float* dx, size_t n, __m256d a) {   \
    (void)a;                                                                                            \
    size_t i = 0;                                                                                       \
    for (; i + 8 <= n; i += 8) {                                                                        \
      const __m256 vx = _mm256_loadu_ps(x + i), vy = _mm256_loadu_ps(y + i), vg = _mm256_loadu_ps(dy + i); \
      (void)vy;                                                                                         \
      _mm256_storeu_ps(dx + i, (EXPR));                                                                 \
    }                                                                                                   \
    if (i < n) {                                                                                        \
      const __m256i k = first_lanes(n - i);                                                             \
      const __m256 vx = _mm256_maskload_ps(x + i, k), vy = _mm256_maskload_ps(y + i, k);                \
      const __m256 vg = _mm256_maskload_ps(dy + i, k);                                                  \
      (void)vy;                                                                                         \
      _mm256_maskstore_ps(dx + i, k, (EXPR));                                                           \
    }                                                                                                   \
  }

// relu and relu6 select dy itself (+0 elsewhere): no arithmetic, so no widening.
NG_AVX2_GRAD(relu_grad_loop, _mm256_and_ps(_mm256_cmp_ps(vx, _mm256_setzero_ps(), _CMP_GT_OQ), vg))
NG_AVX2_GRAD(relu6_grad_loop, _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(vx, _mm256_setzero_ps(), _CMP_GT_OQ),
                                                          _mm256_cmp_ps(vx, set1(6.0f), _CMP_LT_OQ)),
                                            vg))
NG_AVX2_GRAD(leaky_grad_loop, NG_PD2(leaky_pd, vx, vy, vg))
NG_AVX2_GRAD(elu_grad_loop, NG_PD2(elu_pd, vx, vy, vg))
NG_AVX2_GRAD(selu_grad_loop, NG_PD2(selu_pd, vx, vy, vg))
NG_AVX2_GRAD(hard_sigmoid_grad_loop, NG_PD2(hard_sigmoid_pd, vx, vy, vg))
NG_AVX2_GRAD(sigmoid_grad_loop, NG_PD2(sigmoid_grad_pd, vx, vy, vg))
NG_AVX2_GRAD(tanh_grad_loop, NG_PD2(tanh_grad_pd, vx, vy, vg))
NG_AVX2_GRAD(softsign_grad_loop, NG_PD2(softsign_grad_pd, vx, vy, vg))
NG_AVX2_GRAD(softplus_grad_loop, NG_PD2(softplus_grad_pd, vx, NG_EXP_NEG_ABS(vx), vg))
NG_AVX2_GRAD(log_sigmoid_grad_loop, NG_PD2(log_sigmoid_grad_pd, vx, NG_EXP_NEG_ABS(vx), vg))
NG_AVX2_GRAD(silu_grad_loop, NG_PD2(silu_grad_pd, vx, NG_EXP_NEG_ABS(vx), vg))
// gelu: the derivative in float (AVX-512 kernel), one float product with dy.
NG_AVX2_GRAD(gelu_grad_loop, _mm256_mul_ps(vg, gelu_deriv_ps(vx)))

extern "C" void ng_f32_unary_grad_x32_avx2(int op, const float* x, const float* y, const float* dy, float* dx,
                                           size_t n, double alpha) {
  const __m256d a = _mm256_set1_pd(alpha);
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
#undef NG_AVX2_GRAD

extern "C" double ng_f32_expsum_x32_avx2(const float* x, float* y, size_t n, float shift) {
  const __m256 s = set1(shift);
  __m256d a0 = _mm256_setzero_pd(), a1 = a0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    if (y) _mm256_storeu_ps(y + i, e);
    a0 = _mm256_add_pd(a0, lo_pd(e));
    a1 = _mm256_add_pd(a1, hi_pd(e));
  }
  if (i < n) {
    const __m256i k = first_lanes(n - i);
    const __m256 e = _mm256_and_ps(_mm256_castsi256_ps(k), exp_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), s)));
    if (y) _mm256_maskstore_ps(y + i, k, e);
    a0 = _mm256_add_pd(a0, lo_pd(e));
    a1 = _mm256_add_pd(a1, hi_pd(e));
  }
  double t[4];
  _mm256_storeu_pd(t, _mm256_add_pd(a0, a1));
  return (t[0] + t[1]) + (t[2] + t[3]);
}

extern "C" void ng_f32_sub2_x32_avx2(const float* x, float* y, size_t n, float a, float b) {
  const __m256 va = set1(a), vb = set1(b);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), va), vb));
  if (i < n) {
    const __m256i k = first_lanes(n - i);
    _mm256_maskstore_ps(y + i, k, _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), va), vb));
  }
}
