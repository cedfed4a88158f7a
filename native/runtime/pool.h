/*
 * Pooling drivers (NHWC), called by the addon (native/addon/pool.cc) after it has checked every length and
 * integer. Baseline-ISA code: the SIMD lives in the row kernels of nodegrad/pool.h, picked once by
 * ng_pool_kernels_get() from dispatch's ISA path.
 *
 * Threads: forward kernels and the average-pool backward (a gather, one input row per task) split rows, so
 * every output element is written by exactly one task. Max-pool backward (a scatter to the window maxima):
 * windows that do not overlap vertically give each output row a band of input rows of its own (one task,
 * no zero pass where the windows tile the row); overlapping ones (3x3 stride 2) zero dx, then run
 * ceil(kh/sh) rounds whose output rows are far enough apart never to share an input row. The split depends
 * only on the shape, so results do not depend on the thread count.
 */
#ifndef NODEGRAD_RUNTIME_POOL_H
#define NODEGRAD_RUNTIME_POOL_H

#include <cstddef>

#include "nodegrad/pool.h"

namespace nodegrad {

// x [n, g.h, g.w, g.c] -> y [n, g.oh, g.ow, g.c].
void MaxPool2dF32(const ng_pool2d_geom& g, std::size_t n, const float* x, float* y);
// dy [n, oh, ow, c], x -> dx [n, h, w, c] (overwritten).
void MaxPool2dBackwardF32(const ng_pool2d_geom& g, std::size_t n, const float* dy, const float* x, float* dx);
void AvgPool2dF32(const ng_pool2d_geom& g, std::size_t n, const float* x, float* y);
void AvgPool2dBackwardF32(const ng_pool2d_geom& g, std::size_t n, const float* dy, float* dx);
// x [n, hw, c] -> y [n, c]: mean (avg) or first maximum (max) over the hw pixels (hw == 0: mean NaN, max 0).
void GlobalPool2dF32(bool max, std::size_t n, std::size_t hw, std::size_t c, const float* x, float* y);
// dy [n, c] -> dx [n, hw, c]: avg spreads dy / hw, max routes dy to the first maximum.
void GlobalPool2dBackwardF32(bool max, std::size_t n, std::size_t hw, std::size_t c, const float* dy, const float* x,
                             float* dx);

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_POOL_H
