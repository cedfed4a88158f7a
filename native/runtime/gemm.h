/*
 * SGEMM driver API (row-major), used by the matmul/dense entry and by the convolution drivers:
 *   C = act(alpha * op(A) * op(B) + beta * C + bias)
 * op(A) is M x K (A stored M x K, or K x M when trans_a), op(B) is K x N (B stored K x N, or N x K when
 * trans_b); lda/ldb/ldc are row strides in elements. beta == 0 never reads C (it may hold NaN or garbage).
 * bias (length N, may be null) is added to every row; act is applied last.
 */
#ifndef NODEGRAD_RUNTIME_GEMM_H
#define NODEGRAD_RUNTIME_GEMM_H

#include <cstddef>

namespace nodegrad {

enum class Activation : int { kNone = 0, kRelu = 1 };

struct GemmArgs {
  bool trans_a = false;
  bool trans_b = false;
  std::size_t m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  std::size_t lda = 0;
  const float* b = nullptr;
  std::size_t ldb = 0;
  float beta = 0.0f;
  float* c = nullptr;
  std::size_t ldc = 0;
  const float* bias = nullptr;
  Activation act = Activation::kNone;
};

// Scratch slots (thread_pool.h) the SGEMM driver packs into, on every thread it runs on: callers that keep
// their own buffers across a Sgemm/SgemmSerial call (im2col, partial sums) use slots 0 and 1.
constexpr int kGemmScratchSlotA = 3;  // packed A row chunk, per thread
constexpr int kGemmScratchSlotB = 2;  // packed B slice, on the calling thread, read by all

// Splits the work over the thread pool (a call from inside a pool task runs on the calling thread).
void Sgemm(const GemmArgs& args);

// Always on the calling thread: for drivers that already parallelise over independent GEMMs.
void SgemmSerial(const GemmArgs& args);

// True when Sgemm runs `g` (only its shape and transposes are read) on the reduction-major path: transposed A,
// long K, small output. That path splits K itself, in chunks fixed by the shape, so a driver that would split K
// over the threads (backward filter) passes the whole K instead and gets the same bits at every thread count.
bool SgemmSplitsK(const GemmArgs& g);

// `batch` independent products: item t uses a + t*stride_a, b + t*stride_b, c + t*stride_c (a stride of 0
// broadcasts that operand); bias and everything else as in `g`. Splits large items over the pool one after
// another, and spreads small items themselves over the pool. Results equal `batch` Sgemm calls bit for bit.
void SgemmBatched(const GemmArgs& g, std::size_t batch, std::size_t stride_a, std::size_t stride_b,
                  std::size_t stride_c);

// Name of the micro-kernel the dispatched ISA path uses, for isaInfo().kernels.
const char* SgemmKernelName();

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_GEMM_H
