/*
 * SGEMM for AVX2 + FMA (Haswell and later, Zen): micro-kernel ng_sgemm_ukernel_6x16_avx2 and its packers.
 *
 * Tile 6x16: 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of 16 registers; 12 independent FMA
 * chains cover 2 FMA pipes x 5-cycle latency (Haswell) or 2 x 4 (Skylake, Zen). The classic BLIS/OpenBLAS
 * Haswell shape. Edge tiles pick 6 or 4 rows and one or two column vectors, and store through maskstore.
 * Packing transposes 8x8 blocks in registers where op(A) / op(B) are read across rows.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "nodegrad/sgemm.h"

// Kernel helpers must inline into their caller so the accumulators stay in registers.
#if defined(_MSC_VER) && !defined(__clang__)
#define NG_SGEMM_INLINE __forceinline
#else
#define NG_SGEMM_INLINE inline __attribute__((always_inline))
#endif

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

// Lanes [0, n) set (n clamped to 8), as a maskload/maskstore mask.
inline __m256i LaneMask(size_t n) {
  const int k = n >= 8 ? 8 : static_cast<int>(n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// DIRECT: pa is unpacked row-major A (element (i, p) at pa[i*lda + p], all ROWS rows readable), addressed
// from one base with the index registers lda, 3*lda and 5*lda; otherwise a packed micro-panel.
template <int ROWS, int NV, bool DIRECT = false>
NG_SGEMM_INLINE void Tile(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr, size_t nr,
                          const ng_sgemm_epilogue* ep, size_t lda = 0) {
  __m256 acc[ROWS][NV];
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_setzero_ps();

  // Bring C's rows toward L1 while the k loop runs.
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
    if (static_cast<size_t>(i) < mr) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 8 * NV - 1), _MM_HINT_T0);
    }
  }

  const size_t l1 = lda, l3 = 3 * lda, l5 = 5 * lda;
#pragma GCC unroll 4
  for (size_t p = 0; p < kc; ++p) {
    __m256 b[NV];
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) b[j] = _mm256_load_ps(pb + 8 * j);
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
      const size_t off = !DIRECT ? static_cast<size_t>(i)
                         : i == 0 ? 0 : i == 1 ? l1 : i == 2 ? 2 * l1 : i == 3 ? l3 : i == 4 ? 4 * l1 : l5;
      const __m256 a = _mm256_broadcast_ss(pa + off);
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_fmadd_ps(a, b[j], acc[i][j]);
    }
    pa += DIRECT ? 1 : kMR;
    pb += kNR;
  }

  __m256i mask[NV];
  __m256 bias[NV];
#pragma GCC unroll 2
  for (int j = 0; j < NV; ++j) {
    const size_t col = static_cast<size_t>(8 * j);
    mask[j] = LaneMask(nr > col ? nr - col : 0);
    bias[j] = ep->bias != nullptr ? _mm256_maskload_ps(ep->bias + col, mask[j]) : _mm256_setzero_ps();
  }
  const __m256 alpha = _mm256_set1_ps(ep->alpha);
  const __m256 beta = _mm256_set1_ps(ep->beta);
  const bool scale = ep->alpha != 1.0f, read_c = ep->beta != 0.0f, add_bias = ep->bias != nullptr;
  const bool relu = ep->relu != 0;
  const bool full = nr >= static_cast<size_t>(8 * NV);
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
    if (static_cast<size_t>(i) >= mr) break;
    float* crow = c + i * ldc;
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      __m256 v = acc[i][j];
      if (scale) v = _mm256_mul_ps(v, alpha);
      if (read_c) {
        const __m256 cv = full ? _mm256_loadu_ps(crow + 8 * j) : _mm256_maskload_ps(crow + 8 * j, mask[j]);
        v = _mm256_fmadd_ps(beta, cv, v);
      }
      if (add_bias) v = _mm256_add_ps(v, bias[j]);
      // max(0, v) returns its second operand when v is NaN or +-0, as the reference's `if (v < 0) v = 0`.
      if (relu) v = _mm256_max_ps(zero, v);
      if (full) _mm256_storeu_ps(crow + 8 * j, v);
      else _mm256_maskstore_ps(crow + 8 * j, mask[j], v);
    }
  }
}

// In-register transpose of 8 rows of 8 floats.
NG_SGEMM_INLINE void Transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Reads a rows x kc block (row i at src + i*ld, contiguous along k; rows <= 8) and writes it k-major:
// dst[p*dst_stride + i] for i < width (rows >= `rows` as zeros). width <= 8.
void PackTransposed(size_t rows, size_t width, size_t kc, const float* src, size_t ld, float* dst, size_t dst_stride) {
  const __m256i wmask = LaneMask(width);
  size_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    __m256 r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) r[i] = static_cast<size_t>(i) < rows ? _mm256_loadu_ps(src + i * ld + p) : _mm256_setzero_ps();
    Transpose8x8(r);
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) _mm256_maskstore_ps(dst + (p + t) * dst_stride, wmask, r[t]);
  }
  if (p < kc) {
    const size_t rem = kc - p;
    const __m256i kmask = LaneMask(rem);
    __m256 r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      r[i] = static_cast<size_t>(i) < rows ? _mm256_maskload_ps(src + i * ld + p, kmask) : _mm256_setzero_ps();
    }
    Transpose8x8(r);
    for (size_t t = 0; t < rem; ++t) _mm256_maskstore_ps(dst + (p + t) * dst_stride, wmask, r[t]);
  }
}

}  // namespace

extern "C" void ng_sgemm_ukernel_6x16_avx2(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr,
                                           size_t nr, const ng_sgemm_epilogue* ep) {
  if (nr > 8) {
    if (mr > 4) Tile<6, 2>(kc, pa, pb, c, ldc, mr, nr, ep);
    else Tile<4, 2>(kc, pa, pb, c, ldc, mr, nr, ep);
  } else {
    if (mr > 4) Tile<6, 1>(kc, pa, pb, c, ldc, mr, nr, ep);
    else Tile<4, 1>(kc, pa, pb, c, ldc, mr, nr, ep);
  }
}

extern "C" void ng_sgemm_ukernel_direct_6x16_avx2(size_t kc, const float* a, size_t lda, const float* pb, float* c,
                                                  size_t ldc, size_t nr, const ng_sgemm_epilogue* ep) {
  if (nr > 8) Tile<6, 2, true>(kc, a, pb, c, ldc, kMR, nr, ep, lda);
  else Tile<6, 1, true>(kc, a, pb, c, ldc, kMR, nr, ep, lda);
}

extern "C" void ng_sgemm_pack_a_6_avx2(size_t mc, size_t kc, const float* a, size_t lda, int trans, float* pa) {
  for (size_t i0 = 0; i0 < mc; i0 += kMR) {
    const size_t rows = mc - i0 < static_cast<size_t>(kMR) ? mc - i0 : kMR;
    float* dst = pa + i0 * kc;
    if (trans) {
      // op(A) column p is A's row p: 6 contiguous floats per k step.
      const __m256i m = LaneMask(rows), six = LaneMask(kMR);
      const float* src = a + i0;
      for (size_t p = 0; p < kc; ++p) _mm256_maskstore_ps(dst + p * kMR, six, _mm256_maskload_ps(src + p * lda, m));
    } else {
      PackTransposed(rows, kMR, kc, a + i0 * lda, lda, dst, kMR);
    }
  }
}

extern "C" void ng_sgemm_pack_b_16_avx2(size_t kc, size_t nc, const float* b, size_t ldb, int trans, float* pb) {
  for (size_t j0 = 0; j0 < nc; j0 += kNR) {
    const size_t cols = nc - j0 < static_cast<size_t>(kNR) ? nc - j0 : kNR;
    float* dst = pb + j0 * kc;
    if (trans) {
      // op(B) row p is column p of B (N x K): transpose 8 columns at a time.
      const size_t c0 = cols < 8 ? cols : 8;
      PackTransposed(c0, 8, kc, b + j0 * ldb, ldb, dst, kNR);
      if (cols > 8) {
        PackTransposed(cols - 8, 8, kc, b + (j0 + 8) * ldb, ldb, dst + 8, kNR);
      } else {
        for (size_t p = 0; p < kc; ++p) _mm256_store_ps(dst + p * kNR + 8, _mm256_setzero_ps());
      }
    } else {
      const __m256i m0 = LaneMask(cols), m1 = LaneMask(cols > 8 ? cols - 8 : 0);
      const float* src = b + j0;
      if (cols == static_cast<size_t>(kNR)) {
        for (size_t p = 0; p < kc; ++p) {
          _mm256_store_ps(dst + p * kNR, _mm256_loadu_ps(src + p * ldb));
          _mm256_store_ps(dst + p * kNR + 8, _mm256_loadu_ps(src + p * ldb + 8));
        }
      } else {
        for (size_t p = 0; p < kc; ++p) {
          _mm256_store_ps(dst + p * kNR, _mm256_maskload_ps(src + p * ldb, m0));
          _mm256_store_ps(dst + p * kNR + 8, _mm256_maskload_ps(src + p * ldb + 8, m1));
        }
      }
    }
  }
}
