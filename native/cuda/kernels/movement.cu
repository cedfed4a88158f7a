/*
 * Transpose, slice, pad, concat, gather and oneHot (ngcuda/movement.h): one thread per output element, grid-stride,
 * 32-bit words copied as they are, so float32 and int32 share the kernels and match the reference bit for bit.
 */
#include <cuda_runtime.h>

#include <algorithm>

#include "common.cuh"
#include "ngcuda/movement.h"

namespace ngcuda {

namespace {

// Input position for p on an axis of length dim, or -1 (the fill value); reference movement.ts padSource.
__device__ __forceinline__ i64 MapCoord(i64 p, i64 dim, int mode) {
  if (p >= 0 && p < dim) return p;
  if (mode == kCopyReflect) p = p < 0 ? -p : 2 * (dim - 1) - p;
  else if (mode == kCopySymmetric) p = p < 0 ? -p - 1 : 2 * dim - 1 - p;
  else return -1;
  return p >= 0 && p < dim ? p : -1;  // validated by the addon; a stray value still never reads out of bounds
}

// I: the index type, 32-bit when every offset fits (integer division is several times cheaper than 64-bit).
template <class I>
__global__ void StridedCopyKernel(const std::uint32_t* __restrict__ x, std::uint32_t* __restrict__ out, i64 n,
                                  StridedCopyPlan plan, int mode, std::uint32_t fill) {
  NGC_FOR(i, n) {
    I rem = static_cast<I>(i), src = 0;
    bool inside = true;
    for (int a = plan.rank - 1; a >= 0; --a) {  // the last axis varies fastest
      const I dim = static_cast<I>(plan.out_shape[a]);
      const I c = rem % dim;
      rem /= dim;
      const i64 p = MapCoord(plan.offset[a] + static_cast<i64>(c) * plan.step[a], plan.in_dim[a], mode);
      if (p < 0) inside = false;
      else src += static_cast<I>(p) * static_cast<I>(plan.in_stride[a]);
    }
    out[i] = inside ? x[src] : fill;
  }
}

__global__ void ConcatCopyKernel(const std::uint32_t* __restrict__ x, std::uint32_t* __restrict__ out, i64 outer,
                                 i64 chunk, i64 out_row, i64 offset) {
  NGC_FOR(i, outer * chunk) {
    const i64 o = i / chunk, k = i - o * chunk;
    out[o * out_row + offset + k] = x[i];
  }
}

__global__ void GatherKernel(const std::uint32_t* __restrict__ x, const std::int32_t* __restrict__ idx,
                             std::uint32_t* __restrict__ out, i64 outer, i64 dim, i64 nidx, i64 inner) {
  NGC_FOR(i, outer * nidx * inner) {
    const i64 k = i % inner, r = i / inner, j = r % nidx, o = r / nidx;
    const i64 q = idx[j];
    out[i] = q >= 0 && q < dim ? x[(o * dim + q) * inner + k] : 0u;
  }
}

__global__ void OneHotKernel(const std::int32_t* __restrict__ idx, float* __restrict__ out, i64 n, i64 depth,
                             float on, float off) {
  NGC_FOR(i, n * depth) {
    const i64 r = i / depth, c = i - r * depth;
    out[i] = static_cast<i64>(idx[r]) == c ? on : off;
  }
}

}  // namespace

void StridedCopy32(const std::uint32_t* x, std::uint32_t* out, const StridedCopyPlan& plan, int mode,
                   std::uint32_t fill) {
  i64 n = 1;
  for (int a = 0; a < plan.rank; ++a) n *= plan.out_shape[a];
  if (n <= 0) return;
  // 32-bit indices when the output index and the input offset (positions are mapped in 64-bit, and land in
  // [0, in_dim)) stay below 2^31.
  i64 reach = n;
  i64 src_max = 0;
  for (int a = 0; a < plan.rank; ++a) src_max += std::max<i64>(0, plan.in_dim[a] - 1) * plan.in_stride[a];
  reach = std::max(reach, src_max + 1);
  if (reach < (i64{1} << 31)) {
    NGC_LAUNCH(GridFor(n), kThreads, StridedCopyKernel<std::int32_t>)(x, out, n, plan, mode, fill);
  } else {
    NGC_LAUNCH(GridFor(n), kThreads, StridedCopyKernel<i64>)(x, out, n, plan, mode, fill);
  }
  CheckLaunch("ng_cuda_strided_copy_32");
}

void ConcatCopy32(const std::uint32_t* x, std::uint32_t* out, i64 outer, i64 chunk, i64 out_row, i64 offset) {
  if (outer <= 0 || chunk <= 0) return;
  NGC_LAUNCH(GridFor(outer * chunk), kThreads, ConcatCopyKernel)(x, out, outer, chunk, out_row, offset);
  CheckLaunch("ng_cuda_concat_copy_32");
}

void Gather32(const std::uint32_t* x, const std::int32_t* idx, std::uint32_t* out, i64 outer, i64 dim, i64 nidx,
              i64 inner) {
  const i64 n = outer * nidx * inner;
  if (n <= 0) return;
  NGC_LAUNCH(GridFor(n), kThreads, GatherKernel)(x, idx, out, outer, dim, nidx, inner);
  CheckLaunch("ng_cuda_gather_32");
}

void OneHotF32(const std::int32_t* idx, float* out, i64 n, i64 depth, float on, float off) {
  if (n <= 0 || depth <= 0) return;
  NGC_LAUNCH(GridFor(n * depth), kThreads, OneHotKernel)(idx, out, n, depth, on, off);
  CheckLaunch("ng_cuda_one_hot_f32");
}

}  // namespace ngcuda
