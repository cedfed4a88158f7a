/*
 * Convolution drivers: forward, backward data and backward filter as im2col / col2im + SGEMM per group, the 1x1
 * stride-1 unpadded case as one SGEMM on the tensors in place, and Cin/groups == 1 on the depthwise kernels
 * (dwconv.cu). ngcuda/conv.h has the algorithms; here is only the bookkeeping of chunks, groups and strides.
 */
#include <cuda_runtime.h>

#include <algorithm>

#include "common.cuh"
#include "ngcuda/conv.h"
#include "ngcuda/eltwise.h"

namespace ngcuda {

namespace {

bool IsDepthwise(const ConvShape& s) { return s.groups >= 1 && s.cin == s.groups; }

// 1x1 kernel, stride 1, no padding: the column matrix would be x itself.
bool IsPointwise(const ConvShape& s) {
  return s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
         s.oh == s.h && s.ow == s.w;
}

// Whole images per column chunk: as many as fit the budget, at least one.
i64 ImagesPerChunk(const ConvShape& s, i64 kg) {
  const i64 per_image = std::max<i64>(1, s.oh * s.ow * kg);
  const i64 budget = static_cast<i64>(ColsBudgetFloats());
  return std::max<i64>(1, std::min<i64>(s.n, budget / per_image));
}

float* ColsBuffer(const ConvShape& s, i64 nb, i64 kg) {
  return static_cast<float*>(Scratch(kScratchCols, static_cast<std::size_t>(nb * s.oh * s.ow * kg) * sizeof(float)));
}

}  // namespace

const char* ConvAlgorithm(const ConvShape& s) {
  if (IsDepthwise(s)) return "depthwise";
  if (IsPointwise(s)) return "1x1+sgemm";
  return "im2col+sgemm";
}

void Conv2dForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y, Activation act,
                   bool tf32) {
  Init();
  if (s.n == 0 || s.oh == 0 || s.ow == 0 || s.cout == 0) return;
  if (IsDepthwise(s)) {
    DepthwiseForward(s, x, w, bias, y, act);
    return;
  }
  const i64 cg = s.cin / s.groups, cog = s.cout / s.groups, kg = s.kh * s.kw * cg;
  GemmArgs g;
  g.n = cog;
  g.k = kg;
  g.ldb = s.cout;
  g.ldc = s.cout;
  g.act = act;
  if (IsPointwise(s)) {
    g.m = s.n * s.h * s.w;
    g.lda = s.cin;
    for (i64 gr = 0; gr < s.groups; ++gr) {
      g.a = x + gr * cg;
      g.b = w + gr * cog;
      g.c = y + gr * cog;
      g.bias = bias ? bias + gr * cog : nullptr;
      Sgemm(g, tf32);
    }
    return;
  }
  const i64 nb = ImagesPerChunk(s, kg);
  float* cols = ColsBuffer(s, nb, kg);
  g.lda = kg;
  g.a = cols;
  for (i64 n0 = 0; n0 < s.n; n0 += nb) {
    const i64 cnt = std::min(nb, s.n - n0);
    g.m = cnt * s.oh * s.ow;
    for (i64 gr = 0; gr < s.groups; ++gr) {
      Im2col(s, x, n0, cnt, gr * cg, cg, cols);
      g.b = w + gr * cog;
      g.c = y + n0 * s.oh * s.ow * s.cout + gr * cog;
      g.bias = bias ? bias + gr * cog : nullptr;
      Sgemm(g, tf32);
    }
  }
}

void Conv2dBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx, bool tf32) {
  Init();
  if (s.n == 0 || s.h == 0 || s.w == 0 || s.cin == 0) return;
  if (s.oh == 0 || s.ow == 0) {
    FillF32(dx, s.n * s.h * s.w * s.cin, 0.0f);
    return;
  }
  if (IsDepthwise(s)) {
    DepthwiseBackwardData(s, dy, w, dx);
    return;
  }
  const i64 cg = s.cin / s.groups, cog = s.cout / s.groups, kg = s.kh * s.kw * cg;
  GemmArgs g;
  g.trans_b = true;  // op(B)[k = output channel][n = (ky, kx, ci)] = w[(ky, kx, ci), gr*cog + k]
  g.k = cog;
  g.lda = s.cout;
  g.ldb = s.cout;
  if (IsPointwise(s)) {
    g.m = s.n * s.h * s.w;
    g.n = cg;
    g.ldc = s.cin;
    for (i64 gr = 0; gr < s.groups; ++gr) {
      g.a = dy + gr * cog;
      g.b = w + gr * cog;
      g.c = dx + gr * cg;
      Sgemm(g, tf32);
    }
    return;
  }
  const i64 nb = ImagesPerChunk(s, kg);
  float* cols = ColsBuffer(s, nb, kg);
  g.n = kg;
  g.ldc = kg;
  g.c = cols;
  for (i64 n0 = 0; n0 < s.n; n0 += nb) {
    const i64 cnt = std::min(nb, s.n - n0);
    g.m = cnt * s.oh * s.ow;
    for (i64 gr = 0; gr < s.groups; ++gr) {
      g.a = dy + n0 * s.oh * s.ow * s.cout + gr * cog;
      g.b = w + gr * cog;
      Sgemm(g, tf32);
      Col2im(s, cols, n0, cnt, gr * cg, cg, dx);
    }
  }
}

void Conv2dBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw, bool tf32) {
  Init();
  const i64 cg = s.groups > 0 ? s.cin / s.groups : 0, cog = s.groups > 0 ? s.cout / s.groups : 0;
  const i64 kg = s.kh * s.kw * cg;
  if (kg == 0 || s.cout == 0) return;
  if (s.n == 0 || s.oh == 0 || s.ow == 0) {  // no pixel: the gradient is 0
    FillF32(dw, kg * s.cout, 0.0f);
    return;
  }
  if (IsDepthwise(s)) {
    DepthwiseBackwardFilter(s, x, dy, dw);
    return;
  }
  GemmArgs g;
  g.trans_a = true;  // op(A)[m = (ky, kx, ci)][k = pixel] = cols[pixel, m]
  g.m = kg;
  g.n = cog;
  g.ldb = s.cout;
  g.ldc = s.cout;
  if (IsPointwise(s)) {
    g.k = s.n * s.h * s.w;
    g.lda = s.cin;
    for (i64 gr = 0; gr < s.groups; ++gr) {
      g.a = x + gr * cg;
      g.b = dy + gr * cog;
      g.c = dw + gr * cog;
      Sgemm(g, tf32);
    }
    return;
  }
  const i64 nb = ImagesPerChunk(s, kg);
  float* cols = ColsBuffer(s, nb, kg);
  g.a = cols;
  g.lda = kg;
  for (i64 n0 = 0; n0 < s.n; n0 += nb) {
    const i64 cnt = std::min(nb, s.n - n0);
    g.k = cnt * s.oh * s.ow;
    g.beta = n0 == 0 ? 0.0f : 1.0f;  // later chunks add to the first one's sums
    for (i64 gr = 0; gr < s.groups; ++gr) {
      Im2col(s, x, n0, cnt, gr * cg, cg, cols);
      g.b = dy + n0 * s.oh * s.ow * s.cout + gr * cog;
      g.c = dw + gr * cog;
      Sgemm(g, tf32);
    }
  }
}

}  // namespace ngcuda
