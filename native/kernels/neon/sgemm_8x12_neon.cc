/*
 * SGEMM for AArch64 NEON: micro-kernel ng_sgemm_ukernel_8x12_neon and its packing routines.
 *
 * Tile 8x12: 24 q accumulators + 3 B vectors + 2 A vectors (fmla by lane) = 29 of 32 registers; per k step
 * 5 vector loads feed 24 FMAs. The shape of OpenBLAS's and XNNPACK's Cortex-A/Neoverse SGEMM kernels.
 * Edge tiles pick 8 or 4 rows and store partial vectors through a small stack row.
 */
#include <arm_neon.h>
#include <stddef.h>

#include "nodegrad/sgemm.h"

// Kernel helpers must inline into their caller so the accumulators stay in registers.
#if defined(_MSC_VER) && !defined(__clang__)
#define NG_SGEMM_INLINE __forceinline
#else
#define NG_SGEMM_INLINE inline __attribute__((always_inline))
#endif

namespace {

constexpr int kMR = 8;
constexpr int kNR = 12;

inline float32x4_t Finish(float32x4_t v, const float* cptr, size_t lanes, const ng_sgemm_epilogue* ep,
                          float32x4_t bias) {
  if (ep->alpha != 1.0f) v = vmulq_n_f32(v, ep->alpha);
  if (ep->beta != 0.0f) {
    float32x4_t cv;
    if (lanes >= 4) {
      cv = vld1q_f32(cptr);
    } else {
      float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (size_t l = 0; l < lanes; ++l) tmp[l] = cptr[l];
      cv = vld1q_f32(tmp);
    }
    v = vfmaq_n_f32(v, cv, ep->beta);
  }
  if (ep->bias != nullptr) v = vaddq_f32(v, bias);
  // v < 0 -> 0 by compare-and-select, so NaN and -0 pass through as in the reference.
  if (ep->relu) v = vbslq_f32(vcltq_f32(v, vdupq_n_f32(0.0f)), vdupq_n_f32(0.0f), v);
  return v;
}

inline void Store(float* cptr, size_t lanes, float32x4_t v) {
  if (lanes >= 4) {
    vst1q_f32(cptr, v);
  } else {
    float tmp[4];
    vst1q_f32(tmp, v);
    for (size_t l = 0; l < lanes; ++l) cptr[l] = tmp[l];
  }
}

template <int ROWS>
NG_SGEMM_INLINE void Tile(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr, size_t nr,
                          const ng_sgemm_epilogue* ep) {
  float32x4_t acc[ROWS][3];
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j) acc[i][j] = vdupq_n_f32(0.0f);

#pragma GCC unroll 2
  for (size_t p = 0; p < kc; ++p) {
    const float32x4_t b0 = vld1q_f32(pb), b1 = vld1q_f32(pb + 4), b2 = vld1q_f32(pb + 8);
    const float32x4_t a0 = vld1q_f32(pa);
#define NG_ROW(i, av, lane)                                \
  acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, av, lane);    \
  acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, av, lane);    \
  acc[i][2] = vfmaq_laneq_f32(acc[i][2], b2, av, lane);
    NG_ROW(0, a0, 0)
    NG_ROW(1, a0, 1)
    NG_ROW(2, a0, 2)
    NG_ROW(3, a0, 3)
    if constexpr (ROWS > 4) {
      const float32x4_t a1 = vld1q_f32(pa + 4);
      NG_ROW(4, a1, 0)
      NG_ROW(5, a1, 1)
      NG_ROW(6, a1, 2)
      NG_ROW(7, a1, 3)
    }
#undef NG_ROW
    pa += kMR;
    pb += kNR;
  }

  float32x4_t bias[3];
  for (int j = 0; j < 3; ++j) {
    const size_t col = static_cast<size_t>(4 * j);
    bias[j] = vdupq_n_f32(0.0f);
    if (ep->bias != nullptr && nr > col) {
      const size_t lanes = nr - col;
      if (lanes >= 4) {
        bias[j] = vld1q_f32(ep->bias + col);
      } else {
        float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (size_t l = 0; l < lanes; ++l) tmp[l] = ep->bias[col + l];
        bias[j] = vld1q_f32(tmp);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
    if (static_cast<size_t>(i) >= mr) break;
    float* crow = c + i * ldc;
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j) {
      const size_t col = static_cast<size_t>(4 * j);
      if (nr <= col) break;
      const size_t lanes = nr - col;
      Store(crow + col, lanes, Finish(acc[i][j], crow + col, lanes, ep, bias[j]));
    }
  }
}

}  // namespace

extern "C" void ng_sgemm_ukernel_8x12_neon(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr,
                                           size_t nr, const ng_sgemm_epilogue* ep) {
  if (mr > 4) Tile<8>(kc, pa, pb, c, ldc, mr, nr, ep);
  else Tile<4>(kc, pa, pb, c, ldc, mr, nr, ep);
}

extern "C" void ng_sgemm_pack_a_8_neon(size_t mc, size_t kc, const float* a, size_t lda, int trans, float* pa) {
  for (size_t i0 = 0; i0 < mc; i0 += kMR) {
    const size_t rows = mc - i0 < static_cast<size_t>(kMR) ? mc - i0 : kMR;
    float* dst = pa + i0 * kc;
    if (trans && rows == static_cast<size_t>(kMR)) {
      // op(A) column p is A's row p: 8 contiguous floats per k step.
      for (size_t p = 0; p < kc; ++p) {
        vst1q_f32(dst + p * kMR, vld1q_f32(a + p * lda + i0));
        vst1q_f32(dst + p * kMR + 4, vld1q_f32(a + p * lda + i0 + 4));
      }
    } else {
      for (size_t p = 0; p < kc; ++p) {
        for (size_t r = 0; r < static_cast<size_t>(kMR); ++r) {
          dst[p * kMR + r] = r < rows ? (trans ? a[p * lda + i0 + r] : a[(i0 + r) * lda + p]) : 0.0f;
        }
      }
    }
  }
}

extern "C" void ng_sgemm_pack_b_12_neon(size_t kc, size_t nc, const float* b, size_t ldb, int trans, float* pb) {
  for (size_t j0 = 0; j0 < nc; j0 += kNR) {
    const size_t cols = nc - j0 < static_cast<size_t>(kNR) ? nc - j0 : kNR;
    float* dst = pb + j0 * kc;
    if (!trans && cols == static_cast<size_t>(kNR)) {
      for (size_t p = 0; p < kc; ++p) {
        const float* src = b + p * ldb + j0;
        vst1q_f32(dst + p * kNR, vld1q_f32(src));
        vst1q_f32(dst + p * kNR + 4, vld1q_f32(src + 4));
        vst1q_f32(dst + p * kNR + 8, vld1q_f32(src + 8));
      }
    } else {
      for (size_t p = 0; p < kc; ++p) {
        for (size_t r = 0; r < static_cast<size_t>(kNR); ++r) {
          dst[p * kNR + r] = r < cols ? (trans ? b[(j0 + r) * ldb + p] : b[p * ldb + j0 + r]) : 0.0f;
        }
      }
    }
  }
}
