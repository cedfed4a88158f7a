/*
 * Comparisons, selection and conversions on the GPU, with the reference backend's semantics
 * (src/backends/reference/elementwise.ts compare, where, clip, cast; reduce.ts argReduce), exact to its bits:
 * - Compare: a op b under NumPy broadcasting (per-input strides, 0 on broadcast axes), int32 0/1; comparisons
 *   with NaN are false (notEqual true); logicalAnd / logicalOr treat any nonzero value (NaN too) as true.
 * - Where32: cond != 0 ? a : b, the three broadcast; copies 32-bit words (float32 or int32).
 * - Clip: Math.min(Math.max(x, lo), hi) in double (NaN propagates, +0 > -0), stored as the array type stores it
 *   (float32: rounded to nearest; int32: ToInt32, NaN -> 0).
 * - Cast: float32 -> int32 truncates, NaN -> 0, saturates out of range; int32 -> float32 rounds to nearest.
 * - ArgReduce: index of the first max / min along the middle axis of [outer, len, inner]; the first NaN wins;
 *   len 0 gives 0.
 * Kernels: native/cuda/kernels/select.cu.
 */
#ifndef NGCUDA_SELECT_H
#define NGCUDA_SELECT_H

#include <cstdint>

#include "ngcuda/common.h"
#include "nodegrad/movement.h"

namespace ngcuda {

// The CPU addon's codes (nodegrad/movement.h): both addons export one set of values.
enum CompareOp : int {
  kCmpEqual = NG_CMP_EQUAL, kCmpNotEqual = NG_CMP_NOT_EQUAL, kCmpLess = NG_CMP_LESS, kCmpLessEqual = NG_CMP_LESS_EQUAL,
  kCmpGreater = NG_CMP_GREATER, kCmpGreaterEqual = NG_CMP_GREATER_EQUAL, kCmpLogicalAnd = NG_CMP_LOGICAL_AND,
  kCmpLogicalOr = NG_CMP_LOGICAL_OR, kCompareOpCount = NG_CMP_OP_COUNT
};

// out[prod(out_shape)] int32 0/1; a and b float32 (is_int false) or int32.
void Compare(int op, bool is_int, const void* a, const void* b, std::int32_t* out, const BroadcastPlan& plan);
// out = cond ? a : b (inputs 0, 1, 2 of the plan).
void Where32(const std::int32_t* cond, const std::uint32_t* a, const std::uint32_t* b, std::uint32_t* out,
             const BroadcastPlan& plan);
void ClipF32(const float* x, float* out, std::int64_t n, double lo, double hi);
void ClipI32(const std::int32_t* x, std::int32_t* out, std::int64_t n, double lo, double hi);
void CastF32ToI32(const float* x, std::int32_t* out, std::int64_t n);
void CastI32ToF32(const std::int32_t* x, float* out, std::int64_t n);
// out[outer * inner]; is_min: argMin; x float32 (is_int false) or int32.
void ArgReduce(bool is_min, bool is_int, const void* x, std::int32_t* out, std::int64_t outer, std::int64_t len,
               std::int64_t inner);

}  // namespace ngcuda

#endif  // NGCUDA_SELECT_H
