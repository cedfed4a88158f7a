/*
 * Unary maths and the exp-sum / shift steps of softmax, plain loops (tile x1). Every op is computed in double
 * with libm and rounded once on store, as the reference backend does, so this path matches it to within the
 * double libm's error (well under one float ulp).
 */
#include <math.h>

#include "nodegrad/eltwise.h"

static double sigmoid_d(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  const double e = exp(x);
  return e / (1.0 + e);
}

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
    default:
      break;  // the addon rejects other codes before calling
  }
}

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
