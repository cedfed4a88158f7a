/*
 * Global max pooling for AVX2 (tile c32: 4 x 8 channels per step over all rows, single vectors, then a
 * maskload/maskstore tail): per channel, the first maximum over the rows (first NaN wins) and its row.
 * Built only into nodegrad_avx2; plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <immintrin.h>

#include "nodegrad/pool.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE __m256 beats(__m256 v, __m256 m) {
  return _mm256_and_ps(_mm256_cmp_ps(v, m, _CMP_NLE_UQ), _mm256_cmp_ps(m, m, _CMP_ORD_Q));
}
// Loads/stores vector v of nv; only the last one of a channel tail (tail != NULL) is masked, so full vectors
// stay plain loads and stores once inlined.
NG_FORCE_INLINE __m256 ld(const float* p, int v, int nv, const __m256i* tail) {
  return (tail && v == nv - 1) ? _mm256_maskload_ps(p, *tail) : _mm256_loadu_ps(p);
}
NG_FORCE_INLINE void st(float* p, int v, int nv, const __m256i* tail, __m256 x) {
  if (tail && v == nv - 1) _mm256_maskstore_ps(p, *tail, x);
  else _mm256_storeu_ps(p, x);
}

NG_FORCE_INLINE void gmax_block(const float* x, size_t rows, size_t c, float* y, int32_t* arg, int nv, const __m256i* tail) {
  __m256 m[4], a[4];
  for (int v = 0; v < nv; ++v) {
    m[v] = ld(x + 8 * v, v, nv, tail);
    a[v] = _mm256_setzero_ps();
  }
  for (size_t r = 1; r < rows; ++r) {
    const float* q = x + r * c;
    const __m256 rv = _mm256_castsi256_ps(_mm256_set1_epi32((int)r));
    for (int v = 0; v < nv; ++v) {
      const __m256 xv = ld(q + 8 * v, v, nv, tail);
      const __m256 b = beats(xv, m[v]);
      m[v] = _mm256_blendv_ps(m[v], xv, b);
      a[v] = _mm256_blendv_ps(a[v], rv, b);
    }
  }
  for (int v = 0; v < nv; ++v) {
    st(y + 8 * v, v, nv, tail, m[v]);
    if (arg) st(reinterpret_cast<float*>(arg) + 8 * v, v, nv, tail, a[v]);  // int32 bits, stored as they are
  }
}

extern "C" void ng_f32_gmaxpool_c32_avx2(const float* x, size_t rows, size_t c, float* y, int32_t* arg) {
  size_t ch = 0;
  for (; ch + 32 <= c; ch += 32) gmax_block(x + ch, rows, c, y + ch, arg ? arg + ch : 0, 4, 0);
  for (; ch + 8 <= c; ch += 8) gmax_block(x + ch, rows, c, y + ch, arg ? arg + ch : 0, 1, 0);
  if (ch < c) {
    const __m256i tl = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(c - ch)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    gmax_block(x + ch, rows, c, y + ch, arg ? arg + ch : 0, 1, &tl);
  }
}
