/*
 * SGEMM scalar reference path: micro-kernel ng_sgemm_ukernel_4x4_ref and its packing routines, plain loops
 * built for the baseline ISA of every target (the fallback and the NODEGRAD_ISA=scalar path).
 * A 4x4 tile keeps 16 accumulators, which a baseline compiler holds in SSE/scalar registers; the binding's
 * -ffp-contract=off keeps every product and sum separately rounded.
 */
#include <stddef.h>

#include "nodegrad/sgemm.h"

namespace {

constexpr size_t kMR = 4;
constexpr size_t kNR = 4;

}  // namespace

extern "C" void ng_sgemm_ukernel_4x4_ref(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr,
                                         size_t nr, const ng_sgemm_epilogue* ep) {
  float acc[kMR][kNR] = {};
  for (size_t p = 0; p < kc; ++p) {
    for (size_t i = 0; i < kMR; ++i) {
      const float a = pa[p * kMR + i];
      for (size_t j = 0; j < kNR; ++j) acc[i][j] += a * pb[p * kNR + j];
    }
  }
  for (size_t i = 0; i < mr; ++i) {
    float* crow = c + i * ldc;
    for (size_t j = 0; j < nr; ++j) {
      float v = acc[i][j];
      if (ep->alpha != 1.0f) v *= ep->alpha;
      if (ep->beta != 0.0f) v += ep->beta * crow[j];
      if (ep->bias != nullptr) v += ep->bias[j];
      if (ep->relu && v < 0.0f) v = 0.0f;  // NaN and -0 pass through, as in the reference
      crow[j] = v;
    }
  }
}

// Unpacked row-major A: the same products and sums, in the same order, as the packed kernel.
extern "C" void ng_sgemm_ukernel_direct_4x4_ref(size_t kc, const float* a, size_t lda, const float* pb, float* c,
                                                size_t ldc, size_t nr, const ng_sgemm_epilogue* ep) {
  float acc[kMR][kNR] = {};
  for (size_t p = 0; p < kc; ++p) {
    for (size_t i = 0; i < kMR; ++i) {
      const float av = a[i * lda + p];
      for (size_t j = 0; j < kNR; ++j) acc[i][j] += av * pb[p * kNR + j];
    }
  }
  for (size_t i = 0; i < kMR; ++i) {
    float* crow = c + i * ldc;
    for (size_t j = 0; j < nr; ++j) {
      float v = acc[i][j];
      if (ep->alpha != 1.0f) v *= ep->alpha;
      if (ep->beta != 0.0f) v += ep->beta * crow[j];
      if (ep->bias != nullptr) v += ep->bias[j];
      if (ep->relu && v < 0.0f) v = 0.0f;
      crow[j] = v;
    }
  }
}

extern "C" void ng_sgemm_pack_a_4_ref(size_t mc, size_t kc, const float* a, size_t lda, int trans, float* pa) {
  for (size_t i0 = 0; i0 < mc; i0 += kMR) {
    float* dst = pa + i0 * kc;
    for (size_t p = 0; p < kc; ++p) {
      for (size_t r = 0; r < kMR; ++r) {
        const size_t i = i0 + r;
        dst[p * kMR + r] = i < mc ? (trans ? a[p * lda + i] : a[i * lda + p]) : 0.0f;
      }
    }
  }
}

extern "C" void ng_sgemm_pack_b_4_ref(size_t kc, size_t nc, const float* b, size_t ldb, int trans, float* pb) {
  for (size_t j0 = 0; j0 < nc; j0 += kNR) {
    float* dst = pb + j0 * kc;
    for (size_t p = 0; p < kc; ++p) {
      for (size_t r = 0; r < kNR; ++r) {
        const size_t j = j0 + r;
        dst[p * kNR + r] = j < nc ? (trans ? b[j * ldb + p] : b[p * ldb + j]) : 0.0f;
      }
    }
  }
}
