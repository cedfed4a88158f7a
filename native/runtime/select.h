/*
 * Selection and conversion drivers: the Backend's compare, where, clip and cast
 * (src/backends/reference/elementwise.ts) on float32 and int32, called by the addon (native/addon/select.cc) after
 * it has checked that every read stays inside its array. JavaScript's semantics exactly: comparisons of the stored
 * values (NaN compares false, notEqual true; the logical ops count NaN as true), clip as Math.min(Math.max(x, lo),
 * hi) in double then the typed array's store (float32 rounding, ToInt32), cast float -> int32 truncating with NaN
 * 0 and saturation, int32 -> float32 to nearest. Broadcast inputs are read through per-axis strides over the
 * output (0 on broadcast axes). Work is split over the thread pool only when there is enough of it.
 */
#ifndef NODEGRAD_RUNTIME_SELECT_H
#define NODEGRAD_RUNTIME_SELECT_H

#include <cstddef>
#include <cstdint>

#include "nodegrad/movement.h"

namespace nodegrad {

// out = a op b (ng_compare_op, 0/1), a and b int32 (is_int) or float32; strides: [0] a, [1] b.
void Compare(int op, bool is_int, const void* a, const void* b, std::int32_t* out, const ng_broadcast_plan& plan);
// out = cond != 0 ? a : b on 32-bit words (float32 or int32); strides: [0] cond, [1] a, [2] b.
void Where32(const std::int32_t* cond, const std::uint32_t* a, const std::uint32_t* b, std::uint32_t* out,
             const ng_broadcast_plan& plan);
// out[i] = Math.min(Math.max(x[i], lo), hi), stored as float32 / by ToInt32.
void ClipF32(const float* x, float* out, std::size_t n, double lo, double hi);
void ClipI32(const std::int32_t* x, std::int32_t* out, std::size_t n, double lo, double hi);
void CastF32ToI32(const float* x, std::int32_t* out, std::size_t n);
void CastI32ToF32(const std::int32_t* x, float* out, std::size_t n);

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_SELECT_H
