/*
 * Softmax, log-softmax and softmax cross-entropy forward and backward (ngcuda/eltwise.h), one warp per row:
 * the row's maximum (Math.max: NaN propagates), e_j = (float)exp((double)x_j - (double)max) and their sum in
 * double, then the CPU driver's formulas (native/runtime/eltwise.cc) element by element: softmax e_j / (float)s,
 * log-softmax (x_j - max) - (float)log(s), the loss (max - x_label) + log(s) in double, and its gradient
 * e_j * (float)(g / s) with g (p - 1) at the label computed as -g (s - e) / s (no cancellation). An int label
 * outside [0, c) is reported to the index-error record and makes its row NaN (the CPU kernels read it as a zero row,
 * but there the ops layer has rejected it before).
 * Softmax along an inner axis (x [outer, len, inner], inner > 1): the same formulas, one thread per (outer, inner)
 * column walking len in order (neighbouring threads read neighbouring columns: coalesced).
 */
#include <cuda_runtime.h>

#include <cmath>

#include "common.cuh"
#include "ngcuda/eltwise.h"

namespace ngcuda {

namespace {

__device__ __forceinline__ float WarpMax(float m) {
  for (int off = 16; off > 0; off >>= 1) m = JsMax(m, __shfl_xor_sync(0xffffffffu, m, off), false);
  return m;
}

__device__ __forceinline__ double WarpSum(double s) {
  for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
  return s;
}

__device__ __forceinline__ float ExpShift(float x, float m) {
  return static_cast<float>(exp(static_cast<double>(x) - static_cast<double>(m)));  // exact difference
}

// Row max and sum of exp(x - max) of a row, by the whole warp (every lane gets both).
__device__ __forceinline__ void RowStats(const float* xr, i64 cols, int lane, float* m_out, double* s_out) {
  float m = -INFINITY;
  for (i64 j = lane; j < cols; j += 32) m = JsMax(m, xr[j], false);
  m = WarpMax(m);
  double s = 0.0;
  for (i64 j = lane; j < cols; j += 32) s += static_cast<double>(ExpShift(xr[j], m));
  *m_out = m;
  *s_out = WarpSum(s);
}

// The CPU driver's per-row constant from the sum s: (float)log(s) for log-softmax, (float)s for softmax.
__device__ __forceinline__ float SoftmaxScale(int log_mode, double s) {
  return static_cast<float>(log_mode ? log(s) : s);
}

// One output from x, the row max m and SoftmaxScale k.
__device__ __forceinline__ float SoftmaxOut(int log_mode, float x, float m, float k) {
  return log_mode ? (x - m) - k : ExpShift(x, m) / k;
}

#define NGC_FOR_ROWS(row, rows)                                                                            \
  for (i64 row = static_cast<i64>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; row < (rows);       \
       row += static_cast<i64>(gridDim.x) * (blockDim.x / 32))

__global__ void SoftmaxKernel(int log_mode, const float* x, i64 rows, i64 cols, float* y) {
  const int lane = threadIdx.x % 32;
  NGC_FOR_ROWS(row, rows) {
    const float* xr = x + row * cols;
    float* yr = y + row * cols;
    float m;
    double s;
    RowStats(xr, cols, lane, &m, &s);
    __syncwarp();  // y may be x: every lane has read the row before any writes it
    const float k = SoftmaxScale(log_mode, s);
    for (i64 j = lane; j < cols; j += 32) yr[j] = SoftmaxOut(log_mode, xr[j], m, k);
  }
}

__global__ void SoftmaxColumnsKernel(int log_mode, const float* x, i64 outer, i64 len, i64 inner, float* y) {
  NGC_FOR(col, outer * inner) {
    const i64 o = col / inner;
    const i64 base = o * len * inner + (col - o * inner);
    float m = -INFINITY;
    for (i64 l = 0; l < len; ++l) m = JsMax(m, x[base + l * inner], false);
    double s = 0.0;
    for (i64 l = 0; l < len; ++l) s += static_cast<double>(ExpShift(x[base + l * inner], m));
    const float k = SoftmaxScale(log_mode, s);
    for (i64 l = 0; l < len; ++l) y[base + l * inner] = SoftmaxOut(log_mode, x[base + l * inner], m, k);  // y may be x
  }
}

__global__ void CrossEntropyKernel(const float* __restrict__ logits, const std::int32_t* __restrict__ ilabels,
                                   const float* __restrict__ flabels, i64 n, i64 c, float* __restrict__ loss,
                                   IndexReport rep) {
  const int lane = threadIdx.x % 32;
  NGC_FOR_ROWS(row, n) {
    const float* xr = logits + row * c;
    double l = 0.0;
    if (ilabels) {
      const std::int32_t lab = ilabels[row];
      if (lab >= 0 && static_cast<i64>(lab) < c) {
        float m;
        double s;
        RowStats(xr, c, lane, &m, &s);
        l = (static_cast<double>(m) - static_cast<double>(xr[lab])) + log(s);
      } else {  // reported; the row's loss is NaN
        if (lane == 0) ReportBadIndex(rep, row, lab);
        l = NAN;
      }
    } else if (c > 0) {
      float m;
      double s;
      RowStats(xr, c, lane, &m, &s);
      const double ls = log(s);
      const float* wr = flabels + row * c;
      double part = 0.0;
      for (i64 j = lane; j < c; j += 32) {
        const float wj = wr[j];
        if (wj != 0.0f) part += static_cast<double>(wj) * ((static_cast<double>(m) - static_cast<double>(xr[j])) + ls);
      }
      l = WarpSum(part);
    }
    if (lane == 0) loss[row] = static_cast<float>(l);
  }
}

__global__ void CrossEntropyBackwardKernel(const float* __restrict__ dloss, const float* __restrict__ logits,
                                           const std::int32_t* __restrict__ ilabels,
                                           const float* __restrict__ flabels, i64 n, i64 c,
                                           float* __restrict__ dlogits, IndexReport rep) {
  const int lane = threadIdx.x % 32;
  NGC_FOR_ROWS(row, n) {
    const float* xr = logits + row * c;
    float* dr = dlogits + row * c;
    const double g = static_cast<double>(dloss[row]);
    if (ilabels) {
      const std::int32_t lab = ilabels[row];
      if (lab < 0 || static_cast<i64>(lab) >= c) {  // reported; the row's gradient is NaN
        if (lane == 0) ReportBadIndex(rep, row, lab);
        for (i64 j = lane; j < c; j += 32) dr[j] = NAN;
        continue;
      }
      float m;
      double s;
      RowStats(xr, c, lane, &m, &s);
      const float scale = static_cast<float>(g / s);
      for (i64 j = lane; j < c; j += 32) {
        const float e = ExpShift(xr[j], m);
        dr[j] = j == lab ? static_cast<float>(-g * ((s - static_cast<double>(e)) / s)) : e * scale;
      }
      continue;
    }
    const float* wr = flabels + row * c;
    float m;
    double s;
    RowStats(xr, c, lane, &m, &s);
    double ws = 0.0;
    for (i64 j = lane; j < c; j += 32) ws += static_cast<double>(wr[j]);
    const double scale = WarpSum(ws) / s;
    for (i64 j = lane; j < c; j += 32) {
      dr[j] = static_cast<float>(g * (static_cast<double>(ExpShift(xr[j], m)) * scale - static_cast<double>(wr[j])));
    }
  }
}

unsigned RowGrid(i64 rows) { return GridFor(rows * 32); }

}  // namespace

void SoftmaxF32(bool log, const float* x, i64 outer, i64 len, i64 inner, float* y) {
  if (outer <= 0 || len <= 0 || inner <= 0) return;
  if (inner == 1) {
    NGC_LAUNCH(RowGrid(outer), kThreads, SoftmaxKernel)(log ? 1 : 0, x, outer, len, y);
    CheckLaunch(log ? "ng_cuda_log_softmax_f32" : "ng_cuda_softmax_f32");
  } else {
    NGC_LAUNCH(GridFor(outer * inner), kThreads, SoftmaxColumnsKernel)(log ? 1 : 0, x, outer, len, inner, y);
    CheckLaunch(log ? "ng_cuda_log_softmax_columns_f32" : "ng_cuda_softmax_columns_f32");
  }
}

void SoftmaxCrossEntropyF32(const float* logits, const std::int32_t* ilabels, const float* flabels, i64 n, i64 c,
                            float* loss) {
  if (n <= 0) return;
  const IndexReport rep = ilabels ? BeginIndexCheck(kCheckCrossEntropy, c) : IndexReport{};
  NGC_LAUNCH(RowGrid(n), kThreads, CrossEntropyKernel)(logits, ilabels, flabels, n, c, loss, rep);
  CheckLaunch("ng_cuda_softmax_cross_entropy_f32");
}

void SoftmaxCrossEntropyBackwardF32(const float* dloss, const float* logits, const std::int32_t* ilabels,
                                    const float* flabels, i64 n, i64 c, float* dlogits) {
  if (n <= 0 || (c <= 0 && !ilabels)) return;  // with c == 0 every int label is still out of range: reported, as forward
  const IndexReport rep = ilabels ? BeginIndexCheck(kCheckCrossEntropyBackward, c) : IndexReport{};
  NGC_LAUNCH(RowGrid(n), kThreads, CrossEntropyBackwardKernel)(dloss, logits, ilabels, flabels, n, c, dlogits, rep);
  CheckLaunch("ng_cuda_softmax_cross_entropy_bwd_f32");
}

}  // namespace ngcuda
