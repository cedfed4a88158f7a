// Device-side helpers shared by the kernel files: launch geometry, the check after every launch, the
// JavaScript comparison semantics (Math.max, the pooling `beats`) the CPU kernels follow, broadcast offsets.
#ifndef NGCUDA_KERNELS_COMMON_CUH
#define NGCUDA_KERNELS_COMMON_CUH

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "ngcuda/common.h"

namespace ngcuda {

using i64 = std::int64_t;

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n elements: enough to fill the device, never more than the work.
inline unsigned GridFor(i64 n, int threads = kThreads) {
  const i64 want = (n + threads - 1) / threads;
  const i64 cap = static_cast<i64>(Init().sm_count) * 32;
  return static_cast<unsigned>(std::max<i64>(1, std::min(want, cap)));
}

inline i64 CeilDiv(i64 a, i64 b) { return (a + b - 1) / b; }

// NGC_LAUNCH(grid, block, kernel)(args...) is kernel<<<grid, block>>>(args...); the kernel comes last so that
// template arguments with commas pass through. Under NGCUDA_EMULATE (native/cuda/test/emu) it runs the kernel
// on the CPU instead, one fiber per thread.
#ifdef NGCUDA_EMULATE
#define NGC_LAUNCH(grid, block, ...) ::emu::MakeLaunch((grid), (block), __VA_ARGS__)
#else
#define NGC_LAUNCH(grid, block, ...) __VA_ARGS__<<<(grid), (block)>>>
#endif

// Grid-stride loop index range for this thread.
#define NGC_FOR(i, n)                                                                    \
  for (::ngcuda::i64 i = static_cast<::ngcuda::i64>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<::ngcuda::i64>(gridDim.x) * blockDim.x)

// Math.max(a, b) (is_min: Math.min): NaN if either is NaN; of two zeros, max is +0 unless both are -0.
__device__ __forceinline__ float JsMax(float a, float b, bool is_min) {
  if (a != a || b != b) return a + b;
  if (a == b) return is_min ? (signbit(a) ? a : b) : (signbit(a) ? b : a);
  return is_min ? (a < b ? a : b) : (a > b ? a : b);
}

// true when v replaces the running maximum m: larger, or the first NaN (reference pool.ts `beats`).
__device__ __forceinline__ bool Beats(float v, float m) { return (v > m) || (v != v && m == m); }

// floor(a / b) for b > 0 and any sign of a.
__device__ __forceinline__ i64 FloorDiv(i64 a, i64 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Flat input offset k of output element i under the plan (stride 0 on broadcast axes).
__device__ __forceinline__ void BroadcastOffsets(const BroadcastPlan& plan, i64 i, int inputs, i64* off) {
  for (int k = 0; k < inputs; ++k) off[k] = 0;
  for (int a = plan.rank - 1; a >= 0; --a) {
    const i64 c = i % plan.out_shape[a];
    i /= plan.out_shape[a];
    for (int k = 0; k < inputs; ++k) off[k] += c * plan.stride[k][a];
  }
}

// The number of output elements of a plan.
inline i64 PlanSize(const BroadcastPlan& plan) {
  i64 n = 1;
  for (int a = 0; a < plan.rank; ++a) n *= plan.out_shape[a];
  return n;
}

// Splits a flat NHWC index into image i, row, column and channel of a [*, rows, cols, c] tensor.
__device__ __forceinline__ void UnravelNhwc(i64 idx, i64 rows, i64 cols, i64 c, i64* i, i64* row, i64* col, i64* ch) {
  *ch = idx % c;
  idx /= c;
  *col = idx % cols;
  idx /= cols;
  *row = idx % rows;
  *i = idx / rows;
}

// The device side of the index checks (ngcuda/common.h IndexCheck). The record lives in device memory (a
// __device__ variable would need relocatable device code to be shared between the kernel files).
struct IndexErrorRecord {
  unsigned int launch;     // 0: none; else the id of the first launch that reported
  int check;               // that launch's IndexCheck
  long long bound;         // its valid range [0, bound)
  unsigned long long key;  // position << 32 | (uint32)value: atomicMin keeps the smallest position
};

// What one checking launch reports with: the record, the launch's id, its check and bound.
struct IndexReport {
  IndexErrorRecord* rec;
  unsigned int launch;
  int check;
  long long bound;
};

// Host: a new launch id for a kernel that checks indices against [0, bound) (allocates the record on first use).
IndexReport BeginIndexCheck(IndexCheck check, i64 bound);

// Position `pos` (< 2^32) holds `value`, outside the launch's range. The first launch to report owns the record;
// its threads keep the smallest position (one atomicMin on the packed key, so value and position stay paired).
__device__ __forceinline__ void ReportBadIndex(const IndexReport& r, i64 pos, std::int32_t value) {
  const unsigned int first = atomicCAS(&r.rec->launch, 0u, r.launch);
  if (first != 0u && first != r.launch) return;  // an earlier launch's error stands
  r.rec->check = r.check;  // every reporting thread of the launch stores these same values
  r.rec->bound = r.bound;
  atomicMin(&r.rec->key, (static_cast<unsigned long long>(pos) << 32) | static_cast<std::uint32_t>(value));
}

}  // namespace ngcuda

#endif  // NGCUDA_KERNELS_COMMON_CUH
