/*
 * Elementwise unary, reduction and softmax building blocks (C ABI, declarations only). Softmax, log-softmax
 * and softmax cross-entropy are composed from these by the driver (native/runtime/eltwise.cc), which also
 * splits work over the thread pool.
 *
 * Accuracy of the SIMD paths (Cephes polynomials; the ref path calls libm in double and rounds once), against the
 * correctly rounded result: exp, log, tanh within 2 ulp and sigmoid, elu within 3 ulp (measured maxima 1, 1, 1, 2,
 * 2 over float32 inputs sampled across the whole range); neg, abs, square, sqrt, relu, leakyRelu exact (leakyRelu
 * multiplies in double, as the reference). Activations: relu6 (a selection), softsign and hardSigmoid (double
 * arithmetic in the reference's order, one rounding) exact; selu within 3 ulp, softplus, logSigmoid, silu within
 * 4, gelu within 5 (measured 2, 3, 3, 3, 4 over dense sweeps of [-120, 120] and log-spaced magnitudes, subnormal
 * results included). Asserted in test/native/eltwise.test.ts.
 *
 * Unary gradients (ng_f32_unary_grad_*): every path widens x, y and dy to double, computes the reference's
 * formula there in the reference's order and rounds once, so relu, relu6, leakyRelu, elu, selu, hardSigmoid,
 * sigmoid, tanh and softsign are bit-identical to the reference on every path. softplus, logSigmoid and silu
 * need e = exp(-|x|): the SIMD paths take it from the float32 exp polynomial (within 2 ulp), the ref path from
 * libm in double; sigmoid(x) and sigmoid(-x) are then 1/(1+e) and e/(1+e) in double, so the only error is e's
 * (bound derived and asserted in test/native/eltwise.test.ts). Where e underflows float32 (|x| > 103) it is 0 on
 * the SIMD paths, so an infinite dy there gives NaN (Infinity * 0) where the reference gives +-Infinity. gelu's
 * derivative Phi(x) + x phi(x) is evaluated in float32 on the SIMD paths (Phi below |x| = sqrt 2 from a double
 * series): within ulp + 8 eps32 |dy| (Phi + |x| phi) + 4 2^-149 |dy| (1 + |x|); bit-identical formula on the ref path.
 *
 * Tiles: x64 = 4 x 16 lanes (AVX-512), x32 = 4 x 8 (AVX2), x16 = 4 x 4 (NEON), x1 = plain loops.
 */
#ifndef NODEGRAD_ELTWISE_H
#define NODEGRAD_ELTWISE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Unary op codes; the addon exports them as unaryOpCodes so TypeScript never repeats them. */
typedef enum ng_unary_op {
  NG_UNARY_RELU = 0,       /* max(x, 0): NaN stays NaN, -0 gives +0 (Math.max) */
  NG_UNARY_SIGMOID = 1,    /* 1 / (1 + e^-x), e^x / (1 + e^x) below 0 */
  NG_UNARY_TANH = 2,
  NG_UNARY_EXP = 3,
  NG_UNARY_LOG = 4,
  NG_UNARY_SQRT = 5,
  NG_UNARY_SQUARE = 6,
  NG_UNARY_NEG = 7,
  NG_UNARY_ABS = 8,
  NG_UNARY_LEAKY_RELU = 9, /* x > 0 ? x : alpha * x (product in double) */
  NG_UNARY_ELU = 10,       /* x > 0 ? x : alpha * expm1(x) */
  NG_UNARY_RELU6 = 11,     /* min(max(x, 0), 6): NaN stays NaN, -0 gives +0 */
  NG_UNARY_SELU = 12,      /* scale * (x > 0 ? x : alpha_selu * expm1(x)) */
  NG_UNARY_SOFTPLUS = 13,  /* log1p(e^-|x|) + max(x, 0) */
  NG_UNARY_SOFTSIGN = 14,  /* x / (1 + |x|) (in double) */
  NG_UNARY_GELU = 15,      /* 0.5 x erfc(-x / sqrt 2) (exact gelu; NaN at -Infinity, as the reference) */
  NG_UNARY_SILU = 16,      /* x * sigmoid(x) (NaN at -Infinity) */
  NG_UNARY_HARD_SIGMOID = 17, /* max(0, min(1, 0.2 x + 0.5)) (in double) */
  NG_UNARY_LOG_SIGMOID = 18,  /* min(x, 0) - log1p(e^-|x|) */
  NG_UNARY_OP_COUNT = 19
} ng_unary_op;

/*
 * Unary gradient op codes (unaryGradF32, exported as unaryGradOpCodes): dx = dy * f'(x) from x, y = f(x) and dy,
 * as src/backends/reference/elementwise.ts defines them (subgradient 0 at relu/relu6/hardSigmoid kinks, the
 * x <= 0 branch of leakyRelu/elu/selu at 0; a NaN x fails every comparison).
 */
