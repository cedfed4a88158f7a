/*
 * Batch-norm kernels, plain loops (tile c1) over x [rows, c]. Channel sums accumulate in double; the
 * per-channel coefficients come from the driver (native/runtime/norm.cc).
 */
#include "nodegrad/norm.h"

extern "C" void ng_f32_bn_stats_c1_ref(const float* x, size_t ld, size_t rows, size_t c, const float* shift,
                                       double* s1, double* s2) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    for (size_t ch = 0; ch < c; ++ch) {
      const double d = (double)xr[ch] - (double)shift[ch];  // exact: both are floats
      s1[ch] += d;
      s2[ch] += d * d;
    }
  }
}

extern "C" void ng_f32_bn_apply_c1_ref(const float* x, float* y, size_t rows, size_t c, const float* mean_hi,
                                       const float* mean_lo, const float* scale, const float* bias) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    for (size_t ch = 0; ch < c; ++ch) yr[ch] = ((xr[ch] - mean_hi[ch]) - mean_lo[ch]) * scale[ch] + bias[ch];
  }
}

extern "C" void ng_f32_bn_bwd_reduce_c1_ref(const float* dy, const float* x, size_t ld, size_t rows, size_t c,
                                            const float* mean, double* sdy, double* sdyx) {
  for (size_t r = 0; r < rows; ++r) {
    const float* dr = dy + r * ld;
    const float* xr = x + r * ld;
    for (size_t ch = 0; ch < c; ++ch) {
      sdy[ch] += (double)dr[ch];
      sdyx[ch] += (double)(dr[ch] * (xr[ch] - mean[ch]));
    }
  }
}

extern "C" void ng_f32_bn_bwd_apply_c1_ref(const float* dy, const float* x, float* dx, size_t rows, size_t c,
                                           const float* mean, const float* a, const float* b, const float* k) {
  for (size_t r = 0; r < rows; ++r) {
    const float* dr = dy + r * c;
    float* o = dx + r * c;
    if (b == NULL) {
      for (size_t ch = 0; ch < c; ++ch) o[ch] = a[ch] * dr[ch];
      continue;
    }
    const float* xr = x + r * c;
    for (size_t ch = 0; ch < c; ++ch) o[ch] = a[ch] * dr[ch] - (b[ch] * (xr[ch] - mean[ch]) + k[ch]);
  }
}
