/*
 * Pooling on the GPU over NHWC images, with the reference backend's semantics (nodegrad/pool.h): only in-bounds
 * pixels take part; max keeps the first maximum in row-major window order and the first NaN wins; an average
 * divides by the in-bounds count; an all-padding window gives 0 and no gradient.
 *
 * Kernels (native/cuda/kernels/pool.cu): one thread per output element, channels fastest (coalesced). The
 * backward passes are gathers (one thread per input element, summing over the windows that hold it in (oh, ow)
 * order), so they need no atomics, are deterministic and match the CPU's float sums bit for bit.
 */
#ifndef NGCUDA_POOL_H
#define NGCUDA_POOL_H

#include <cstdint>

namespace ngcuda {

struct PoolGeom {
  std::int64_t n = 0, h = 0, w = 0, c = 0;
  std::int64_t kh = 1, kw = 1, sh = 1, sw = 1;
  std::int64_t pad_top = 0, pad_left = 0;
  std::int64_t oh = 0, ow = 0;
};

void MaxPool2dForward(const PoolGeom& g, const float* x, float* y);
// dx (overwritten) = dy routed to each window's first maximum (recomputed from x), overlaps summed.
void MaxPool2dBackward(const PoolGeom& g, const float* dy, const float* x, float* dx);
void AvgPool2dForward(const PoolGeom& g, const float* x, float* y);
void AvgPool2dBackward(const PoolGeom& g, const float* dy, float* dx);
// x [n, hw, c] -> y [n, c]: mean (sum in double, / hw) or first maximum; hw == 0: NaN.
void GlobalPool2dForward(bool max, std::int64_t n, std::int64_t hw, std::int64_t c, const float* x, float* y);
// dy [n, c] -> dx [n, hw, c]: avg spreads (float)(dy / hw), max routes dy to the first maximum.
void GlobalPool2dBackward(bool max, std::int64_t n, std::int64_t hw, std::int64_t c, const float* dy, const float* x,
                          float* dx);

}  // namespace ngcuda

#endif  // NGCUDA_POOL_H
