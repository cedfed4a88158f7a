/*
 * SGEMM reduction-major tile for AVX-512 F: ng_sgemm_ukernel_tn_8x48_avx512 (nodegrad/sgemm.h), both operands
 * read in place, for long-K products with a small output such as the backward filter's X^T dY.
 *
 * Tile 8x48: 24 zmm accumulators + 3 b vectors + 1 broadcast = 28 registers; per k step 3 vector loads (one
 * 192-byte run of b's row) and 8 broadcasts (one 32-byte run of a's row) feed 24 FMAs. No packing: for these
 * shapes each element of the long operand feeds only a few tiles, so the packed path's copy of it cost ~25% of
 * its time (perf, x [25088, 256] and dy [25088, 64]). In a standalone copy of the loop on that shape, 8x48 led
 * 12x32 and 4x96 by ~5%, 8x32, 4x64, 16x16 and a 7x64 tile broadcasting x instead of dy by 10-20%.
 * Rows below 8 run as 4-, 2- and 1-row passes (a row past mr may lie past the end of a); the first and last b
 * vectors are loaded and stored with opmasks, the first one also masking the skew lanes.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "nodegrad/sgemm.h"

// gcc 12 flags the _mm512_undefined_ps() placeholder inside its own intrinsic headers (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// Kernel helpers must inline into their caller so the accumulators stay in registers.
#if defined(_MSC_VER) && !defined(__clang__)
#define NG_SGEMM_INLINE __forceinline
#else
#define NG_SGEMM_INLINE inline __attribute__((always_inline))
#endif

namespace {

constexpr size_t kMR = 8;  // NR = 48: three vectors, picked from skew + nr in Rows

inline __mmask16 LaneMask(size_t n) { return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u); }

// p - n floats, through an integer so that a start before the array is not pointer arithmetic out of bounds
// (the lanes there are masked off, never read or written).
template <class T>
inline T* Back(T* p, size_t n) {
  return reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(p) - n * sizeof(float));
}

template <int R, int V>
NG_SGEMM_INLINE void Step(const float* a, const float* b, __mmask16 first, __mmask16 last, __m512 (&acc)[R][V]) {
  __m512 bv[V];
#pragma GCC unroll 3
  for (int j = 0; j < V; ++j) {
    if (j == 0) bv[j] = _mm512_maskz_loadu_ps(first, b);
    else if (j == V - 1) bv[j] = _mm512_maskz_loadu_ps(last, b + 16 * j);
    else bv[j] = _mm512_loadu_ps(b + 16 * j);
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    const __m512 av = _mm512_set1_ps(a[i]);
#pragma GCC unroll 3
    for (int j = 0; j < V; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
  }
}

// R rows x V vectors over kc steps; b and c already moved back by skew, lanes [skew, skew + nr) live.
template <int R, int V>
NG_SGEMM_INLINE void Tile(size_t kc, const float* a, size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                          size_t nr, size_t skew, int accumulate, const char* pf, size_t npf) {
  __m512 acc[R][V];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 3
    for (int j = 0; j < V; ++j) acc[i][j] = _mm512_setzero_ps();
  const __mmask16 last = LaneMask(skew + nr - 16 * (V - 1));
  const __mmask16 first = static_cast<__mmask16>((0xFFFFu << skew) & (V == 1 ? last : 0xFFFFu));
  // The first min(npf, kc) steps also issue one prefetch each (spread out, so they do not queue up at once).
  const size_t kp = npf < kc ? npf : kc;
  size_t p = 0;
#pragma GCC unroll 2
  for (; p < kp; ++p) {
    Step<R, V>(a, b, first, last, acc);
    _mm_prefetch(pf, _MM_HINT_T1);
    pf += 64;
    a += lda;
    b += ldb;
  }
#pragma GCC unroll 2
  for (; p < kc; ++p) {
    Step<R, V>(a, b, first, last, acc);
    a += lda;
    b += ldb;
  }
  for (size_t q = kp; q < npf; ++q, pf += 64) _mm_prefetch(pf, _MM_HINT_T1);
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
#pragma GCC unroll 3
    for (int j = 0; j < V; ++j) {
      float* cp = c + i * ldc + 16 * j;
      const __mmask16 m = j == 0 ? first : j == V - 1 ? last : static_cast<__mmask16>(0xFFFF);
      const __m512 v = accumulate ? _mm512_add_ps(acc[i][j], _mm512_maskz_loadu_ps(m, cp)) : acc[i][j];
      _mm512_mask_storeu_ps(cp, m, v);
    }
  }
}

template <int R>
NG_SGEMM_INLINE void Rows(size_t kc, const float* a, size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                          size_t nr, size_t skew, int accumulate, const char* pf, size_t npf) {
  const size_t w = skew + nr;
  if (w > 32) Tile<R, 3>(kc, a, lda, b, ldb, c, ldc, nr, skew, accumulate, pf, npf);
  else if (w > 16) Tile<R, 2>(kc, a, lda, b, ldb, c, ldc, nr, skew, accumulate, pf, npf);
  else Tile<R, 1>(kc, a, lda, b, ldb, c, ldc, nr, skew, accumulate, pf, npf);
}

}  // namespace

extern "C" void ng_sgemm_ukernel_tn_8x48_avx512(size_t kc, const float* a, size_t lda, const float* b, size_t ldb,
                                                float* c, size_t ldc, size_t mr, size_t nr, size_t skew,
                                                int accumulate, const char* pf, size_t npf) {
  b = Back(b, skew);
  c = Back(c, skew);
  if (mr >= kMR) {
    Rows<8>(kc, a, lda, b, ldb, c, ldc, nr, skew, accumulate, pf, npf);
    return;
  }
  // Short tiles (the last rows): 4-, 2- and 1-row passes; the prefetches go with the first pass.
  size_t i = 0;
  if (mr - i >= 4) {
    Rows<4>(kc, a + i, lda, b, ldb, c + i * ldc, ldc, nr, skew, accumulate, pf, npf);
    i += 4;
    npf = 0;
  }
  if (mr - i >= 2) {
    Rows<2>(kc, a + i, lda, b, ldb, c + i * ldc, ldc, nr, skew, accumulate, pf, npf);
    i += 2;
    npf = 0;
  }
  if (mr - i >= 1) Rows<1>(kc, a + i, lda, b, ldb, c + i * ldc, ldc, nr, skew, accumulate, pf, npf);
}
