/*
 * im2col and col2im for NHWC images (ngcuda/conv.h has the layouts). One thread per element of the column matrix
 * (im2col: channels innermost, so a warp reads and writes runs of consecutive channels) or of the image
 * (col2im: a gather over the (ky, kx) taps that read the pixel, in that order: no atomics, deterministic).
 * Index arithmetic is 32-bit when the chunk has fewer than 2^31 elements (integer division is the cost here),
 * 64-bit otherwise.
 */
#include <cuda_runtime.h>

#include "common.cuh"
#include "ngcuda/conv.h"

namespace ngcuda {

namespace {

struct ColGeom {
  i64 h, w, cin, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl;
  i64 n0, c0, cg;  // first image, first channel of the group, channels of the group
};

ColGeom MakeGeom(const ConvShape& s, i64 n0, i64 c0, i64 cg) {
  return ColGeom{s.h, s.w, s.cin, s.kh, s.kw, s.oh, s.ow, s.stride_h, s.stride_w, s.dil_h, s.dil_w, s.pad_top,
                 s.pad_left, n0, c0, cg};
}

// cols[idx], idx = (((i*oh + oy)*ow + ox)*kh + ky)*kw + kx)*cg + ci.
template <class I>
__global__ void Im2colKernel(ColGeom g, const float* __restrict__ x, float* __restrict__ cols, I total) {
  for (I idx = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<I>(gridDim.x) * blockDim.x) {
    I t = idx;
    const I ci = t % static_cast<I>(g.cg);
    t /= static_cast<I>(g.cg);
    const I kx = t % static_cast<I>(g.kw);
    t /= static_cast<I>(g.kw);
    const I ky = t % static_cast<I>(g.kh);
    t /= static_cast<I>(g.kh);
    const I ox = t % static_cast<I>(g.ow);
    t /= static_cast<I>(g.ow);
    const I oy = t % static_cast<I>(g.oh);
    const I i = t / static_cast<I>(g.oh);
    const i64 iy = static_cast<i64>(oy) * g.sh - g.pt + static_cast<i64>(ky) * g.dh;
    const i64 ix = static_cast<i64>(ox) * g.sw - g.pl + static_cast<i64>(kx) * g.dw;
    float v = 0.0f;
    if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
      v = __ldg(x + (((g.n0 + static_cast<i64>(i)) * g.h + iy) * g.w + ix) * g.cin + g.c0 + static_cast<i64>(ci));
    }
    cols[idx] = v;
  }
}

// dx[n0 + i, iy, ix, c0 + ci] = sum over taps (ky, kx) whose window position (oy, ox) exists of cols[row, tap, ci].
template <class I>
__global__ void Col2imKernel(ColGeom g, const float* __restrict__ cols, float* __restrict__ dx, I total) {
  const i64 kg = g.kh * g.kw * g.cg;
  for (I idx = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<I>(gridDim.x) * blockDim.x) {
    I t = idx;
    const I ci = t % static_cast<I>(g.cg);
    t /= static_cast<I>(g.cg);
    const I ix = t % static_cast<I>(g.w);
    t /= static_cast<I>(g.w);
    const I iy = t % static_cast<I>(g.h);
    const I i = t / static_cast<I>(g.h);
    float acc = 0.0f;
    for (i64 ky = 0; ky < g.kh; ++ky) {
      const i64 ty = static_cast<i64>(iy) + g.pt - ky * g.dh;  // = oy * sh when a window row reads iy
      if (ty < 0 || ty % g.sh != 0) continue;
      const i64 oy = ty / g.sh;
      if (oy >= g.oh) continue;
      for (i64 kx = 0; kx < g.kw; ++kx) {
        const i64 tx = static_cast<i64>(ix) + g.pl - kx * g.dw;
        if (tx < 0 || tx % g.sw != 0) continue;
        const i64 ox = tx / g.sw;
        if (ox >= g.ow) continue;
        const i64 row = (static_cast<i64>(i) * g.oh + oy) * g.ow + ox;
        acc += __ldg(cols + row * kg + (ky * g.kw + kx) * g.cg + static_cast<i64>(ci));
      }
    }
    dx[(((g.n0 + static_cast<i64>(i)) * g.h + static_cast<i64>(iy)) * g.w + static_cast<i64>(ix)) * g.cin + g.c0 +
       static_cast<i64>(ci)] = acc;
  }
}

constexpr i64 kInt32Limit = 2147483647;

}  // namespace

void Im2col(const ConvShape& s, const float* x, i64 n0, i64 nb, i64 c0, i64 cg, float* cols) {
  const i64 total = nb * s.oh * s.ow * s.kh * s.kw * cg;
  if (total <= 0) return;
  const ColGeom g = MakeGeom(s, n0, c0, cg);
  if (total < kInt32Limit) {
    NGC_LAUNCH(GridFor(total), kThreads, Im2colKernel<unsigned>)(g, x, cols, static_cast<unsigned>(total));
  } else {
    NGC_LAUNCH(GridFor(total), kThreads, Im2colKernel<i64>)(g, x, cols, total);
  }
  CheckLaunch("ng_cuda_im2col_nhwc");
}

void Col2im(const ConvShape& s, const float* cols, i64 n0, i64 nb, i64 c0, i64 cg, float* dx) {
  const i64 total = nb * s.h * s.w * cg;
  if (total <= 0) return;
  const ColGeom g = MakeGeom(s, n0, c0, cg);
  if (total < kInt32Limit) {
    NGC_LAUNCH(GridFor(total), kThreads, Col2imKernel<unsigned>)(g, cols, dx, static_cast<unsigned>(total));
  } else {
    NGC_LAUNCH(GridFor(total), kThreads, Col2imKernel<i64>)(g, cols, dx, total);
  }
  CheckLaunch("ng_cuda_col2im_nhwc_gather");
}

}  // namespace ngcuda
