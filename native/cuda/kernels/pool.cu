/*
 * Max, average and global pooling over NHWC, forward and backward side by side (ngcuda/pool.h has the semantics).
 * - ng_cuda_maxpool2d_fwd / ng_cuda_avgpool2d_fwd: one thread per output (n, oy, ox, c), c fastest; the window's
 *   in-bounds pixels in row-major order (max: first maximum, first NaN; avg: float sum / in-bounds count).
 * - ng_cuda_maxpool2d_bwd: one thread per input pixel: for each window holding it, in (oy, ox) order, recompute
 *   that window's first maximum and add dy when it is this pixel.
 * - ng_cuda_avgpool2d_bwd: one thread per input pixel: sum of dy * (float)(1 / count) over the windows holding it,
 *   in (oy, ox) order: the CPU kernel's products and sums exactly.
 * - ng_cuda_global{avg,max}pool_fwd/_bwd: one thread per (n, c) walking the hw pixels (reads coalesced across c).
 */
#include <cuda_runtime.h>

#include <cmath>

#include "common.cuh"
#include "ngcuda/pool.h"

namespace ngcuda {

namespace {

// The input rows [h0, h1) and columns [w0, w1) window (oy, ox) covers inside the image; empty when all padding.
struct Window {
  i64 h0, h1, w0, w1;
  __device__ bool Empty() const { return h0 >= h1 || w0 >= w1; }
  __device__ i64 Count() const { return Empty() ? 0 : (h1 - h0) * (w1 - w0); }
};

__device__ __forceinline__ Window ClipWindow(const PoolGeom& g, i64 oy, i64 ox) {
  const i64 r0 = oy * g.sh - g.pad_top, c0 = ox * g.sw - g.pad_left;
  return Window{max(r0, i64{0}), min(r0 + g.kh, g.h), max(c0, i64{0}), min(c0 + g.kw, g.w)};
}

// Flat pixel (row-major within the image) of window (oy, ox)'s first maximum in channel ch, or -1 if all padding.
__device__ __forceinline__ i64 WindowArgMax(const PoolGeom& g, const float* xi, i64 ch, i64 oy, i64 ox) {
  const Window win = ClipWindow(g, oy, ox);
  if (win.Empty()) return -1;
  i64 best = win.h0 * g.w + win.w0;
  float m = __ldg(xi + best * g.c + ch);
  for (i64 ih = win.h0; ih < win.h1; ++ih) {
    for (i64 iw = ih == win.h0 ? win.w0 + 1 : win.w0; iw < win.w1; ++iw) {
      const float v = __ldg(xi + (ih * g.w + iw) * g.c + ch);
      if (Beats(v, m)) {
        m = v;
        best = ih * g.w + iw;
      }
    }
  }
  return best;
}

__global__ void MaxPoolForwardKernel(PoolGeom g, const float* __restrict__ x, float* __restrict__ y, i64 total) {
  NGC_FOR(idx, total) {
    i64 i, oy, ox, ch;
    UnravelNhwc(idx, g.oh, g.ow, g.c, &i, &oy, &ox, &ch);
    const float* xi = x + i * g.h * g.w * g.c;
    const i64 best = WindowArgMax(g, xi, ch, oy, ox);
    y[idx] = best < 0 ? 0.0f : __ldg(xi + best * g.c + ch);  // an all-padding window gives 0
  }
}

// Windows holding input row iy: oy in [lo, hi) (likewise columns).
__device__ __forceinline__ void WindowsHolding(i64 iy, i64 pad, i64 k, i64 s, i64 out, i64* lo, i64* hi) {
  *lo = max(FloorDiv(iy + pad - k, s) + 1, i64{0});
  *hi = min(FloorDiv(iy + pad, s) + 1, out);
}

__global__ void MaxPoolBackwardKernel(PoolGeom g, const float* __restrict__ dy, const float* __restrict__ x,
                                      float* __restrict__ dx, i64 total) {
  NGC_FOR(idx, total) {
    i64 i, iy, ix, ch;
    UnravelNhwc(idx, g.h, g.w, g.c, &i, &iy, &ix, &ch);
    i64 oy0, oy1, ox0, ox1;
    WindowsHolding(iy, g.pad_top, g.kh, g.sh, g.oh, &oy0, &oy1);
    WindowsHolding(ix, g.pad_left, g.kw, g.sw, g.ow, &ox0, &ox1);
    const float* xi = x + i * g.h * g.w * g.c;
    const i64 me = iy * g.w + ix;
    float acc = 0.0f;
    for (i64 oy = oy0; oy < oy1; ++oy) {
      for (i64 ox = ox0; ox < ox1; ++ox) {
        if (WindowArgMax(g, xi, ch, oy, ox) == me) acc += __ldg(dy + ((i * g.oh + oy) * g.ow + ox) * g.c + ch);
      }
    }
    dx[idx] = acc;
  }
}

__global__ void AvgPoolForwardKernel(PoolGeom g, const float* __restrict__ x, float* __restrict__ y, i64 total) {
  NGC_FOR(idx, total) {
    i64 i, oy, ox, ch;
    UnravelNhwc(idx, g.oh, g.ow, g.c, &i, &oy, &ox, &ch);
    const Window win = ClipWindow(g, oy, ox);
    if (win.Empty()) {
      y[idx] = 0.0f;
      continue;
    }
    const float* xi = x + i * g.h * g.w * g.c + ch;
    float s = 0.0f;
    for (i64 ih = win.h0; ih < win.h1; ++ih) {
      for (i64 iw = win.w0; iw < win.w1; ++iw) s += __ldg(xi + (ih * g.w + iw) * g.c);
    }
    y[idx] = s / static_cast<float>(win.Count());
  }
}

__global__ void AvgPoolBackwardKernel(PoolGeom g, const float* __restrict__ dy, float* __restrict__ dx, i64 total) {
  NGC_FOR(idx, total) {
    i64 i, iy, ix, ch;
    UnravelNhwc(idx, g.h, g.w, g.c, &i, &iy, &ix, &ch);
    i64 oy0, oy1, ox0, ox1;
    WindowsHolding(iy, g.pad_top, g.kh, g.sh, g.oh, &oy0, &oy1);
    WindowsHolding(ix, g.pad_left, g.kw, g.sw, g.ow, &ox0, &ox1);
    float acc = 0.0f;
    for (i64 oy = oy0; oy < oy1; ++oy) {
      for (i64 ox = ox0; ox < ox1; ++ox) {
        const i64 count = ClipWindow(g, oy, ox).Count();
        // 1 / count rounded once from double, as the CPU driver's inv_count table.
        const float inv = count > 0 ? static_cast<float>(1.0 / static_cast<double>(count)) : 0.0f;
        acc += __ldg(dy + ((i * g.oh + oy) * g.ow + ox) * g.c + ch) * inv;
      }
    }
    dx[idx] = acc;
  }
}

__global__ void GlobalPoolForwardKernel(int max_mode, i64 n, i64 hw, i64 c, const float* __restrict__ x,
                                        float* __restrict__ y) {
  NGC_FOR(idx, n * c) {
    const i64 i = idx / c, ch = idx % c;
    const float* xi = x + i * hw * c + ch;
    if (hw == 0) {
      y[idx] = nanf("");
      continue;
    }
    if (max_mode) {
      float m = __ldg(xi);
      for (i64 p = 1; p < hw; ++p) {
        const float v = __ldg(xi + p * c);
        if (Beats(v, m)) m = v;
      }
      y[idx] = m;
    } else {
      double s = 0.0;
      for (i64 p = 0; p < hw; ++p) s += static_cast<double>(__ldg(xi + p * c));
      y[idx] = static_cast<float>(s / static_cast<double>(hw));
    }
  }
}

__global__ void GlobalPoolBackwardKernel(int max_mode, i64 n, i64 hw, i64 c, const float* __restrict__ dy,
                                         const float* __restrict__ x, float* __restrict__ dx) {
  NGC_FOR(idx, n * c) {
    const i64 i = idx / c, ch = idx % c;
    const float d = __ldg(dy + idx);
    float* dxi = dx + i * hw * c + ch;
    if (max_mode) {
      const float* xi = x + i * hw * c + ch;
      float m = __ldg(xi);
      i64 arg = 0;
      for (i64 p = 1; p < hw; ++p) {
        const float v = __ldg(xi + p * c);
        if (Beats(v, m)) {
          m = v;
          arg = p;
        }
      }
      for (i64 p = 0; p < hw; ++p) dxi[p * c] = p == arg ? d : 0.0f;
    } else {
      const float v = static_cast<float>(static_cast<double>(d) / static_cast<double>(hw));
      for (i64 p = 0; p < hw; ++p) dxi[p * c] = v;
    }
  }
}

}  // namespace

void MaxPool2dForward(const PoolGeom& g, const float* x, float* y) {
  const i64 total = g.n * g.oh * g.ow * g.c;
  if (total <= 0) return;
  NGC_LAUNCH(GridFor(total), kThreads, MaxPoolForwardKernel)(g, x, y, total);
  CheckLaunch("ng_cuda_maxpool2d_fwd");
}

void MaxPool2dBackward(const PoolGeom& g, const float* dy, const float* x, float* dx) {
  const i64 total = g.n * g.h * g.w * g.c;
  if (total <= 0) return;
  NGC_LAUNCH(GridFor(total), kThreads, MaxPoolBackwardKernel)(g, dy, x, dx, total);
  CheckLaunch("ng_cuda_maxpool2d_bwd");
}

void AvgPool2dForward(const PoolGeom& g, const float* x, float* y) {
  const i64 total = g.n * g.oh * g.ow * g.c;
  if (total <= 0) return;
  NGC_LAUNCH(GridFor(total), kThreads, AvgPoolForwardKernel)(g, x, y, total);
  CheckLaunch("ng_cuda_avgpool2d_fwd");
}

void AvgPool2dBackward(const PoolGeom& g, const float* dy, float* dx) {
  const i64 total = g.n * g.h * g.w * g.c;
  if (total <= 0) return;
  NGC_LAUNCH(GridFor(total), kThreads, AvgPoolBackwardKernel)(g, dy, dx, total);
  CheckLaunch("ng_cuda_avgpool2d_bwd");
}

void GlobalPool2dForward(bool max, i64 n, i64 hw, i64 c, const float* x, float* y) {
  if (n * c <= 0) return;
  NGC_LAUNCH(GridFor(n * c), kThreads, GlobalPoolForwardKernel)(max ? 1 : 0, n, hw, c, x, y);
  CheckLaunch(max ? "ng_cuda_globalmaxpool_fwd" : "ng_cuda_globalavgpool_fwd");
}

void GlobalPool2dBackward(bool max, i64 n, i64 hw, i64 c, const float* dy, const float* x, float* dx) {
  if (n * hw * c <= 0) return;
  NGC_LAUNCH(GridFor(n * c), kThreads, GlobalPoolBackwardKernel)(max ? 1 : 0, n, hw, c, dy, x, dx);
  CheckLaunch(max ? "ng_cuda_globalmaxpool_bwd" : "ng_cuda_globalavgpool_bwd");
}

}  // namespace ngcuda
