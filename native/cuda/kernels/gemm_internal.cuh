// What the SGEMM kernels of gemm.cu and gemm_tf32.cu share: the launch parameters, the guarded float4 load and
// the epilogue. Internal to native/cuda/kernels.
#ifndef NGCUDA_KERNELS_GEMM_INTERNAL_CUH
#define NGCUDA_KERNELS_GEMM_INTERNAL_CUH

#include <cuda_runtime.h>

#include "common.cuh"

namespace ngcuda {

// One launch of a tiled SGEMM. Grid: x = M tiles, y = N tiles, z = item * splits + split, where item counts the
// batch items of this launch (the product's item is item0 + item).
struct GemmDev {
  int m, n, k;
  const float* a;
  long long lda, sa;
  const float* b;
  long long ldb, sb;
  float* c;
  long long ldc, sc;
  float alpha, beta;
  const float* bias;
  int relu;
  int c_vec;      // c 16-byte aligned with ldc, sc multiples of 4: float4 stores where a row's 4 columns exist
  int splits;     // >= 1; split s sums k in [s*kchunk, min(k, (s+1)*kchunk))
  int kchunk;     // a multiple of the kernel's BK
  float* ws;      // splits > 1: raw partial sums ws[((item*splits + s)*m + i)*n + j], no epilogue
  long long item0;
};

// Elements (row, col .. col+3) of a row-major matrix with row stride ld, zero outside [0, rows) x [0, cols).
// V4: base 16-byte aligned, ld and col multiples of 4, so a whole in-bounds quad is one float4 load.
template <bool V4>
__device__ __forceinline__ float4 LoadQuad(const float* base, int row, int col, int rows, int cols, long long ld) {
  float4 r = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (row >= rows || col >= cols) return r;
  const float* p = base + static_cast<long long>(row) * ld + col;
  if (V4 && col + 3 < cols) return __ldg(reinterpret_cast<const float4*>(p));
  r.x = __ldg(p);
  if (col + 1 < cols) r.y = __ldg(p + 1);
  if (col + 2 < cols) r.z = __ldg(p + 2);
  if (col + 3 < cols) r.w = __ldg(p + 3);
  return r;
}

// C = act(alpha * acc + beta * C + bias), in the CPU reference's order (no contraction: built with --fmad=false).
__device__ __forceinline__ float Epilogue(const GemmDev& p, float v, const float* cp, int col) {
  if (p.alpha != 1.0f) v *= p.alpha;
  if (p.beta != 0.0f) v += p.beta * *cp;
  if (p.bias != nullptr) v += p.bias[col];
  if (p.relu && v < 0.0f) v = 0.0f;  // NaN and -0 pass through
  return v;
}

// Writes one finished value of output (row, col) of this block's item: the epilogue into C, or the raw partial
// into the split-K workspace.
__device__ __forceinline__ void StoreOne(const GemmDev& p, long long item, int split, int row, int col, float v) {
  if (p.splits > 1) {
    p.ws[((item * p.splits + split) * p.m + row) * static_cast<long long>(p.n) + col] = v;
    return;
  }
  float* cp = p.c + (p.item0 + item) * p.sc + static_cast<long long>(row) * p.ldc + col;
  *cp = Epilogue(p, v, cp, col);
}

// Tensor-core path (gemm_tf32.cu): launches the TF32 kernel for p on `grid`.
void LaunchSgemmTf32(const GemmDev& p, bool ta, bool tb, bool v4, dim3 grid);
constexpr int kTf32BM = 128, kTf32BN = 128, kTf32BK = 16;
const char* Tf32KernelName(bool ta, bool tb, bool v4);

}  // namespace ngcuda

#endif  // NGCUDA_KERNELS_GEMM_INTERNAL_CUH
