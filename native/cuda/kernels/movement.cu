/*
 * Transpose, slice, pad, concat, gather and oneHot (ngcuda/movement.h): one thread per output element, grid-stride,
 * 32-bit words copied as they are, so float32 and int32 share the kernels and match the reference bit for bit.
 * scatterAdd (gather's adjoint) sorts the indices first so that each output sums its own terms in order.
 */
#include <cuda_runtime.h>

#include <algorithm>

#include "common.cuh"
#include "ngcuda/eltwise.h"
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

// The element at position 0 of a bad index's rows reports it (one report per index).
__global__ void GatherKernel(const std::uint32_t* __restrict__ x, const std::int32_t* __restrict__ idx,
                             std::uint32_t* __restrict__ out, i64 outer, i64 dim, i64 nidx, i64 inner,
                             std::uint32_t poison, IndexReport rep) {
  NGC_FOR(i, outer * nidx * inner) {
    const i64 k = i % inner, r = i / inner, j = r % nidx, o = r / nidx;
    const std::int32_t q = idx[j];
    if (q >= 0 && q < dim) {
      out[i] = x[(o * dim + q) * inner + k];
    } else {
      out[i] = poison;
      if (o == 0 && k == 0) ReportBadIndex(rep, j, q);
    }
  }
}

// Reports every index outside [0, bound) (and not -1 where allowed): the check alone, for an empty output.
__global__ void CheckIndicesKernel(const std::int32_t* __restrict__ idx, i64 n, bool allow_skip, IndexReport rep) {
  NGC_FOR(j, n) {
    const std::int32_t q = idx[j];
    if ((q < 0 || q >= rep.bound) && !(allow_skip && q == -1)) ReportBadIndex(rep, j, q);
  }
}

// ---- scatterAdd: a stable LSD radix sort of (target, j) pairs, then one thread per output summing its run ----

constexpr int kSortThreads = 256;
constexpr int kSortItems = 8;  // per thread: a block sorts a tile of 2048 pairs
constexpr i64 kSortTile = i64{kSortThreads} * kSortItems;
constexpr int kRadixBits = 4;
constexpr int kRadix = 1 << kRadixBits;

// Sort keys: the target row, dim for a skipped -1, dim + 1 for a bad index (reported); values: j.
__global__ void ScatterKeysKernel(const std::int32_t* __restrict__ idx, i64 n, i64 dim, std::uint32_t* __restrict__ keys,
                                  std::uint32_t* __restrict__ vals, IndexReport rep) {
  NGC_FOR(j, n) {
    const std::int32_t q = idx[j];
    std::uint32_t key;
    if (q >= 0 && q < dim) {
      key = static_cast<std::uint32_t>(q);
    } else if (q == -1) {
      key = static_cast<std::uint32_t>(dim);
    } else {
      key = static_cast<std::uint32_t>(dim + 1);
      ReportBadIndex(rep, j, q);
    }
    keys[j] = key;
    vals[j] = static_cast<std::uint32_t>(j);
  }
}

// hist[d * tiles + b]: how many keys of tile b have digit d (digit-major, so its exclusive scan is each
// (digit, tile)'s first output position).
__global__ void RadixHistKernel(const std::uint32_t* __restrict__ keys, i64 n, int shift, std::uint32_t* __restrict__ hist,
                                i64 tiles) {
  __shared__ std::uint32_t count[kRadix];
  if (threadIdx.x < kRadix) count[threadIdx.x] = 0;
  __syncthreads();
  const i64 base = static_cast<i64>(blockIdx.x) * kSortTile;
  for (i64 i = base + threadIdx.x; i < n && i < base + kSortTile; i += kSortThreads) {
    atomicAdd(&count[(keys[i] >> shift) & (kRadix - 1)], 1u);
  }
  __syncthreads();
  if (threadIdx.x < kRadix) hist[threadIdx.x * tiles + blockIdx.x] = count[threadIdx.x];
}

