/*
 * 2-D convolution drivers (NHWC activations, HWIO filters [KH, KW, Cin/groups, Cout]), called by the addon
 * (native/addon/conv.cc) after it has checked every length and integer. Baseline-ISA code: the SIMD lives in
 * the GEMM micro-kernels and in the depthwise row kernels (nodegrad/conv.h), reached through dispatch.
 *
 * Algorithms (conv_gemm.cc, conv_dw.cc):
 * - forward: im2col + SGEMM with the batch folded into M (rows = output pixels, K = KH*KW*Cin/groups,
 *   N = Cout/groups), the column matrix built one row tile at a time in per-thread scratch so it stays in
 *   cache; threads take row tiles (SgemmSerial each), or one threaded Sgemm per tile when there are fewer
 *   tiles than threads. Bias is the GEMM epilogue's. 1x1 stride-1 unpadded: one GEMM straight on x.
 * - backward data: a gather: for stride 1 it is the forward conv of dy with the filter flipped and transposed
 *   (pads (K-1)*d - pad); for stride s it splits into s_h*s_w phases (input pixels with the same residue),
 *   each a stride-1 conv over the taps that reach it. conv2dTranspose is the same entry. 1x1 stride-1
 *   unpadded: one GEMM on dy. Where that GEMM is thin (cin <= 64, or maps of at most 8x8, ungrouped), col2im
 *   instead: dcol = dy x W^T over chunks of whole images, added into dx image by image, so tasks never write
 *   the same pixel and the sums run in one order at every thread count. NODEGRAD_COL2IM=0 turns it off.
 * - backward filter: dW = cols^T x dy summed over row tiles; each of T tasks (T = thread count) sums a fixed
 *   range of tiles into its own partial dW, and the partials are added in task order: deterministic for a
 *   fixed thread count. 1x1 stride-1 unpadded with a small dW (SgemmSplitsK): one GEMM on x and dy in place,
 *   whose reduction-major path splits the pixels in chunks fixed by the shape: the same bits at every thread
 *   count.
 * - 3x3 stride 1 (forward, backward data and backward filter): Winograd F(2x2, 3x3) when the channels are wide
 *   enough (conv_wino.cc); the backward filter also wants at least 32 tiles of 2x2 outputs.
 * - depthwise (Cin/groups == 1, any multiplier): direct SIMD row kernels, threads over rows.
 *
 * Scratch slots (thread_pool.h): 0 = per-thread tile buffers (columns, staged output, expanded rows),
 * 1 = calling thread's buffers (transformed filter, partial dW). Slots 2 and 3 are the GEMM's (gemm.h).
 */
#ifndef NODEGRAD_RUNTIME_CONV_H
#define NODEGRAD_RUNTIME_CONV_H

#include <cstddef>

#include "gemm.h"  // Activation

namespace nodegrad {

// One convolution's geometry; x [n, h, w, cin], filter [kh, kw, cin/groups, cout], y [n, oh, ow, cout].
// Preconditions (checked by the addon): kh, kw, strides, dilations, groups >= 1; groups divides cin and cout;
// oh, ow >= 1 when n > 0; every product of sizes fits in size_t.
struct ConvShape {
  std::size_t n = 0, h = 0, w = 0, cin = 0;
  std::size_t kh = 1, kw = 1, cout = 0;
  std::size_t oh = 0, ow = 0;
  std::size_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  std::size_t pad_top = 0, pad_left = 0;  // the bottom/right pads are implied by oh/ow
  std::size_t groups = 1;
};

// y[n, oh, ow, cout] = act(conv2d(x, w) + bias) (bias: cout values or null). y is overwritten. The activation
// is applied where each output is written (GEMM epilogue, Winograd output transform, depthwise row); relu is
// `v < 0 ? 0 : v`, so NaN and -0 pass through (as the SGEMM epilogue).
void Conv2dForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                   Activation act = Activation::kNone);

// dx[n, h, w, cin] = gradient of conv2d with respect to x, given dy [n, oh, ow, cout]. dx is overwritten;
// input pixels no window reads get 0. Also conv2dTranspose's forward.
void Conv2dBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx);

// dw[kh, kw, cin/groups, cout] = gradient of conv2d with respect to w, given x and dy. dw is overwritten.
void Conv2dBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw);

// Names of the depthwise row kernels the dispatched ISA path runs (forward, backward data, backward filter).
const char* DwConvForwardKernelName();
const char* DwConvBackwardDataKernelName();
const char* DwConvBackwardFilterKernelName();

// Internal: false when the environment variable `name` is "0" (the NODEGRAD_WINOGRAD / NODEGRAD_COL2IM switches;
// callers cache it in a static, so it is read once).
bool EnvSwitchOn(const char* name);

// Internal: Winograd F(2x2, 3x3) (conv_wino.cc) for 3x3 stride-1 undilated ungrouped convs with >= 16 channels
// each side and 2x2 output tiles at least 3/4 used (backward data: pads <= 2; backward filter: >= 32 tiles);
// NODEGRAD_WINOGRAD=0 turns it off.
bool WinogradForwardApplies(const ConvShape& s);
bool WinogradBackwardDataApplies(const ConvShape& s);
bool WinogradBackwardFilterApplies(const ConvShape& s);
// false (nothing written) when an input (x, dy or the filter) holds Inf or NaN: the caller runs im2col instead.
bool WinogradForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y, Activation act);
bool WinogradBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx);
bool WinogradBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw);

// Internal: the depthwise drivers (conv_dw.cc), used when cin/groups == 1.
void DwConv2dForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y, Activation act);
void DwConv2dBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx);
void DwConv2dBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw);

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_CONV_H
