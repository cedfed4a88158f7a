/*
 * Global max pooling over the rows of one image x [H*W, C], plain loops (tile c1): the first maximum of each
 * channel and its row (first NaN wins, as the reference). Rows are the outer loop so each is read contiguously.
 * Global average pooling uses the colsum kernel.
 */
#include "nodegrad/pool.h"

// true when v replaces the running maximum m: larger, or the first NaN (reference pool.ts `beats`).
static int beats(float v, float m) { return (v > m) | ((v != v) & (m == m)); }  // no short circuit: vectorisable

extern "C" void ng_f32_gmaxpool_c1_ref(const float* x, size_t rows, size_t c, float* y, int32_t* arg) {
  for (size_t ch = 0; ch < c; ++ch) {
    y[ch] = x[ch];
    if (arg) arg[ch] = 0;
  }
  for (size_t r = 1; r < rows; ++r) {
    const float* p = x + r * c;
    for (size_t ch = 0; ch < c; ++ch) {
      if (beats(p[ch], y[ch])) {
        y[ch] = p[ch];
        if (arg) arg[ch] = (int32_t)r;
      }
    }
  }
}
