/*
 * Data movement on the GPU: the Backend's transpose, slice, pad, concat, gather and oneHot
 * (src/backends/reference/movement.ts), as copies of 32-bit words, so one kernel serves float32 and int32 and the
 * results are the reference's bits exactly (nothing is computed, only copied).
 * - StridedCopy32: every output element reads one input element found per axis from its coordinate c:
 *   p = offset + c * step, mapped into [0, in_dim) by the pad mode (reflect, symmetric: one mirror; constant:
 *   out of range reads `fill`); src = sum p * in_stride. Transpose is a permutation of in_stride, slice is
 *   offset = begin with steps, pad is offset = -before with a mode.
 * - ConcatCopy32: one input's rows [outer, chunk] into the output's rows [outer, out_row] at column `offset`.
 * - Gather32: x [outer, dim, inner], rows idx[j] of the middle axis -> [outer, nidx, inner]. An index outside
 *   [0, dim) (device indices are not checked on the host) writes `poison` into its rows and is reported to the
 *   index-error record (ngcuda/common.h IndexCheck).
 * - ScatterAddF32: gather's adjoint, out [outer, dim, inner] = sum over j with idx[j] == t of g[outer, j, inner],
 *   each output's terms summed in ascending j in double and rounded once (the reference's order, so bit-identical
 *   to it, and deterministic: no float atomics). idx[j] == -1 is skipped; any other index outside [0, dim) is
 *   reported and makes the whole output NaN.
 * Kernels: native/cuda/kernels/movement.cu.
 */
#ifndef NGCUDA_MOVEMENT_H
#define NGCUDA_MOVEMENT_H

#include <cstdint>

#include "nodegrad/movement.h"

namespace ngcuda {

constexpr int kMaxCopyRank = NG_MAX_STRIDED_RANK;

// How a coordinate outside [0, in_dim) is mapped: never happens (kCopyInRange), read the fill value, or mirror
// about the edge element (reflect: dcba|abcd -> cb|abcd) or repeat it (symmetric: ba|abcd). The CPU addon's codes
// (nodegrad/movement.h), so both addons export one set of values.
enum CopyMode : int {
  kCopyInRange = NG_COPY_IN_RANGE, kCopyConstant = NG_COPY_CONSTANT, kCopyReflect = NG_COPY_REFLECT,
  kCopySymmetric = NG_COPY_SYMMETRIC, kCopyModeCount = NG_COPY_MODE_COUNT
};

struct StridedCopyPlan {
  int rank = 0;
  std::int64_t out_shape[kMaxCopyRank] = {};
  std::int64_t in_dim[kMaxCopyRank] = {};
  std::int64_t in_stride[kMaxCopyRank] = {};
  std::int64_t offset[kMaxCopyRank] = {};
  std::int64_t step[kMaxCopyRank] = {};
};

// out[prod(out_shape)] from x (see above); out must not overlap x.
void StridedCopy32(const std::uint32_t* x, std::uint32_t* out, const StridedCopyPlan& plan, int mode,
                   std::uint32_t fill);
// out[o * out_row + offset + k] = x[o * chunk + k] for o < outer, k < chunk.
void ConcatCopy32(const std::uint32_t* x, std::uint32_t* out, std::int64_t outer, std::int64_t chunk,
                  std::int64_t out_row, std::int64_t offset);
// out[(o * nidx + j) * inner + k] = x[(o * dim + idx[j]) * inner + k], or poison where idx[j] is out of range.
// nidx < 2^32.
void Gather32(const std::uint32_t* x, const std::int32_t* idx, std::uint32_t* out, std::int64_t outer,
              std::int64_t dim, std::int64_t nidx, std::int64_t inner, std::uint32_t poison);
// out[(o * dim + t) * inner + k] = sum_{j: idx[j] == t} g[(o * nidx + j) * inner + k], zero where no j; nidx < 2^32,
// dim < 2^31 - 1. Uses the kScratchPartials scratch buffer.
void ScatterAddF32(const float* g, const std::int32_t* idx, float* out, std::int64_t outer, std::int64_t nidx,
                   std::int64_t inner, std::int64_t dim);
// out[i * depth + c] = idx[i] == c ? on : off, for i < n, c < depth.
void OneHotF32(const std::int32_t* idx, float* out, std::int64_t n, std::int64_t depth, float on, float off);

}  // namespace ngcuda

#endif  // NGCUDA_MOVEMENT_H
