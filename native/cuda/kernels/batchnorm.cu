/*
 * Batch norm over x [rows, c], forward (training and inference) and backward side by side (ngcuda/norm.h).
 * - ng_cuda_bn_stats / ng_cuda_bn_bwd_reduce: blocks of 32 channels (threadIdx.x, coalesced) x 8 row lanes; block
 *   (bx, split) sums rows split*8 + ty, split*8 + ty + splits*8, ... in double, the 8 lanes are added in order in
 *   shared memory and written as the split's partial.
 * - ng_cuda_bn_finalize / ng_cuda_bn_bwd_finalize: one thread per channel adds the partials in split order and
 *   works out the per-channel coefficients in double, exactly as native/runtime/norm.cc does.
 * - ng_cuda_bn_apply / ng_cuda_bn_bwd_apply: elementwise with those coefficients, the CPU kernels' float ops.
 * The split count depends only on the shape and the device's SM count: results are deterministic.
 */
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "common.cuh"
#include "ngcuda/eltwise.h"
#include "ngcuda/norm.h"

namespace ngcuda {

namespace {

constexpr int kLanes = 8;

// Row splits for a per-channel reduction: about four blocks per SM, at least 8 rows per lane set.
int SplitsFor(i64 rows, i64 c) {
  const i64 blocks_x = CeilDiv(c, 32);
  const i64 want = CeilDiv(4ll * Init().sm_count, blocks_x);
  return static_cast<int>(std::max<i64>(1, std::min<i64>({want, CeilDiv(rows, kLanes * 8), 1024})));
}

// The block's two per-channel sums of this row split, its kLanes lane partials added in lane order (every thread
// of the block calls it: it holds a barrier).
__device__ void StoreSplitSums(double s1, double s2, int split, i64 c, i64 ch, double* __restrict__ p1,
                               double* __restrict__ p2) {
  __shared__ double a1[kLanes][32], a2[kLanes][32];
  a1[threadIdx.y][threadIdx.x] = s1;
  a2[threadIdx.y][threadIdx.x] = s2;
  __syncthreads();
  if (threadIdx.y == 0 && ch < c) {
    double t1 = 0.0, t2 = 0.0;
    for (int l = 0; l < kLanes; ++l) {
      t1 += a1[l][threadIdx.x];
      t2 += a2[l][threadIdx.x];
    }
    p1[static_cast<i64>(split) * c + ch] = t1;
    p2[static_cast<i64>(split) * c + ch] = t2;
  }
}

// s1 = sum(x - shift), s2 = sum((x - shift)^2) with shift = the channel's first value (0 if not finite).
__global__ void StatsKernel(const float* __restrict__ x, i64 rows, i64 c, double* __restrict__ p1,
                            double* __restrict__ p2) {
  const i64 ch = static_cast<i64>(blockIdx.x) * 32 + threadIdx.x;
  const int split = blockIdx.y, splits = gridDim.y;
  double s1 = 0.0, s2 = 0.0;
  if (ch < c) {
    const float f = __ldg(x + ch);
    const double shift = isfinite(f) ? static_cast<double>(f) : 0.0;
    for (i64 r = static_cast<i64>(split) * kLanes + threadIdx.y; r < rows; r += static_cast<i64>(splits) * kLanes) {
      const double d = static_cast<double>(__ldg(x + r * c + ch)) - shift;  // exact: both are floats
      s1 += d;
      s2 += d * d;
    }
  }
  StoreSplitSums(s1, s2, split, c, ch, p1, p2);
}

// mean/var outputs and coef = [mean_hi (c), mean_lo (c), scale (c)].
__global__ void FinalizeKernel(const float* __restrict__ x, const double* __restrict__ p1,
                               const double* __restrict__ p2, int splits, i64 rows, i64 c,
                               const float* __restrict__ gamma, double eps, float* __restrict__ mean,
                               float* __restrict__ var, float* __restrict__ coef) {
  NGC_FOR(ch, c) {
    double s1 = 0.0, s2 = 0.0;
    for (int z = 0; z < splits; ++z) {
      s1 += p1[static_cast<i64>(z) * c + ch];
      s2 += p2[static_cast<i64>(z) * c + ch];
    }
    const float f = x[ch];
    const double shift = isfinite(f) ? static_cast<double>(f) : 0.0;
    const double R = static_cast<double>(rows);
    const double d = s1 / R;
    const double m = shift + d;
    const double v = fmax(s2 / R - d * d, 0.0);
    mean[ch] = static_cast<float>(m);
    var[ch] = static_cast<float>(v);
    const float mh = static_cast<float>(m);
    coef[ch] = mh;                                                   // the mean as a float pair hi + lo, so that
    coef[c + ch] = static_cast<float>(m - static_cast<double>(mh));  // x - mean is near exact for |mean| >> std
    coef[2 * c + ch] = static_cast<float>(static_cast<double>(gamma[ch]) / sqrt(v + eps));
  }
}

__global__ void InferCoefKernel(const float* __restrict__ mean, const float* __restrict__ var,
                                const float* __restrict__ gamma, double eps, i64 c, float* __restrict__ coef) {
  NGC_FOR(ch, c) {
    coef[ch] = mean[ch];
    coef[c + ch] = 0.0f;
    coef[2 * c + ch] = static_cast<float>(static_cast<double>(gamma[ch]) / sqrt(static_cast<double>(var[ch]) + eps));
  }
}

// y = ((x - mean_hi) - mean_lo) * scale + beta.
__global__ void ApplyKernel(const float* __restrict__ x, i64 total, i64 c, const float* __restrict__ coef,
                            const float* __restrict__ beta, float* __restrict__ y) {
  NGC_FOR(idx, total) {
    const i64 ch = idx % c;
    y[idx] = ((__ldg(x + idx) - coef[ch]) - coef[c + ch]) * coef[2 * c + ch] + __ldg(beta + ch);
  }
}

// sdy = sum(dy), sdyx = sum(dy * (x - mean)) (the product in float, as the CPU), in double.
__global__ void BwdReduceKernel(const float* __restrict__ dy, const float* __restrict__ x,
                                const float* __restrict__ mean, i64 rows, i64 c, double* __restrict__ p1,
                                double* __restrict__ p2) {
  const i64 ch = static_cast<i64>(blockIdx.x) * 32 + threadIdx.x;
  const int split = blockIdx.y, splits = gridDim.y;
  double s1 = 0.0, s2 = 0.0;
  if (ch < c) {
    const float mu = __ldg(mean + ch);
    for (i64 r = static_cast<i64>(split) * kLanes + threadIdx.y; r < rows; r += static_cast<i64>(splits) * kLanes) {
      const float d = __ldg(dy + r * c + ch);
      s1 += static_cast<double>(d);
      s2 += static_cast<double>(d * (__ldg(x + r * c + ch) - mu));
    }
  }
  StoreSplitSums(s1, s2, split, c, ch, p1, p2);
}

// coef = [a (c), b (c), k (c)]: dx = a dy - (b (x - mean) + k).
__global__ void BwdFinalizeKernel(const double* __restrict__ p1, const double* __restrict__ p2, int splits, i64 rows,
                                  i64 c, const float* __restrict__ gamma, const float* __restrict__ var, double eps,
                                  float* __restrict__ dgamma, float* __restrict__ dbeta, float* __restrict__ coef) {
  NGC_FOR(ch, c) {
    double sdy = 0.0, sdyx = 0.0;
    for (int z = 0; z < splits; ++z) {
      sdy += p1[static_cast<i64>(z) * c + ch];
      sdyx += p2[static_cast<i64>(z) * c + ch];
    }
    const double R = static_cast<double>(rows);
    const double istd = 1.0 / sqrt(static_cast<double>(var[ch]) + eps);
    const double ga = static_cast<double>(gamma[ch]) * istd;
    dgamma[ch] = static_cast<float>(sdyx * istd);
    dbeta[ch] = static_cast<float>(sdy);
    coef[ch] = static_cast<float>(ga);
    coef[c + ch] = static_cast<float>(ga * istd * istd * sdyx / R);
    coef[2 * c + ch] = static_cast<float>(ga * sdy / R);
  }
}

__global__ void BwdApplyKernel(const float* __restrict__ dy, const float* __restrict__ x,
                               const float* __restrict__ mean, i64 total, i64 c, const float* __restrict__ coef,
                               int training, float* __restrict__ dx) {
  NGC_FOR(idx, total) {
    const i64 ch = idx % c;
    const float a = coef[ch];
    if (!training) {
      dx[idx] = a * __ldg(dy + idx);
      continue;
    }
    dx[idx] = a * __ldg(dy + idx) - (coef[c + ch] * (__ldg(x + idx) - __ldg(mean + ch)) + coef[2 * c + ch]);
  }
}

// Scratch: two double partial arrays [splits, c], then 3c floats of coefficients.
struct Work {
  double* p1;
  double* p2;
  float* coef;
};

Work GetWork(int splits, i64 c) {
  const std::size_t dbl = static_cast<std::size_t>(splits) * c;
  char* base = static_cast<char*>(Scratch(kScratchPartials, 2 * dbl * sizeof(double) + 3 * c * sizeof(float)));
  Work w;
  w.p1 = reinterpret_cast<double*>(base);
  w.p2 = w.p1 + dbl;
  w.coef = reinterpret_cast<float*>(w.p2 + dbl);
  return w;
}

}  // namespace

void BatchNormTrain(const float* x, i64 rows, i64 c, const float* gamma, const float* beta, double eps, float* y,
                    float* mean, float* var) {
  Init();
  if (c <= 0) return;
  if (rows == 0) {
    FillF32(mean, c, nanf(""));
    FillF32(var, c, nanf(""));
    return;
  }
  const int splits = SplitsFor(rows, c);
  const Work w = GetWork(splits, c);
  NGC_LAUNCH(dim3(static_cast<unsigned>(CeilDiv(c, 32)), splits), dim3(32, kLanes), StatsKernel)(x, rows, c, w.p1, w.p2);
  CheckLaunch("ng_cuda_bn_stats");
  NGC_LAUNCH(GridFor(c), kThreads, FinalizeKernel)(x, w.p1, w.p2, splits, rows, c, gamma, eps, mean, var, w.coef);
  CheckLaunch("ng_cuda_bn_finalize");
  NGC_LAUNCH(GridFor(rows * c), kThreads, ApplyKernel)(x, rows * c, c, w.coef, beta, y);
  CheckLaunch("ng_cuda_bn_apply");
}

void BatchNormInfer(const float* x, i64 rows, i64 c, const float* gamma, const float* beta, const float* mean,
                    const float* var, double eps, float* y) {
  Init();
  if (c <= 0 || rows <= 0) return;
  const Work w = GetWork(0, c);
  NGC_LAUNCH(GridFor(c), kThreads, InferCoefKernel)(mean, var, gamma, eps, c, w.coef);
  CheckLaunch("ng_cuda_bn_infer_coef");
  NGC_LAUNCH(GridFor(rows * c), kThreads, ApplyKernel)(x, rows * c, c, w.coef, beta, y);
  CheckLaunch("ng_cuda_bn_apply");
}

void BatchNormBackward(bool training, const float* dy, const float* x, i64 rows, i64 c, const float* gamma,
                       const float* mean, const float* var, double eps, float* dx, float* dgamma, float* dbeta) {
  Init();
  if (c <= 0) return;
  if (rows == 0) {  // empty sums: 0, whatever the statistics are
    FillF32(dgamma, c, 0.0f);
    FillF32(dbeta, c, 0.0f);
    return;
  }
  const int splits = SplitsFor(rows, c);
  const Work w = GetWork(splits, c);
  NGC_LAUNCH(dim3(static_cast<unsigned>(CeilDiv(c, 32)), splits), dim3(32, kLanes), BwdReduceKernel)(dy, x, mean, rows, c,
                                                                                              w.p1, w.p2);
  CheckLaunch("ng_cuda_bn_bwd_reduce");
  NGC_LAUNCH(GridFor(c), kThreads, BwdFinalizeKernel)(w.p1, w.p2, splits, rows, c, gamma, var, eps, dgamma, dbeta, w.coef);
  CheckLaunch("ng_cuda_bn_bwd_finalize");
  NGC_LAUNCH(GridFor(rows * c), kThreads, BwdApplyKernel)(dy, x, mean, rows * c, c, w.coef, training ? 1 : 0, dx);
  CheckLaunch("ng_cuda_bn_bwd_apply");
}

}  // namespace ngcuda
