/*
 * Row-by-row traversal of an ng_broadcast_plan, shared by the broadcasting drivers (select.cc, scalar_math.cc): the plan
 * is simplified (size-1 axes dropped, neighbours every input reads contiguously merged), then each row of the last
 * axis is visited with its inputs' offsets; strides of 0 and 1 become compile-time constants so row loops vectorise.
 */
#ifndef NODEGRAD_RUNTIME_BROADCAST_H
#define NODEGRAD_RUNTIME_BROADCAST_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "nodegrad/movement.h"
#include "thread_pool.h"

namespace nodegrad {

constexpr std::size_t kBroadcastTaskElems = 32768;  // elements per task at least: smaller calls run without a fork

// The plan with size-1 axes dropped and each axis merged into the one before it where every input steps over it
// exactly (stride[k][a - 1] == stride[k][a] * out_shape[a]); rank 0 becomes one axis of length 1.
inline ng_broadcast_plan SimplifyPlan(const ng_broadcast_plan& p, int inputs) {
  ng_broadcast_plan s = {};
  for (int a = 0; a < p.rank; ++a) {
    if (p.out_shape[a] == 1) continue;
    bool merge = s.rank > 0;
    for (int k = 0; k < inputs && merge; ++k) merge = s.stride[k][s.rank - 1] == p.stride[k][a] * p.out_shape[a];
    const int at = merge ? s.rank - 1 : s.rank++;
    s.out_shape[at] = merge ? s.out_shape[at] * p.out_shape[a] : p.out_shape[a];
    for (int k = 0; k < inputs; ++k) s.stride[k][at] = p.stride[k][a];
  }
  if (s.rank == 0) {
    s.rank = 1;
    s.out_shape[0] = 1;
  }
  return s;
}

// row(o, offsets, n) for every piece of a row (the last axis) of the simplified plan: output elements [o, o + n),
// whose inputs start at offsets[k]. The flat output is split over the pool, so long rows are split too.
template <class F>
void ForEachRow(const ng_broadcast_plan& p, int inputs, F&& row) {
  using i64 = std::int64_t;
  const int last = p.rank - 1;
  const i64 len = p.out_shape[last];
  i64 total = len;
  for (int a = 0; a < last; ++a) total *= p.out_shape[a];
  ForRanges(static_cast<std::size_t>(total), kBroadcastTaskElems, [&](std::size_t i0, std::size_t i1) {
    i64 c[NG_MAX_STRIDED_RANK], off[3] = {0, 0, 0};
    i64 r = static_cast<i64>(i0) / len, j = static_cast<i64>(i0) - r * len;
    for (int a = last - 1; a >= 0; --a) {
      c[a] = r % p.out_shape[a];
      r /= p.out_shape[a];
      for (int k = 0; k < inputs; ++k) off[k] += c[a] * p.stride[k][a];
    }
    for (i64 i = static_cast<i64>(i0); i < static_cast<i64>(i1); j = 0) {
      const i64 n = std::min(len - j, static_cast<i64>(i1) - i);
      i64 at[3];
      for (int k = 0; k < inputs; ++k) at[k] = off[k] + j * p.stride[k][last];
      row(i, at, n);
      i += n;
      for (int a = last - 1; a >= 0; --a) {
        for (int k = 0; k < inputs; ++k) off[k] += p.stride[k][a];
        if (++c[a] < p.out_shape[a]) break;
        for (int k = 0; k < inputs; ++k) off[k] -= p.out_shape[a] * p.stride[k][a];
        c[a] = 0;
      }
    }
  });
}

// f(stride) with a stride of 0 or 1 passed as a compile-time constant.
template <class F>
void WithStride(std::int64_t s, F&& f) {
  if (s == 1) f(std::integral_constant<std::int64_t, 1>());
  else if (s == 0) f(std::integral_constant<std::int64_t, 0>());
  else f(s);
}

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_BROADCAST_H
