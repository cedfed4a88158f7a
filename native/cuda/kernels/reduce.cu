/*
 * Reductions of x viewed as [outer, len, inner] over the middle axis (ngcuda/eltwise.h): sum, mean and prod in
 * double, max and min with Math.max / Math.min semantics (associative and commutative, so any order gives the same
 * bits).
 * - inner == 1, short rows: ng_cuda_reduce_rows_warp, one warp per row (lanes stride the row, a shuffle tree).
 * - inner == 1, long rows: ng_cuda_reduce_rows_block, blocks of 256 per (row, split), partials then
 *   ng_cuda_reduce_finish adds them in split order.
 * - inner > 1: ng_cuda_reduce_cols, blocks of 32 columns (coalesced) x 8 lanes over len, per (outer, split),
 *   lanes added in order in shared memory, splits by ng_cuda_reduce_finish.
 * The splits depend only on the shape and the SM count: deterministic.
 */
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "common.cuh"
#include "ngcuda/eltwise.h"
#include "nodegrad/eltwise.h"

namespace ngcuda {

namespace {

// A running reduction: sum or product in double, or max/min in float.
struct Acc {
  double s;
  float e;
};

__device__ __forceinline__ Acc Identity(int op) {
  return Acc{op == kReduceProd ? 1.0 : 0.0, op == NG_REDUCE_MIN ? INFINITY : -INFINITY};
}

// Folds the value v (or a partial result, in double) into a.
__device__ __forceinline__ void Fold(Acc& a, double v, float e, int op) {
  if (op == kReduceProd) a.s *= v;
  else if (op == NG_REDUCE_SUM || op == NG_REDUCE_MEAN) a.s += v;
  else a.e = JsMax(a.e, e, op == NG_REDUCE_MIN);
}

__device__ __forceinline__ void Add(Acc& a, float v, int op) { Fold(a, static_cast<double>(v), v, op); }

__device__ __forceinline__ void Merge(Acc& a, const Acc& b, int op) { Fold(a, b.s, b.e, op); }

__device__ __forceinline__ float Finish(const Acc& a, int op, i64 len) {
  if (op == NG_REDUCE_MEAN) return static_cast<float>(a.s / static_cast<double>(len));
  if (op == NG_REDUCE_SUM || op == kReduceProd) return static_cast<float>(a.s);
  return a.e;
}

__device__ __forceinline__ Acc WarpReduce(Acc a, int op) {
  for (int off = 16; off > 0; off >>= 1) {
    Acc o;
    o.s = __shfl_xor_sync(0xffffffffu, a.s, off);
    o.e = __shfl_xor_sync(0xffffffffu, a.e, off);
    Merge(a, o, op);
  }
  return a;
}

// Partials: double sums or float extrema, one slot each.
struct Partials {
  double* s;
  float* e;
};

__global__ void RowsWarpKernel(int op, const float* __restrict__ x, i64 outer, i64 len, float* __restrict__ y) {
  const i64 warps = static_cast<i64>(gridDim.x) * (blockDim.x / 32);
  for (i64 row = static_cast<i64>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; row < outer; row += warps) {
    Acc a = Identity(op);
    const float* xr = x + row * len;
    for (i64 j = threadIdx.x % 32; j < len; j += 32) Add(a, __ldg(xr + j), op);
    a = WarpReduce(a, op);  // every lane of the warp runs this loop iteration: the shuffle is warp-uniform
    if (threadIdx.x % 32 == 0) y[row] = Finish(a, op, len);
  }
}

// Block (row = blockIdx.x / splits, split = blockIdx.x % splits) reduces x[row, split*chunk .. +chunk).
__global__ void RowsBlockKernel(int op, const float* __restrict__ x, i64 len, i64 chunk, int splits,
                                float* __restrict__ y, Partials part) {
  __shared__ double ss[kThreads / 32];
  __shared__ float se[kThreads / 32];
  const i64 row = blockIdx.x / splits;
  const int split = blockIdx.x % splits;
  const i64 j0 = split * chunk, j1 = min(len, j0 + chunk);
  Acc a = Identity(op);
  for (i64 j = j0 + threadIdx.x; j < j1; j += blockDim.x) Add(a, __ldg(x + row * len + j), op);
  a = WarpReduce(a, op);
  if (threadIdx.x % 32 == 0) {
    ss[threadIdx.x / 32] = a.s;
    se[threadIdx.x / 32] = a.e;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    Acc t = Identity(op);
    for (int w = 0; w < kThreads / 32; ++w) Merge(t, Acc{ss[w], se[w]}, op);
    if (splits == 1) {
      y[row] = Finish(t, op, len);
    } else {
      part.s[blockIdx.x] = t.s;
      part.e[blockIdx.x] = t.e;
    }
  }
}

constexpr int kLanes = 8;

// Grid (ceil(inner / 32), outer rows from outer0 on, splits); lanes stride len by splits * 8.
__global__ void ColsKernel(int op, const float* __restrict__ x, i64 outer0, i64 len, i64 inner,
                           float* __restrict__ y, Partials part) {
  __shared__ double ss[kLanes][32];
  __shared__ float se[kLanes][32];
  const i64 j = static_cast<i64>(blockIdx.x) * 32 + threadIdx.x;
  const i64 o = outer0 + blockIdx.y;
  const int split = blockIdx.z, splits = gridDim.z;
  Acc a = Identity(op);
  if (j < inner) {
    const float* xo = x + o * len * inner + j;
    for (i64 l = static_cast<i64>(split) * kLanes + threadIdx.y; l < len; l += static_cast<i64>(splits) * kLanes) {
      Add(a, __ldg(xo + l * inner), op);
    }
  }
  ss[threadIdx.y][threadIdx.x] = a.s;
  se[threadIdx.y][threadIdx.x] = a.e;
  __syncthreads();
  if (threadIdx.y == 0 && j < inner) {
    Acc t = Identity(op);
    for (int l = 0; l < kLanes; ++l) Merge(t, Acc{ss[l][threadIdx.x], se[l][threadIdx.x]}, op);
    if (splits == 1) {
      y[o * inner + j] = Finish(t, op, len);
    } else {
      const i64 slot = (o * splits + split) * inner + j;
      part.s[slot] = t.s;
      part.e[slot] = t.e;
    }
  }
}

// y[o, j] = finish(partials [o, 0..splits, j] in order); inner == 1 for the row form.
__global__ void FinishKernel(int op, Partials part, i64 outer, i64 inner, int splits, i64 len, float* __restrict__ y) {
  NGC_FOR(idx, outer * inner) {
    const i64 o = idx / inner, j = idx % inner;
    Acc t = Identity(op);
    for (int z = 0; z < splits; ++z) {
      const i64 slot = (o * splits + z) * inner + j;
      Merge(t, Acc{part.s[slot], part.e[slot]}, op);
    }
    y[idx] = Finish(t, op, len);
  }
}

Partials GetPartials(i64 slots) {
  char* base = static_cast<char*>(Scratch(kScratchPartials, static_cast<std::size_t>(slots) * (sizeof(double) + sizeof(float))));
  Partials p;
  p.s = reinterpret_cast<double*>(base);
  p.e = reinterpret_cast<float*>(p.s + slots);
  return p;
}

}  // namespace

void ReduceF32(int op, const float* x, i64 outer, i64 len, i64 inner, float* y) {
  const DeviceInfo& d = Init();
  if (op < 0 || op >= kReduceOpCount) throw CudaError("ng_cuda_reduce", 0, "unknown op code " + std::to_string(op));
  const i64 nout = outer * inner;
  if (nout <= 0) return;
  if (len == 0) {  // the identity: sum 0, mean NaN (0/0), max -Infinity, min +Infinity, prod 1
    const float v = op == NG_REDUCE_SUM ? 0.0f : op == NG_REDUCE_MEAN ? nanf("") : op == NG_REDUCE_MAX ? -INFINITY
                    : op == NG_REDUCE_MIN ? INFINITY : 1.0f;
    FillF32(y, nout, v);
    return;
  }
  const i64 fill = 4ll * d.sm_count;  // blocks that keep the device busy
  if (inner == 1) {
    if (len <= 4096 || outer >= fill) {
      NGC_LAUNCH(GridFor(outer * 32), kThreads, RowsWarpKernel)(op, x, outer, len, y);
      CheckLaunch("ng_cuda_reduce_rows_warp");
      return;
    }
    const i64 splits = std::max<i64>(1, std::min<i64>(CeilDiv(fill, outer), CeilDiv(len, 8 * kThreads)));
    const i64 chunk = CeilDiv(len, splits);
    const Partials p = splits > 1 ? GetPartials(outer * splits) : Partials{nullptr, nullptr};
    NGC_LAUNCH(static_cast<unsigned>(outer * splits), kThreads, RowsBlockKernel)(op, x, len, chunk, static_cast<int>(splits), y, p);
    CheckLaunch("ng_cuda_reduce_rows_block");
    if (splits > 1) {
      NGC_LAUNCH(GridFor(outer), kThreads, FinishKernel)(op, p, outer, 1, static_cast<int>(splits), len, y);
      CheckLaunch("ng_cuda_reduce_finish");
    }
    return;
  }
  const i64 base = CeilDiv(inner, 32) * outer;
  const i64 splits = std::max<i64>(1, std::min<i64>({CeilDiv(fill, base), CeilDiv(len, kLanes * 8), 1024}));
  const Partials p = splits > 1 ? GetPartials(outer * splits * inner) : Partials{nullptr, nullptr};
  for (i64 o0 = 0; o0 < outer; o0 += 65535) {  // grid.y holds at most 65535 outer rows per launch
    const dim3 grid(static_cast<unsigned>(CeilDiv(inner, 32)), static_cast<unsigned>(std::min<i64>(65535, outer - o0)),
                    static_cast<unsigned>(splits));
    NGC_LAUNCH(grid, dim3(32, kLanes), ColsKernel)(op, x, o0, len, inner, y, p);
    CheckLaunch("ng_cuda_reduce_cols");
  }
  if (splits > 1) {
    NGC_LAUNCH(GridFor(nout), kThreads, FinishKernel)(op, p, outer, inner, static_cast<int>(splits), len, y);
    CheckLaunch("ng_cuda_reduce_finish");
  }
}

}  // namespace ngcuda
