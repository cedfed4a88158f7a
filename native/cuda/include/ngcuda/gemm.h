/*
 * SGEMM on the GPU (row-major, as native/runtime/gemm.h):
 *   C = act(alpha * op(A) * op(B) + beta * C + bias)
 * op(A) is M x K (A stored M x K, or K x M when trans_a), op(B) is K x N (B stored K x N, or N x K when trans_b);
 * lda/ldb/ldc are row strides in elements. beta == 0 never reads C. bias (N values, may be null) is added to
 * every row; act (0 none, 1 relu: v < 0 -> 0, NaN and -0 kept) is applied last. `batch` independent products:
 * item t uses a + t*stride_a, b + t*stride_b, c + t*stride_c (a stride of 0 broadcasts that operand).
 *
 * Kernels (native/cuda/kernels/gemm.cu):
 *   ng_cuda_sgemm_128x128x8_<ta><tb>[_v4]: 256 threads, 8x8 outputs per thread, double-buffered shared memory,
 *     float4 global loads (_v4) when every operand row is 16-byte aligned, scalar guarded loads otherwise.
 *   ng_cuda_sgemm_64x64x8_<ta><tb>[_v4]: the same with 4x4 per thread, for products with few 128x128 tiles.
 *   Long K with few output tiles (the backward filter's cols^T dY): split-K over gridDim.z into float32 partials
 *     summed in a fixed order by ng_cuda_sgemm_splitk_reduce (deterministic).
 *   ng_cuda_sgemm_tf32_wmma_128x128x16 (kernels/gemm_tf32.cu, sm_80+): tensor cores, inputs rounded to TF32.
 * Accuracy: FP32 path: each output is a K-term float32 sum of exact-rounded fused products, so
 *   |C - C_exact| <= gamma_K * (|alpha| sum_k |a_ik b_kj|) + eps (|beta c| + |bias|), gamma_K = K eps / (1 - K eps),
 *   eps = 2^-24 (the bound the harness and tests use, doubled for the difference of two such sums).
 * TF32 path: inputs rounded to 10 mantissa bits (relative error 2^-11 each), so add 2^-10 sum_k |a_ik b_kj|;
 *   about 3 significant digits on sums without cancellation. Off by default.
 */
#ifndef NGCUDA_GEMM_H
#define NGCUDA_GEMM_H

#include <cstddef>
#include <cstdint>

namespace ngcuda {

enum class Activation : int { kNone = 0, kRelu = 1 };

struct GemmArgs {
  bool trans_a = false;
  bool trans_b = false;
  std::int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  std::int64_t lda = 0;
  const float* b = nullptr;
  std::int64_t ldb = 0;
  float beta = 0.0f;
  float* c = nullptr;
  std::int64_t ldc = 0;
  const float* bias = nullptr;
  Activation act = Activation::kNone;
  std::int64_t batch = 1;
  std::int64_t stride_a = 0, stride_b = 0, stride_c = 0;
};

// Preconditions: m, n, k < 2^31 - 256 (else CudaError), batch < 2^31; lda >= (trans_a ? m : k) and likewise ldb, ldc;
// device pointers. Runs on the FP32 SIMT path, or on tensor cores when `tf32` (a no-op request below sm_80).
void Sgemm(const GemmArgs& g, bool tf32 = false);

// The kernel Sgemm would launch for g (for reports and the harness), e.g. "ng_cuda_sgemm_128x128x8_nn_v4".
const char* SgemmKernelName(const GemmArgs& g, bool tf32 = false);

// Split-K factor Sgemm picks for g (1: none), for the harness's coverage report.
int SgemmSplitK(const GemmArgs& g);

// For the harness: forces the FP32 tile (64 or 128; 0 = choose) and the split-K factor (>= 1; 0 = choose) of
// later Sgemm calls, so that every kernel variant runs on every shape. Not for production use.
void SetSgemmOverride(int tile, int splits);

}  // namespace ngcuda

#endif  // NGCUDA_GEMM_H
