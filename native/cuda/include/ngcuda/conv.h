/*
 * 2-D convolution on the GPU: NHWC activations, HWIO filters [KH, KW, Cin/groups, Cout] (native/runtime/conv.h's
 * conventions and geometry). Shapes are worked out and checked by the caller (TypeScript, then the addon).
 *
 * Algorithms (native/cuda/kernels/conv.cu, im2col.cu, dwconv.cu):
 * - forward: per group, im2col of a chunk of whole images into a [rows, KH*KW*Cin/groups] column matrix, then
 *   one SGEMM with the filter slice (ldb = Cout) writing the group's output columns (ldc = Cout), bias and relu in
 *   its epilogue. 1x1 stride-1 unpadded convolutions skip im2col: the GEMM reads x in place (lda = Cin).
 * - backward data (also conv2dTranspose's forward): per group dCols = dY_g W_g^T (SGEMM, trans_b), then col2im as
 *   a gather: each dx element sums the column entries of the windows that read it, in (kh, kw) order; no atomics,
 *   deterministic, pixels no window reads get 0. 1x1 stride-1 unpadded: one SGEMM straight into dx.
 * - backward filter: per group dW_g = cols^T dY_g (SGEMM, trans_a, split-K over the long pixel axis), chunks
 *   accumulated with beta = 1.
 * - depthwise (Cin/groups == 1, any channel multiplier): direct kernels, one thread per output element
 *   (forward), per input element (backward data, a gather), and a two-stage deterministic reduction per filter
 *   tap (backward filter).
 * Column chunks hold whole images, at most ColsBudgetFloats() floats (at least one image).
 */
#ifndef NGCUDA_CONV_H
#define NGCUDA_CONV_H

#include <cstdint>

#include "ngcuda/gemm.h"

namespace ngcuda {

// x [n, h, w, cin], filter [kh, kw, cin/groups, cout], y [n, oh, ow, cout]. pad_top/pad_left place the windows
// (window (oh, ow) starts at input (oh*stride_h - pad_top, ow*stride_w - pad_left)); bottom/right are implied.
struct ConvShape {
  std::int64_t n = 0, h = 0, w = 0, cin = 0;
  std::int64_t kh = 1, kw = 1, cout = 0;
  std::int64_t oh = 0, ow = 0;
  std::int64_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  std::int64_t pad_top = 0, pad_left = 0;
  std::int64_t groups = 1;
};

void Conv2dForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                   Activation act = Activation::kNone, bool tf32 = false);
void Conv2dBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx, bool tf32 = false);
void Conv2dBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw, bool tf32 = false);

// "im2col+sgemm", "1x1+sgemm" or "depthwise": the algorithm Conv2d* picks for s.
const char* ConvAlgorithm(const ConvShape& s);

// The building blocks, exposed for the harness. Images [n0, n0 + nb) of x, channels [c0, c0 + cg):
// cols[((i*oh + oy)*ow + ox), (ky*kw + kx)*cg + ci] = x[n0 + i, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c0 + ci] or 0.
void Im2col(const ConvShape& s, const float* x, std::int64_t n0, std::int64_t nb, std::int64_t c0, std::int64_t cg,
            float* cols);
// The adjoint, as a gather: dx[n0 + i, y, x, c0 + ci] = sum of the cols entries Im2col would copy from there
// (other dx channels untouched; every element of the chunk's channels [c0, c0+cg) is written).
void Col2im(const ConvShape& s, const float* cols, std::int64_t n0, std::int64_t nb, std::int64_t c0,
            std::int64_t cg, float* dx);

// Depthwise kernels (s.groups == s.cin, cout = cin * multiplier), also reached through Conv2d*.
void DepthwiseForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                      Activation act);
void DepthwiseBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx);
void DepthwiseBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw);

}  // namespace ngcuda

#endif  // NGCUDA_CONV_H
