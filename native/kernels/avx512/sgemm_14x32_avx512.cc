/*
 * SGEMM for AVX-512 F: micro-kernel ng_sgemm_ukernel_14x32_avx512 and its packing routines.
 *
 * Tile 14x32: 28 zmm accumulators + 2 B vectors + 1 broadcast A = 31 of 32 registers; per k step 2 vector
 * loads and 14 broadcasts feed 28 FMAs, well inside two loads per cycle. Chosen by measurement against 12x32,
 * 8x48, 7x64 and 6x64 on a 2-core AVX-512 Xeon: in the full blocked driver 6x64 was within 2% (noise) on
 * 1024^3 and 2048^3, but would run narrow outputs (conv Cout 16/32) on 6 or 12 FMA chains, while 14x32
 * keeps 14 independent chains even on its 14x16 half tile.
 * Edge tiles: panels are zero-padded by the packers; the kernel picks a shorter row count (14, 8, 4) and
 * one or two column vectors from (mr, nr), and stores with opmasks.
 * Packing transposes 16x16 blocks in registers (A not transposed, B transposed) or copies rows with masked
 * loads (A transposed, B not transposed).
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

constexpr int kMR = 14;
constexpr int kNR = 32;

inline __mmask16 LaneMask(size_t n) { return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u); }

// Accumulates ROWS x (16*NV) of the tile over kc steps, then applies the epilogue to rows < mr.
// DIRECT: pa is unpacked row-major A (element (i, p) at pa[i*lda + p], all ROWS rows readable); otherwise a
// packed micro-panel (lda unused). Direct rows are addressed from two bases (rows 0-6 and 7-13) with the
// index registers lda, 3*lda and 5*lda scaled by 1, 2 or 4, so 14 rows need 5 general registers, not 14.
template <int ROWS, int NV, bool DIRECT = false>
NG_SGEMM_INLINE void Tile(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr, size_t nr,
                          const ng_sgemm_epilogue* ep, size_t lda = 0) {
  __m512 acc[ROWS][NV];
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_ps();

  // Bring C's rows toward L1 while the k loop runs (the epilogue would otherwise stall on them).
  if (ep->beta != 0.0f) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      if (static_cast<size_t>(i) < mr) {
        _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * NV - 1), _MM_HINT_T0);
      }
    }
  }

  if (DIRECT) {
    const float* a0 = pa;
    const float* a7 = pa + 7 * lda;
    const size_t l1 = lda, l3 = 3 * lda, l5 = 5 * lda;
#pragma GCC unroll 4
    for (size_t p = 0; p < kc; ++p) {
      __m512 b[NV];
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) b[j] = _mm512_load_ps(pb + 16 * j);
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) {
        const float* base = i < 7 ? a0 : a7;
        const int r = i % 7;
        const size_t off = r == 0 ? 0 : r == 1 ? l1 : r == 2 ? 2 * l1 : r == 3 ? l3 : r == 4 ? 4 * l1 : r == 5 ? l5 : 2 * l3;
        const __m512 a = _mm512_set1_ps(base[off]);
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
      }
      ++a0;
      ++a7;
      pb += kNR;
    }
  } else {
#pragma GCC unroll 4
    for (size_t p = 0; p < kc; ++p) {
      __m512 b[NV];
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) b[j] = _mm512_load_ps(pb + 16 * j);
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) {
        const __m512 a = _mm512_set1_ps(pa[i]);
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
      }
      pa += kMR;
      pb += kNR;
    }
  }

  __mmask16 mask[NV];
#pragma GCC unroll 2
  for (int j = 0; j < NV; ++j) {
    const size_t col = static_cast<size_t>(16 * j);
    mask[j] = nr > col ? LaneMask(nr - col) : static_cast<__mmask16>(0);
  }
  // The two epilogues of the driver's K slices before the last: C = T (first, beta 0) and C += T.
  if (ep->alpha == 1.0f && ep->bias == nullptr && ep->relu == 0 && (ep->beta == 0.0f || ep->beta == 1.0f)) {
    if (ep->beta == 0.0f) {
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) {
        if (static_cast<size_t>(i) >= mr) break;
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) _mm512_mask_storeu_ps(c + i * ldc + 16 * j, mask[j], acc[i][j]);
      }
    } else {
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) {
        if (static_cast<size_t>(i) >= mr) break;
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) {
          float* cp = c + i * ldc + 16 * j;
          _mm512_mask_storeu_ps(cp, mask[j], _mm512_add_ps(acc[i][j], _mm512_maskz_loadu_ps(mask[j], cp)));
        }
      }
    }
    return;
  }
  __m512 bias[NV];
#pragma GCC unroll 2
  for (int j = 0; j < NV; ++j) {
    const size_t col = static_cast<size_t>(16 * j);
    bias[j] = ep->bias != nullptr ? _mm512_maskz_loadu_ps(mask[j], ep->bias + col) : _mm512_setzero_ps();
  }
  const __m512 alpha = _mm512_set1_ps(ep->alpha);
  const __m512 beta = _mm512_set1_ps(ep->beta);
  const bool scale = ep->alpha != 1.0f, read_c = ep->beta != 0.0f, add_bias = ep->bias != nullptr;
  const bool relu = ep->relu != 0;
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i) {
    if (static_cast<size_t>(i) >= mr) break;
    float* crow = c + i * ldc;
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      __m512 v = acc[i][j];
      if (scale) v = _mm512_mul_ps(v, alpha);
      if (read_c) v = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(mask[j], crow + 16 * j), v);
      if (add_bias) v = _mm512_add_ps(v, bias[j]);
      // max(0, v) returns its second operand when v is NaN or +-0, as the reference's `if (v < 0) v = 0`.
      if (relu) v = _mm512_max_ps(zero, v);
      _mm512_mask_storeu_ps(crow + 16 * j, mask[j], v);
    }
  }
}

// In-register transpose of 16 rows of 16 floats: r[i][j] -> r[j][i].
NG_SGEMM_INLINE void Transpose16x16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m512d a0 = _mm512_castps_pd(t[4 * i]), a1 = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d a2 = _mm512_castps_pd(t[4 * i + 2]), a3 = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
  // r[4i + k] now holds, in each 128-bit lane L, column (4L + k) of rows 4i..4i+3.
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const __m512 x0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);       // lanes 0,2 of rows 0-3 | 4-7
    const __m512 x1 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xDD);       // lanes 1,3
    const __m512 x2 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    const __m512 x3 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xDD);
    t[k] = _mm512_shuffle_f32x4(x0, x2, 0x88);       // lane 0: column k
    t[8 + k] = _mm512_shuffle_f32x4(x0, x2, 0xDD);   // lane 2: column 8 + k
    t[4 + k] = _mm512_shuffle_f32x4(x1, x3, 0x88);   // lane 1: column 4 + k
    t[12 + k] = _mm512_shuffle_f32x4(x1, x3, 0xDD);  // lane 3: column 12 + k
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Reads a rows x kc block (row i at src + i*ld, contiguous along k) and writes it k-major:
// dst[p*dst_stride + i] for i < width (rows >= `rows` as zeros). width <= 16.
void PackTransposed(size_t rows, size_t width, size_t kc, const float* src, size_t ld, float* dst, size_t dst_stride) {
  const __mmask16 wmask = LaneMask(width);
  size_t p = 0;
  for (; p + 16 <= kc; p += 16) {
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = static_cast<size_t>(i) < rows ? _mm512_loadu_ps(src + i * ld + p) : _mm512_setzero_ps();
    Transpose16x16(r);
#pragma GCC unroll 16
    for (int t = 0; t < 16; ++t) _mm512_mask_storeu_ps(dst + (p + t) * dst_stride, wmask, r[t]);
  }
  if (p < kc) {
    const size_t rem = kc - p;
    const __mmask16 kmask = LaneMask(rem);
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      r[i] = static_cast<size_t>(i) < rows ? _mm512_maskz_loadu_ps(kmask, src + i * ld + p) : _mm512_setzero_ps();
    }
    Transpose16x16(r);
    for (size_t t = 0; t < rem; ++t) _mm512_mask_storeu_ps(dst + (p + t) * dst_stride, wmask, r[t]);
  }
}

}  // namespace

extern "C" void ng_sgemm_ukernel_14x32_avx512(size_t kc, const float* pa, const float* pb, float* c, size_t ldc,
                                              size_t mr, size_t nr, const ng_sgemm_epilogue* ep) {
  // Shorter row counts for M edges and narrow outputs: no FMA is spent on padding beyond the next size up.
  if (nr > 16) {
    if (mr > 8) Tile<14, 2>(kc, pa, pb, c, ldc, mr, nr, ep);
    else if (mr > 4) Tile<8, 2>(kc, pa, pb, c, ldc, mr, nr, ep);
    else Tile<4, 2>(kc, pa, pb, c, ldc, mr, nr, ep);
  } else {
    if (mr > 8) Tile<14, 1>(kc, pa, pb, c, ldc, mr, nr, ep);
    else if (mr > 4) Tile<8, 1>(kc, pa, pb, c, ldc, mr, nr, ep);
    else Tile<4, 1>(kc, pa, pb, c, ldc, mr, nr, ep);
  }
}

extern "C" void ng_sgemm_ukernel_direct_14x32_avx512(size_t kc, const float* a, size_t lda, const float* pb, float* c,
                                                     size_t ldc, size_t nr, const ng_sgemm_epilogue* ep) {
  if (nr > 16) Tile<14, 2, true>(kc, a, pb, c, ldc, kMR, nr, ep, lda);
  else Tile<14, 1, true>(kc, a, pb, c, ldc, kMR, nr, ep, lda);
}

extern "C" void ng_sgemm_pack_a_14_avx512(size_t mc, size_t kc, const float* a, size_t lda, int trans, float* pa) {
  if (trans) {
    // op(A) column p is A's row p: walk A row by row (one sequential stream the hardware prefetcher follows,
    // where panel by panel would stride through kc rows once per panel) and scatter 14 floats per panel.
    const size_t full = mc / kMR * kMR;
    for (size_t p = 0; p < kc; ++p) {
      const float* src = a + p * lda;
      size_t i0 = 0;
      for (; i0 < full; i0 += kMR) _mm512_mask_storeu_ps(pa + i0 * kc + p * kMR, 0x3FFF, _mm512_maskz_loadu_ps(0x3FFF, src + i0));
      if (i0 < mc) _mm512_mask_storeu_ps(pa + i0 * kc + p * kMR, 0x3FFF, _mm512_maskz_loadu_ps(LaneMask(mc - i0), src + i0));
    }
    return;
  }
  for (size_t i0 = 0; i0 < mc; i0 += kMR) {
    const size_t rows = mc - i0 < static_cast<size_t>(kMR) ? mc - i0 : kMR;
    float* dst = pa + i0 * kc;
    if (trans) {
      // op(A) column p is A's row p: 14 contiguous floats per k step.
      const __mmask16 m = LaneMask(rows);
      const float* src = a + i0;
      for (size_t p = 0; p < kc; ++p) _mm512_mask_storeu_ps(dst + p * kMR, 0x3FFF, _mm512_maskz_loadu_ps(m, src + p * lda));
    } else {
      PackTransposed(rows, kMR, kc, a + i0 * lda, lda, dst, kMR);
    }
  }
}

extern "C" void ng_sgemm_pack_b_32_avx512(size_t kc, size_t nc, const float* b, size_t ldb, int trans, float* pb) {
  for (size_t j0 = 0; j0 < nc; j0 += kNR) {
    const size_t cols = nc - j0 < static_cast<size_t>(kNR) ? nc - j0 : kNR;
    float* dst = pb + j0 * kc;
    if (trans) {
      // op(B) row p is column p of B (N x K): transpose 16 columns at a time.
      const size_t c0 = cols < 16 ? cols : 16;
      PackTransposed(c0, 16, kc, b + j0 * ldb, ldb, dst, kNR);
      if (cols > 16) {
        PackTransposed(cols - 16, 16, kc, b + (j0 + 16) * ldb, ldb, dst + 16, kNR);
      } else {
        for (size_t p = 0; p < kc; ++p) _mm512_store_ps(dst + p * kNR + 16, _mm512_setzero_ps());
      }
    } else {
      const __mmask16 m0 = LaneMask(cols), m1 = cols > 16 ? LaneMask(cols - 16) : static_cast<__mmask16>(0);
      const float* src = b + j0;
      for (size_t p = 0; p < kc; ++p) {
        _mm512_store_ps(dst + p * kNR, _mm512_maskz_loadu_ps(m0, src + p * ldb));
        _mm512_store_ps(dst + p * kNR + 16, _mm512_maskz_loadu_ps(m1, src + p * ldb + 16));
      }
    }
  }
}
