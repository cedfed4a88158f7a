/*
 * Depthwise convolution (Cin/groups == 1, groups == Cin, Cout = Cin * multiplier; filter [KH, KW, 1, Cout]),
 * forward and both gradients side by side.
 * - ng_cuda_dwconv2d_fwd: one thread per output (n, oy, ox, oc), oc fastest; bias first, then the in-bounds taps in
 *   (ky, kx) order, each product rounded and added separately (as the CPU's ref kernel), relu last.
 * - ng_cuda_dwconv2d_bwd_data: one thread per input (n, iy, ix, ic): a gather over the taps that read it and the
 *   multiplier's output channels ic*mult + m.
 * - ng_cuda_dwconv2d_bwd_filter: dw[tap, oc] sums x * dy over every output pixel: blocks of 32 channels x 8 pixel
 *   lanes, each block one tap and one of `splits` fixed slices of the pixels, partials reduced across the 8 lanes
 *   in shared memory and across the splits by ng_cuda_dwconv2d_bwd_filter_reduce in order (deterministic).
 */
#include <cuda_runtime.h>

#include <algorithm>

#include "common.cuh"
#include "ngcuda/conv.h"

namespace ngcuda {

namespace {

struct DwGeom {
  i64 n, h, w, cin, kh, kw, cout, oh, ow, sh, sw, dh, dw, pt, pl, mult;
};

DwGeom MakeGeom(const ConvShape& s) {
  return DwGeom{s.n, s.h, s.w, s.cin, s.kh, s.kw, s.cout, s.oh, s.ow, s.stride_h, s.stride_w, s.dil_h, s.dil_w,
                s.pad_top, s.pad_left, s.cout / s.cin};
}

__global__ void DwForwardKernel(DwGeom g, const float* __restrict__ x, const float* __restrict__ w,
                                const float* __restrict__ bias, float* __restrict__ y, int relu, i64 total) {
  NGC_FOR(idx, total) {
    i64 i, oy, ox, oc;
    UnravelNhwc(idx, g.oh, g.ow, g.cout, &i, &oy, &ox, &oc);
    const i64 ic = oc / g.mult;
    float acc = bias ? __ldg(bias + oc) : 0.0f;
    for (i64 ky = 0; ky < g.kh; ++ky) {
      const i64 iy = oy * g.sh - g.pt + ky * g.dh;
      if (iy < 0 || iy >= g.h) continue;
      const float* xr = x + ((i * g.h + iy) * g.w) * g.cin + ic;
      const float* wr = w + ky * g.kw * g.cout + oc;
      for (i64 kx = 0; kx < g.kw; ++kx) {
        const i64 ix = ox * g.sw - g.pl + kx * g.dw;
        if (ix < 0 || ix >= g.w) continue;
        acc += __ldg(xr + ix * g.cin) * __ldg(wr + kx * g.cout);
      }
    }
    if (relu && acc < 0.0f) acc = 0.0f;
    y[idx] = acc;
  }
}

__global__ void DwBackwardDataKernel(DwGeom g, const float* __restrict__ dy, const float* __restrict__ w,
                                     float* __restrict__ dx, i64 total) {
  NGC_FOR(idx, total) {
    i64 i, iy, ix, ic;
    UnravelNhwc(idx, g.h, g.w, g.cin, &i, &iy, &ix, &ic);
    float acc = 0.0f;
    for (i64 ky = 0; ky < g.kh; ++ky) {
      const i64 ty = iy + g.pt - ky * g.dh;
      if (ty < 0 || ty % g.sh != 0) continue;
      const i64 oy = ty / g.sh;
      if (oy >= g.oh) continue;
      for (i64 kx = 0; kx < g.kw; ++kx) {
        const i64 tx = ix + g.pl - kx * g.dw;
        if (tx < 0 || tx % g.sw != 0) continue;
        const i64 ox = tx / g.sw;
        if (ox >= g.ow) continue;
        const float* d = dy + ((i * g.oh + oy) * g.ow + ox) * g.cout + ic * g.mult;
        const float* wk = w + (ky * g.kw + kx) * g.cout + ic * g.mult;
        for (i64 m = 0; m < g.mult; ++m) acc += __ldg(d + m) * __ldg(wk + m);
      }
    }
    dx[idx] = acc;
  }
}

constexpr int kLanes = 8;  // pixel lanes per block (threadIdx.y)

// Grid (ceil(cout / 32), taps from tap0 on, splits). out: dw itself when splits == 1, else partials [splits, kh*kw, cout].
__global__ void DwBackwardFilterKernel(DwGeom g, const float* __restrict__ x, const float* __restrict__ dy,
                                       float* __restrict__ out, int splits, i64 tap0) {
  __shared__ float part[kLanes][32];
  const i64 oc = static_cast<i64>(blockIdx.x) * 32 + threadIdx.x;
  const i64 tap = tap0 + blockIdx.y, ky = tap / g.kw, kx = tap % g.kw;
  const int split = blockIdx.z;
  const i64 pixels = g.n * g.oh * g.ow;
  float acc = 0.0f;
  if (oc < g.cout) {
    const i64 ic = oc / g.mult;
    const i64 step = static_cast<i64>(splits) * kLanes;
    for (i64 p = static_cast<i64>(split) * kLanes + threadIdx.y; p < pixels; p += step) {
      const i64 ox = p % g.ow, rest = p / g.ow, oy = rest % g.oh, i = rest / g.oh;
      const i64 iy = oy * g.sh - g.pt + ky * g.dh, ix = ox * g.sw - g.pl + kx * g.dw;
      if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
      acc += __ldg(x + ((i * g.h + iy) * g.w + ix) * g.cin + ic) * __ldg(dy + p * g.cout + oc);
    }
  }
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && oc < g.cout) {
    float s = 0.0f;
    for (int l = 0; l < kLanes; ++l) s += part[l][threadIdx.x];
    out[(static_cast<i64>(split) * g.kh * g.kw + tap) * g.cout + oc] = s;
  }
}

__global__ void DwBackwardFilterReduceKernel(const float* __restrict__ part, float* __restrict__ dw, i64 per_split,
                                             int splits) {
  NGC_FOR(idx, per_split) {
    float s = 0.0f;
    for (int z = 0; z < splits; ++z) s += part[static_cast<i64>(z) * per_split + idx];
    dw[idx] = s;
  }
}

}  // namespace

void DepthwiseForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                      Activation act) {
  const i64 total = s.n * s.oh * s.ow * s.cout;
  if (total <= 0) return;
  NGC_LAUNCH(GridFor(total), kThreads, DwForwardKernel)(MakeGeom(s), x, w, bias, y, act == Activation::kRelu ? 1 : 0, total);
  CheckLaunch("ng_cuda_dwconv2d_fwd");
}

void DepthwiseBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const i64 total = s.n * s.h * s.w * s.cin;
  if (total <= 0) return;
  NGC_LAUNCH(GridFor(total), kThreads, DwBackwardDataKernel)(MakeGeom(s), dy, w, dx, total);
  CheckLaunch("ng_cuda_dwconv2d_bwd_data");
}

void DepthwiseBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const DeviceInfo& d = Init();
  const i64 taps = s.kh * s.kw, per_split = taps * s.cout;
  if (per_split <= 0) return;
  const i64 pixels = s.n * s.oh * s.ow;
  const i64 base_blocks = CeilDiv(s.cout, 32) * taps;
  // Enough blocks to fill the device four times over, each with at least 64 pixels per lane set.
  i64 splits = std::max<i64>(1, std::min<i64>(CeilDiv(4ll * d.sm_count, base_blocks), CeilDiv(pixels, 64 * kLanes)));
  splits = std::min<i64>(splits, 65535);
  float* out = dw;
  if (splits > 1) {
    out = static_cast<float*>(Scratch(kScratchPartials, static_cast<std::size_t>(splits * per_split) * sizeof(float)));
  }
  for (i64 tap0 = 0; tap0 < taps; tap0 += 65535) {  // grid.y holds at most 65535 taps per launch
    const dim3 grid(static_cast<unsigned>(CeilDiv(s.cout, 32)), static_cast<unsigned>(std::min<i64>(65535, taps - tap0)),
                    static_cast<unsigned>(splits));
    NGC_LAUNCH(grid, dim3(32, kLanes), DwBackwardFilterKernel)(MakeGeom(s), x, dy, out, static_cast<int>(splits), tap0);
    CheckLaunch("ng_cuda_dwconv2d_bwd_filter");
  }
  if (splits > 1) {
    NGC_LAUNCH(GridFor(per_split), kThreads, DwBackwardFilterReduceKernel)(out, dw, per_split, static_cast<int>(splits));
    CheckLaunch("ng_cuda_dwconv2d_bwd_filter_reduce");
  }
}

}  // namespace ngcuda
