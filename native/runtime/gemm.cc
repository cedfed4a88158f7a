// SGEMM driver. PLACEHOLDER ALGORITHM: plain row-parallel loops with the right semantics, so the convolution
// drivers can be built against the API while the packed, register-blocked SIMD version is written.
#include "gemm.h"

#include "thread_pool.h"

namespace nodegrad {

namespace {

// Rows [m0, m1) of C.
void GemmRows(const GemmArgs& g, std::size_t m0, std::size_t m1) {
  for (std::size_t i = m0; i < m1; ++i) {
    float* crow = g.c + i * g.ldc;
    for (std::size_t j = 0; j < g.n; ++j) {
      double acc = 0;
      for (std::size_t p = 0; p < g.k; ++p) {
        const float av = g.trans_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
        const float bv = g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
        acc += static_cast<double>(av) * bv;
      }
      float v = g.alpha * static_cast<float>(acc);
      if (g.beta != 0.0f) v += g.beta * crow[j];
      if (g.bias) v += g.bias[j];
      if (g.act == Activation::kRelu && !(v > 0.0f)) v = v != v ? v : 0.0f;
      crow[j] = v;
    }
  }
}

}  // namespace

void SgemmSerial(const GemmArgs& g) { GemmRows(g, 0, g.m); }

void Sgemm(const GemmArgs& g) {
  const std::size_t chunk = 16;
  auto task = [&g, chunk](std::size_t t, int) {
    const std::size_t m0 = t * chunk;
    const std::size_t m1 = m0 + chunk < g.m ? m0 + chunk : g.m;
    GemmRows(g, m0, m1);
  };
  ParallelFor((g.m + chunk - 1) / chunk, task);
}

const char* SgemmKernelName() { return "ng_sgemm_rows_ref"; }

}  // namespace nodegrad
