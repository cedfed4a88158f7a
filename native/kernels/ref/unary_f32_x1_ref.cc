/*
 * Unary maths, their gradients and the exp-sum / shift steps of softmax, plain loops (tile x1). Every op is
 * computed in double with libm and rounded once on store, as the reference backend does, so this path matches
 * it to within the double libm's error (well under one float ulp); the gradients without exp are bit-identical.
 * gelu uses libm's erfc where the reference has its own series / continued fraction (both within 1e-14).
 */
#include <math.h>

#include "nodegrad/eltwise.h"

static double sigmoid_d(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  const double e = exp(x);
  return e / (1.0 + e);
}

static const double kSeluAlpha = 1.6732632423543772848170429916717;
static const double kSeluScale = 1.0507009873554804934193349852946;
static const double kSqrt1_2 = 0.70710678118654752440084436210485;
static const double kInvSqrt2Pi = 0.39894228040143267793994605993438;

// log1p(e^-|x|), the stable half of softplus and logSigmoid.
static double log1p_exp_neg_abs(double x) { return log1p(exp(-fabs(x))); }

extern "C" void ng_f32_unary_x1_ref(int op, const float* x, float* y, size_t n, double alpha) {
  switch (op) {
    case NG_UNARY_RELU:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f || x[i] != x[i] ? x[i] : 0.0f;  // NaN stays, -0 -> +0
      break;
    case NG_UNARY_SIGMOID:
      for (size_t i = 0; i < n; ++i) y[i] = (float)sigmoid_d((double)x[i]);
      break;
    case NG_UNARY_TANH:
      for (size_t i = 0; i < n; ++i) y[i] = (float)tanh((double)x[i]);
      break;
    case NG_UNARY_EXP:
      for (size_t i = 0; i < n; ++i) y[i] = (float)exp((double)x[i]);
      break;
    case NG_UNARY_LOG:
      for (size_t i = 0; i < n; ++i) y[i] = (float)log((double)x[i]);
      break;
    case NG_UNARY_SQRT:
      for (size_t i = 0; i < n; ++i) y[i] = sqrtf(x[i]);
      break;
    case NG_UNARY_SQUARE:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] * x[i];
      break;
    case NG_UNARY_NEG:
      for (size_t i = 0; i < n; ++i) y[i] = -x[i];
      break;
    case NG_UNARY_ABS:
      for (size_t i = 0; i < n; ++i) y[i] = fabsf(x[i]);
      break;
    case NG_UNARY_LEAKY_RELU:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : (float)(alpha * (double)x[i]);
      break;
    case NG_UNARY_ELU:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : (float)(alpha * expm1((double)x[i]));
      break;
    case NG_UNARY_RELU6:
      for (size_t i = 0; i < n; ++i) {
        const float r = x[i] > 0.0f || x[i] != x[i] ? x[i] : 0.0f;  // NaN stays, -0 -> +0
        y[i] = r > 6.0f ? 6.0f : r;
      }
      break;
    case NG_UNARY_SELU:
      for (size_t i = 0; i < n; ++i) {
        const double v = (double)x[i];
        y[i] = (float)(kSeluScale * (v > 0 ? v : kSeluAlpha * expm1(v)));
      }
      break;
    case NG_UNARY_SOFTPLUS:
      for (size_t i = 0; i < n; ++i) {
        const double v = (double)x[i];
        y[i] = (float)(log1p_exp_neg_abs(v) + (v > 0 || v != v ? v : 0.0));  // Math.max(x, 0)
      }
      break;
    case NG_UNARY_SOFTSIGN:
      for (size_t i = 0; i < n; ++i) y[i] = (float)((double)x[i] / (1.0 + fabs((double)x[i])));
      break;
    case NG_UNARY_GELU:
      for (size_t i = 0; i < n; ++i) {
        const double v = (double)x[i];
        y[i] = (float)(0.5 * v * erfc(-v * kSqrt1_2));
      }
      break;
    case NG_UNARY_SILU:
      for (size_t i = 0; i < n; ++i) y[i] = (float)((double)x[i] * sigmoid_d((double)x[i]));
      break;
    case NG_UNARY_HARD_SIGMOID:
      for (size_t i = 0; i < n; ++i) {
        const double v = 0.2 * (double)x[i] + 0.5;  // -ffp-contract=off: two roundings, as the reference
        const double r = v < 1.0 || v != v ? v : 1.0;
        y[i] = (float)(r > 0.0 || r != r ? r : 0.0);
      }
      break;
    case NG_UNARY_LOG_SIGMOID:
      for (size_t i = 0; i < n; ++i) {
        const double v = (double)x[i];
        y[i] = (float)((v < 0 || v != v ? v : 0.0) - log1p_exp_neg_abs(v));  // Math.min(x, 0)
      }
      break;
    default:
      break;  // the addon rejects other codes before calling
  }
}

