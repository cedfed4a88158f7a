/*
 * Data movement on the GPU: the Backend's transpose, slice, pad, concat, gather and oneHot
 * (src/backends/reference/movement.ts), as copies of 32-bit words, so one kernel serves float32 and int32 and the
 * results are the reference's bits exactly (nothing is computed, only copied).
 * - StridedCopy32: every output element reads one input element found per axis from its coordinate c:
 *   p = offset + c * step, mapped into [0, in_dim) by the pad mode (reflect, symmetric: one mirror; constant:
 *   out of range reads `fill`); src = sum p * in_stride. Transpose is a permutation of in_stride, slice is
 *   offset = begin with steps, pad is offset = -before with a mode.
 * - ConcatCopy32: one input's rows [outer, chunk] into the output's rows [outer, out_row] at column `offset`.
 * - Gather32: x [outer, dim, inner], rows idx[j] of the middle axis -> [outer, nidx, inner]; an index out of
 *   [0, dim) (the ops layer never passes one) writes 0 instead of reading out of bounds.
 * Kernels: native/cuda/kernels/movement.cu.
 */
#ifndef NGCUDA_MOVEMENT_H
#define NGCUDA_MOVEMENT_H

#include <cstdint>

namespace ngcuda {

constexpr int kMaxCopyRank = 8;

// How a coordinate outside [0, in_dim) is mapped: never happens (kCopyInRange), read the fill value, or mirror
// about the edge element (reflect: dcba|abcd -> cb|abcd) or repeat it (symmetric: ba|abcd).
enum CopyMode : int { kCopyInRange = 0, kCopyConstant = 1, kCopyReflect = 2, kCopySymmetric = 3, kCopyModeCount = 4 };

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
// out[(o * nidx + j) * inner + k] = x[(o * dim + idx[j]) * inner + k].
void Gather32(const std::uint32_t* x, const std::int32_t* idx, std::uint32_t* out, std::int64_t outer,
              std::int64_t dim, std::int64_t nidx, std::int64_t inner);
// out[i * depth + c] = idx[i] == c ? on : off, for i < n, c < depth.
void OneHotF32(const std::int32_t* idx, float* out, std::int64_t n, std::int64_t depth, float on, float off);

}  // namespace ngcuda

#endif  // NGCUDA_MOVEMENT_H