typedef enum ng_unary_grad_op {
  NG_UNARY_GRAD_RELU = 0,         /* x > 0 ? dy : 0 */
  NG_UNARY_GRAD_RELU6 = 1,        /* 0 < x < 6 ? dy : 0 */
  NG_UNARY_GRAD_LEAKY_RELU = 2,   /* x > 0 ? dy : alpha dy */
  NG_UNARY_GRAD_ELU = 3,          /* x > 0 ? dy : dy (y + alpha) */
  NG_UNARY_GRAD_SELU = 4,         /* x > 0 ? scale dy : dy (y + scale alpha) */
  NG_UNARY_GRAD_HARD_SIGMOID = 5, /* -2.5 < x < 2.5 ? 0.2 dy : 0 */
  NG_UNARY_GRAD_SIGMOID = 6,      /* dy (y (1 - y)) */
  NG_UNARY_GRAD_TANH = 7,         /* dy (1 - y y) */
  NG_UNARY_GRAD_SOFTSIGN = 8,     /* dy / ((1 + |x|) (1 + |x|)) */
  NG_UNARY_GRAD_SOFTPLUS = 9,     /* dy sigmoid(x) */
  NG_UNARY_GRAD_LOG_SIGMOID = 10, /* dy sigmoid(-x) */
  NG_UNARY_GRAD_SILU = 11,        /* dy (sigmoid(x) (1 + x sigmoid(-x))) */
  NG_UNARY_GRAD_GELU = 12,        /* dy (Phi(x) + x phi(x)), Phi(x) = erfc(-x / sqrt 2) / 2, phi = Phi' */
  NG_UNARY_GRAD_OP_COUNT = 13
} ng_unary_grad_op;

/* Reduction op codes (reduceF32). */
typedef enum ng_reduce_op {
  NG_REDUCE_SUM = 0,
  NG_REDUCE_MEAN = 1,
  NG_REDUCE_MAX = 2, /* NaN propagates, +0 > -0 (Math.max) */
  NG_REDUCE_MIN = 3,
  NG_REDUCE_OP_COUNT = 4
} ng_reduce_op;

/* y[i] = op(x[i]) for i < n; y may be x itself. alpha: the leakyRelu slope or the elu alpha (double, as given). */
typedef void (*ng_f32_unary_fn)(int op, const float* x, float* y, size_t n, double alpha);
/* dx[i] = dy[i] * op'(x[i]) (ng_unary_grad_op) using y[i] = op(x[i]); dx may be x, y or dy itself. alpha as unary's. */
typedef void (*ng_f32_unary_grad_fn)(int op, const float* x, const float* y, const float* dy, float* dx, size_t n,
                                     double alpha);
/* y[i] = exp(x[i] - shift) (the SIMD paths subtract in float); returns the sum of those values in double. y may be NULL. */
typedef double (*ng_f32_expsum_fn)(const float* x, float* y, size_t n, float shift);
/* y[i] = (x[i] - a) - b; y may be x itself. */
typedef void (*ng_f32_sub2_fn)(const float* x, float* y, size_t n, float a, float b);
/* acc[j] += sum over r < rows of x[r * ld + j] for j < cols (ld >= cols), in double. */
typedef void (*ng_f32_colsum_fn)(const float* x, size_t ld, size_t rows, size_t cols, double* acc);
/* acc[j] = max (is_min: min) of acc[j] and every x[r * ld + j], with Math.max / Math.min semantics. */
typedef void (*ng_f32_colmax_fn)(const float* x, size_t ld, size_t rows, size_t cols, float* acc, int is_min);
/* Sum of x[0..n) in double (0 for n == 0). */
typedef double (*ng_f32_sum_fn)(const float* x, size_t n);
/* Math.max (is_min: Math.min) over x[0..n): -Infinity (+Infinity) for n == 0. */
typedef float (*ng_f32_max_fn)(const float* x, size_t n, int is_min);

#define NG_ELTWISE_KERNELS(ISA, T)                                                                   \
  void ng_f32_unary_##T##_##ISA(int op, const float* x, float* y, size_t n, double alpha);           \
  void ng_f32_unary_grad_##T##_##ISA(int op, const float* x, const float* y, const float* dy, float* dx, \
                                     size_t n, double alpha);                                        \
  double ng_f32_expsum_##T##_##ISA(const float* x, float* y, size_t n, float shift);                 \
  void ng_f32_sub2_##T##_##ISA(const float* x, float* y, size_t n, float a, float b);                \
  void ng_f32_colsum_##T##_##ISA(const float* x, size_t ld, size_t rows, size_t cols, double* acc);  \
  void ng_f32_colmax_##T##_##ISA(const float* x, size_t ld, size_t rows, size_t cols, float* acc,    \
                                 int is_min);                                                        \
  double ng_f32_sum_##T##_##ISA(const float* x, size_t n);                                           \
  float ng_f32_max_##T##_##ISA(const float* x, size_t n, int is_min);

/* Plain loops and libm in double, every target (the scalar path). */
NG_ELTWISE_KERNELS(ref, x1)
/* AVX2 + FMA, x86-64 builds only. */
NG_ELTWISE_KERNELS(avx2, x32)
/* AVX-512 F/DQ/BW/VL, x86-64 builds only. */
NG_ELTWISE_KERNELS(avx512, x64)
/* AArch64 NEON, arm64 builds only. */
NG_ELTWISE_KERNELS(neon, x16)

/* The elementwise kernels of the ISA path dispatch/ chose (native/runtime/eltwise.cc). */
typedef struct ng_eltwise_kernels {
  ng_f32_unary_fn unary;
  ng_f32_expsum_fn expsum;
  ng_f32_sub2_fn sub2;
  ng_f32_colsum_fn colsum;
  ng_f32_colmax_fn colmax;
  ng_f32_sum_fn sum;
  ng_f32_max_fn max;
  const char* unary_name;
  const char* reduce_name; /* the colsum kernel's name */
  ng_f32_unary_grad_fn unary_grad;
  const char* unary_grad_name;
} ng_eltwise_kernels;

const ng_eltwise_kernels* ng_eltwise_kernels_get(void);

#ifdef __cplusplus
}
#endif

#endif /* NODEGRAD_ELTWISE_H */
