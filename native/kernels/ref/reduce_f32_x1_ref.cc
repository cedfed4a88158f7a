/*
 * Reductions, plain loops (tile x1): column sums in double, Math.max / Math.min (NaN propagates, +0 > -0)
 * over columns or a run, and the double sum of a run.
 */
#include <math.h>

#include "nodegrad/eltwise.h"

// Math.max(a, b) (is_min: Math.min): NaN if either is NaN; of two zeros, max is +0 unless both are -0.
static float js_max(float a, float b, int is_min) {
  if (a != a || b != b) return a + b;  // a NaN
  if (a == b) return is_min ? (signbit(a) ? a : b) : (signbit(a) ? b : a);
  return is_min ? (a < b ? a : b) : (a > b ? a : b);
}

extern "C" void ng_f32_colsum_x1_ref(const float* x, size_t ld, size_t rows, size_t cols, double* acc) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    for (size_t j = 0; j < cols; ++j) acc[j] += (double)xr[j];
  }
}

extern "C" void ng_f32_colmax_x1_ref(const float* x, size_t ld, size_t rows, size_t cols, float* acc, int is_min) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    for (size_t j = 0; j < cols; ++j) acc[j] = js_max(acc[j], xr[j], is_min);
  }
}

extern "C" double ng_f32_sum_x1_ref(const float* x, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += (double)x[i];
  return s;
}

extern "C" float ng_f32_max_x1_ref(const float* x, size_t n, int is_min) {
  float m = is_min ? INFINITY : -INFINITY;
  for (size_t i = 0; i < n; ++i) m = js_max(m, x[i], is_min);
  return m;
}
