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
 * Measured against the reference (libm in double, rounded once) in test/native/eltwise.test.ts: exp, log within
 * 2 ulp; sigmoid, tanh, elu within 4 ulp; the other ops are exact.
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

NG_FORCE_INLINE __m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(set1(89.0f), x);  // min/max return their second operand for NaN: NaN passes through
  x = _mm512_max_ps(set1(-104.0f), x);
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
  return _mm512_scalef_ps(_mm512_add_ps(p, set1(1.0f)), n);
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
NG_AVX512_UNARY(elu_loop, _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ),
                                               mul_alpha(expm1_neg_ps(_mm512_min_ps(_mm512_setzero_ps(), v)), a), v))

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
