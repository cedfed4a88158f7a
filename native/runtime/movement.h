/*
 * Data-movement drivers: the Backend's transpose, slice, pad, concat, gather and oneHot
 * (src/backends/reference/movement.ts), called by the addon (native/addon/movement.cc) after it has checked that
 * every read stays inside x. 32-bit words are copied as they are, so float32 and int32 share the drivers and the
 * results are the reference's bits (NaN payloads kept). The shape arithmetic is src/backends/native/movement.ts's.
 * - StridedCopy32: every output element reads one input element (ng_copy_plan, nodegrad/movement.h; constant mode
 *   reads `fill` outside the input). Transpose permutes in_stride, slice is offset = begin with steps, pad is
 *   offset = -before with a mode.
 * - ConcatCopy32: one input's rows [outer, chunk] into the output's rows [outer, out_row] at column `offset`.
 * - Gather32: x [outer, dim, inner], rows idx[j] of the middle axis -> [outer, nidx, inner] (indices checked).
 * Work is split over the thread pool only when there is enough of it; every split gives the same bits.
 */
#ifndef NODEGRAD_RUNTIME_MOVEMENT_H
#define NODEGRAD_RUNTIME_MOVEMENT_H

#include <cstddef>
#include <cstdint>

#include "nodegrad/movement.h"

namespace nodegrad {

// The input position p reads on an axis of length dim under `mode` (ng_copy_mode), or -1 for the fill value (and
// for a position a single mirror cannot bring into range, which the addon refuses before any copy runs).
std::int64_t MapCoord(std::int64_t p, std::int64_t dim, int mode);

// out[prod(out_shape)] from x as described above; out must not overlap x.
void StridedCopy32(const std::uint32_t* x, std::uint32_t* out, const ng_copy_plan& plan, int mode, std::uint32_t fill);
// out[o * out_row + offset + k] = x[o * chunk + k] for o < outer, k < chunk.
void ConcatCopy32(const std::uint32_t* x, std::uint32_t* out, std::size_t outer, std::size_t chunk,
                  std::size_t out_row, std::size_t offset);
// out[(o * nidx + j) * inner + k] = x[(o * dim + idx[j]) * inner + k]; every idx[j] in [0, dim).
void Gather32(const std::uint32_t* x, const std::int32_t* idx, std::uint32_t* out, std::size_t outer,
              std::size_t dim, std::size_t nidx, std::size_t inner);
// out[i * depth + c] = idx[i] == c ? on : off, for i < n, c < depth.
void OneHotF32(const std::int32_t* idx, float* out, std::size_t n, std::size_t depth, float on, float off);

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_MOVEMENT_H
