/*
 * Global max pooling for AVX-512F (tile c64: 4 x 16 channels per step over all rows, single vectors, then an
 * opmask-predicated tail): per channel, the first maximum over the rows of x [rows, c] (first NaN wins) and,
 * when asked, its row for the backward. Built only into nodegrad_avx512; static helpers only (see kernels.h).
 */
#include <immintrin.h>

#include "nodegrad/pool.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

// Lanes where v replaces the running maximum m: v > m, or v is NaN while m is not (reference `beats`).
NG_FORCE_INLINE __mmask16 beats(__m512 v, __m512 m) {
  return _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(m, m, _CMP_ORD_Q), v, m, _CMP_NLE_UQ);
}
NG_FORCE_INLINE __mmask16 lane_mask(int v, int nv, __mmask16 tail) { return v == nv - 1 ? tail : (__mmask16)0xFFFF; }

NG_FORCE_INLINE void gmax_block(const float* x, size_t rows, size_t c, float* y, int32_t* arg, int nv, __mmask16 tail) {
  __m512 m[4];
  __m512i a[4];
  for (int v = 0; v < nv; ++v) {
    m[v] = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), x + 16 * v);
    a[v] = _mm512_setzero_si512();
  }
  for (size_t r = 1; r < rows; ++r) {
    const float* q = x + r * c;
    const __m512i rv = _mm512_set1_epi32((int)r);
    for (int v = 0; v < nv; ++v) {
      const __m512 xv = _mm512_maskz_loadu_ps(lane_mask(v, nv, tail), q + 16 * v);
      const __mmask16 b = beats(xv, m[v]);
      m[v] = _mm512_mask_mov_ps(m[v], b, xv);
      a[v] = _mm512_mask_mov_epi32(a[v], b, rv);
    }
  }
  for (int v = 0; v < nv; ++v) {
    _mm512_mask_storeu_ps(y + 16 * v, lane_mask(v, nv, tail), m[v]);
    if (arg) _mm512_mask_storeu_epi32(arg + 16 * v, lane_mask(v, nv, tail), a[v]);
  }
}

extern "C" void ng_f32_gmaxpool_c64_avx512(const float* x, size_t rows, size_t c, float* y, int32_t* arg) {
  size_t ch = 0;
  for (; ch + 64 <= c; ch += 64) gmax_block(x + ch, rows, c, y + ch, arg ? arg + ch : 0, 4, 0xFFFF);
  for (; ch + 16 <= c; ch += 16) gmax_block(x + ch, rows, c, y + ch, arg ? arg + ch : 0, 1, 0xFFFF);
  if (ch < c) gmax_block(x + ch, rows, c, y + ch, arg ? arg + ch : 0, 1, (__mmask16)((1u << (c - ch)) - 1u));
}