// In-place exclusive scan of v[m] by one block: each thread sums a contiguous chunk, the chunk sums are scanned
// in shared memory, then each thread rewrites its chunk.
__global__ void ExclusiveScanKernel(std::uint32_t* v, i64 m) {
  __shared__ std::uint32_t sums[kSortThreads];
  const int t = threadIdx.x;
  const i64 chunk = (m + kSortThreads - 1) / kSortThreads;
  const i64 lo = min(m, t * chunk), hi = min(m, lo + chunk);
  std::uint32_t s = 0;
  for (i64 i = lo; i < hi; ++i) s += v[i];
  sums[t] = s;
  __syncthreads();
  for (int off = 1; off < kSortThreads; off <<= 1) {  // Hillis-Steele inclusive scan of the chunk sums
    const std::uint32_t add = t >= off ? sums[t - off] : 0u;
    __syncthreads();
    sums[t] += add;
    __syncthreads();
  }
  std::uint32_t run = sums[t] - s;
  for (i64 i = lo; i < hi; ++i) {
    const std::uint32_t c = v[i];
    v[i] = run;
    run += c;
  }
}

// One stable pass: thread t of tile b moves its kSortItems consecutive pairs, in order, to the tile's first
// position for their digit (scanned hist) plus the count of that digit in the tile's earlier threads.
__global__ void RadixScatterKernel(const std::uint32_t* __restrict__ keys, const std::uint32_t* __restrict__ vals, i64 n,
                                   int shift, const std::uint32_t* __restrict__ hist, i64 tiles,
                                   std::uint32_t* __restrict__ keys_out, std::uint32_t* __restrict__ vals_out) {
  __shared__ std::uint32_t before[kRadix][kSortThreads];
  const int t = threadIdx.x;
  const i64 lo = min(n, static_cast<i64>(blockIdx.x) * kSortTile + t * kSortItems);
  const i64 hi = min(n, lo + kSortItems);
  std::uint32_t mine[kRadix];
  for (int d = 0; d < kRadix; ++d) mine[d] = 0;
  for (i64 i = lo; i < hi; ++i) ++mine[(keys[i] >> shift) & (kRadix - 1)];
  for (int d = 0; d < kRadix; ++d) before[d][t] = mine[d];
  __syncthreads();
  for (int off = 1; off < kSortThreads; off <<= 1) {  // inclusive scan over the threads, every digit at once
    std::uint32_t add[kRadix];
    for (int d = 0; d < kRadix; ++d) add[d] = t >= off ? before[d][t - off] : 0u;
    __syncthreads();
    for (int d = 0; d < kRadix; ++d) before[d][t] += add[d];
    __syncthreads();
  }
  std::uint32_t next[kRadix];
  for (int d = 0; d < kRadix; ++d) next[d] = hist[d * tiles + blockIdx.x] + before[d][t] - mine[d];
  for (i64 i = lo; i < hi; ++i) {
    const std::uint32_t key = keys[i];
    const std::uint32_t pos = next[(key >> shift) & (kRadix - 1)]++;
    keys_out[pos] = key;
    vals_out[pos] = vals[i];
  }
}

// start[t] for t in [0, dim]: the first sorted position whose key is >= t (a lower bound by bisection).
__global__ void SegmentStartsKernel(const std::uint32_t* __restrict__ keys, i64 n, i64 dim, std::uint32_t* __restrict__ start) {
  NGC_FOR(t, dim + 1) {
    i64 lo = 0, hi = n;
    while (lo < hi) {
      const i64 mid = (lo + hi) / 2;
      if (static_cast<i64>(keys[mid]) < t) lo = mid + 1;
      else hi = mid;
    }
    start[t] = static_cast<std::uint32_t>(lo);
  }
}