// dx = g op'(x) in double, in the reference's order of operations (src/backends/reference/elementwise.ts).
static const double kSeluScaleAlpha = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;

// sigmoid(x) and sigmoid(-x) from one e = exp(-|x|): 1/(1+e) and e/(1+e), the larger one first when x >= 0.
static void sigmoid_pair(double x, double* s, double* t) {
  const double e = exp(-fabs(x));
  const double r = 1.0 / (1.0 + e);
  const double p = r, q = e * r;
  *s = x >= 0 ? p : q;
  *t = x >= 0 ? q : p;
}

#define NG_REF_GRAD_LOOP(EXPR)                                                                        \
  for (size_t i = 0; i < n; ++i) {                                                                    \
    const double xv = (double)x[i], yv = (double)y[i], g = (double)dy[i];                              \
    (void)xv;                                                                                         \
    (void)yv;                                                                                         \
    dx[i] = (float)(EXPR);                                                                            \
  }

extern "C" void ng_f32_unary_grad_x1_ref(int op, const float* x, const float* y, const float* dy, float* dx,
                                         size_t n, double alpha) {
  switch (op) {
    case NG_UNARY_GRAD_RELU:
      for (size_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case NG_UNARY_GRAD_RELU6:
      for (size_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f && x[i] < 6.0f ? dy[i] : 0.0f;
      break;
    case NG_UNARY_GRAD_LEAKY_RELU:
      NG_REF_GRAD_LOOP(xv > 0 ? g : alpha * g)
      break;
    case NG_UNARY_GRAD_ELU:
      NG_REF_GRAD_LOOP(xv > 0 ? g : g * (yv + alpha))
      break;
    case NG_UNARY_GRAD_SELU:
      NG_REF_GRAD_LOOP(xv > 0 ? g * kSeluScale : g * (yv + kSeluScaleAlpha))
      break;
    case NG_UNARY_GRAD_HARD_SIGMOID:
      NG_REF_GRAD_LOOP(xv > -2.5 && xv < 2.5 ? g * 0.2 : 0.0)
      break;
    case NG_UNARY_GRAD_SIGMOID:
      NG_REF_GRAD_LOOP(g * (yv * (1.0 - yv)))
      break;
    case NG_UNARY_GRAD_TANH:
      NG_REF_GRAD_LOOP(g * (1.0 - yv * yv))
      break;
    case NG_UNARY_GRAD_SOFTSIGN:
      NG_REF_GRAD_LOOP(g / ((1.0 + fabs(xv)) * (1.0 + fabs(xv))))
      break;
    case NG_UNARY_GRAD_SOFTPLUS:
    case NG_UNARY_GRAD_LOG_SIGMOID:
    case NG_UNARY_GRAD_SILU:
      for (size_t i = 0; i < n; ++i) {
        const double xv = (double)x[i], g = (double)dy[i];
        double s, t;
        sigmoid_pair(xv, &s, &t);
        const double d = op == NG_UNARY_GRAD_SOFTPLUS ? s : op == NG_UNARY_GRAD_LOG_SIGMOID ? t : s * (1.0 + xv * t);
        dx[i] = (float)(g * d);
      }
      break;
    case NG_UNARY_GRAD_GELU:
      NG_REF_GRAD_LOOP(g * (0.5 * erfc(-xv * kSqrt1_2) + xv * (kInvSqrt2Pi * exp(-0.5 * xv * xv))))
      break;
    default:
      break;  // the addon rejects other codes before calling
  }
}

#undef NG_REF_GRAD_LOOP

extern "C" double ng_f32_expsum_x1_ref(const float* x, float* y, size_t n, float shift) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const float e = (float)exp((double)x[i] - (double)shift);  // exact difference, as the reference
    if (y) y[i] = e;
    s += (double)e;
  }
  return s;
}

extern "C" void ng_f32_sub2_x1_ref(const float* x, float* y, size_t n, float a, float b) {
  for (size_t i = 0; i < n; ++i) y[i] = (x[i] - a) - b;
}