// out[o, t, k]: the sum in double, in ascending j, of g[o, j, k] over the run of j with target t, rounded once;
// NaN everywhere when an index was bad (its key, dim + 1, sorts last).
__global__ void ScatterSumKernel(const float* __restrict__ g, const std::uint32_t* __restrict__ keys,
                                 const std::uint32_t* __restrict__ vals, const std::uint32_t* __restrict__ start,
                                 float* __restrict__ out, i64 outer, i64 n, i64 inner, i64 dim) {
  const bool bad = keys[n - 1] == static_cast<std::uint32_t>(dim + 1);
  NGC_FOR(i, outer * dim * inner) {
    const i64 k = i % inner, r = i / inner, t = r % dim, o = r / dim;
    double s = 0.0;
    for (std::uint32_t p = start[t]; p < start[t + 1]; ++p) s += static_cast<double>(g[(o * n + vals[p]) * inner + k]);
    out[i] = bad ? NAN : static_cast<float>(s);
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
              i64 inner, std::uint32_t poison) {
  if (nidx <= 0) return;
  const IndexReport rep = BeginIndexCheck(kCheckGather, dim);
  const i64 n = outer * nidx * inner;
  if (n <= 0) {  // nothing to copy, the indices are still checked
    NGC_LAUNCH(GridFor(nidx), kThreads, CheckIndicesKernel)(idx, nidx, false, rep);
    CheckLaunch("ng_cuda_check_indices");
    return;
  }
  NGC_LAUNCH(GridFor(n), kThreads, GatherKernel)(x, idx, out, outer, dim, nidx, inner, poison, rep);
  CheckLaunch("ng_cuda_gather_32");
}

// Cost: O(n ceil(bits(dim + 1) / 4) + dim log n + outer (dim + n) inner), not O(outer dim n inner): each output
// sums only its own terms, which the stable sort of (target, j) lays out in ascending j.
void ScatterAddF32(const float* g, const std::int32_t* idx, float* out, i64 outer, i64 n, i64 inner, i64 dim) {
  const i64 total = outer * dim * inner;
  if (n <= 0) {
    if (total > 0) FillF32(out, total, 0.0f);
    return;
  }
  const IndexReport rep = BeginIndexCheck(kCheckScatterAdd, dim);
  if (total <= 0) {  // nothing to sum, and no sort or scratch for it: the indices are still checked
    NGC_LAUNCH(GridFor(n), kThreads, CheckIndicesKernel)(idx, n, true, rep);
    CheckLaunch("ng_cuda_check_indices");
    return;
  }
  const i64 tiles = CeilDiv(n, kSortTile);
  const std::size_t words = static_cast<std::size_t>(4 * n + kRadix * tiles + dim + 1);
  std::uint32_t* keys = static_cast<std::uint32_t*>(Scratch(kScratchPartials, words * sizeof(std::uint32_t)));
  std::uint32_t* vals = keys + n;
  std::uint32_t* keys2 = vals + n;
  std::uint32_t* vals2 = keys2 + n;
  std::uint32_t* hist = vals2 + n;
  std::uint32_t* start = hist + kRadix * tiles;
  NGC_LAUNCH(GridFor(n), kThreads, ScatterKeysKernel)(idx, n, dim, keys, vals, rep);
  CheckLaunch("ng_cuda_scatter_add_keys");
  for (int shift = 0; (static_cast<std::uint64_t>(dim + 1) >> shift) != 0; shift += kRadixBits) {
    NGC_LAUNCH(static_cast<unsigned>(tiles), kSortThreads, RadixHistKernel)(keys, n, shift, hist, tiles);
    CheckLaunch("ng_cuda_radix_hist");
    NGC_LAUNCH(1, kSortThreads, ExclusiveScanKernel)(hist, kRadix * tiles);
    CheckLaunch("ng_cuda_exclusive_scan");
    NGC_LAUNCH(static_cast<unsigned>(tiles), kSortThreads, RadixScatterKernel)(keys, vals, n, shift, hist, tiles, keys2, vals2);
    CheckLaunch("ng_cuda_radix_scatter");
    std::swap(keys, keys2);
    std::swap(vals, vals2);
  }
  NGC_LAUNCH(GridFor(dim + 1), kThreads, SegmentStartsKernel)(keys, n, dim, start);
  CheckLaunch("ng_cuda_segment_starts");
  NGC_LAUNCH(GridFor(total), kThreads, ScatterSumKernel)(g, keys, vals, start, out, outer, n, inner, dim);
  CheckLaunch("ng_cuda_scatter_add_f32");
}

void OneHotF32(const std::int32_t* idx, float* out, i64 n, i64 depth, float on, float off) {
  if (n <= 0 || depth <= 0) return;
  NGC_LAUNCH(GridFor(n * depth), kThreads, OneHotKernel)(idx, out, n, depth, on, off);
  CheckLaunch("ng_cuda_one_hot_f32");
}

}  // namespace ngcuda
