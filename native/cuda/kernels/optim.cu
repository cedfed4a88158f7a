/*
 * Adam (AdamW, AMSGrad) and SGD (momentum, Nesterov) updates in place (ngcuda/optim.h): the CPU's per-element steps
 * (nodegrad/optim_step.h), one thread per element. Built with --fmad=false, and double division and sqrt are
 * IEEE-rounded, so the results equal the CPU's bit for bit.
 * An optional probe (GradScaler's found_inf, PyTorch): when it is NaN or infinite, no thread writes anything.
 */
#include <cuda_runtime.h>

#include "common.cuh"
#include "ngcuda/optim.h"
#include "nodegrad/optim_step.h"

namespace ngcuda {

namespace {

// The guard every thread checks first: a NaN or infinite probe cancels the whole update.
__device__ __forceinline__ bool Cancelled(const float* probe) { return probe != nullptr && !isfinite(*probe); }

__global__ void AdamKernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ m,
                           float* __restrict__ v, i64 n, double alpha, double c1, double c2, double eps, double keep,
                           const float* __restrict__ probe) {
  if (Cancelled(probe)) return;
  NGC_FOR(i, n) nodegrad::AdamStep(w, g, m, v, i, alpha, c1, c2, eps, keep);
}

__global__ void AmsgradKernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ m,
                              float* __restrict__ v, float* __restrict__ vh, i64 n, double alpha, double c1, double c2,
                              double eps, double keep, const float* __restrict__ probe) {
  if (Cancelled(probe)) return;
  NGC_FOR(i, n) nodegrad::AmsgradStep(w, g, m, v, vh, i, alpha, c1, c2, eps, keep);
}

__global__ void SgdPlainKernel(float* __restrict__ w, const float* __restrict__ g, i64 n, double lr, double keep,
                               const float* __restrict__ probe) {
  if (Cancelled(probe)) return;
  NGC_FOR(i, n) nodegrad::SgdPlainStep(w, g, i, lr, keep);
}

__global__ void SgdMomentumKernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ vel, i64 n,
                                  double lr, double mu, double keep, const float* __restrict__ probe) {
  if (Cancelled(probe)) return;
  NGC_FOR(i, n) nodegrad::SgdMomentumStep(w, g, vel, i, lr, mu, keep);
}

__global__ void SgdNesterovKernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ vel, i64 n,
                                  double lr, double mu, double keep, const float* __restrict__ probe) {
  if (Cancelled(probe)) return;
  NGC_FOR(i, n) nodegrad::SgdNesterovStep(w, g, vel, i, lr, mu, keep);
}

}  // namespace

void AdamUpdateF32(float* w, const float* g, float* m, float* v, float* vhat, i64 n, double alpha, double c1,
                   double c2, double eps, double keep, const float* probe) {
  if (n <= 0) return;
  if (vhat) {
    NGC_LAUNCH(GridFor(n), kThreads, AmsgradKernel)(w, g, m, v, vhat, n, alpha, c1, c2, eps, keep, probe);
    CheckLaunch("ng_cuda_amsgrad_update_f32");
  } else {
    NGC_LAUNCH(GridFor(n), kThreads, AdamKernel)(w, g, m, v, n, alpha, c1, c2, eps, keep, probe);
    CheckLaunch("ng_cuda_adam_update_f32");
  }
}

void SgdUpdateF32(float* w, const float* g, float* vel, i64 n, double lr, double mu, bool nesterov, double keep,
                 const float* probe) {
  if (n <= 0) return;
  if (!vel) {
    NGC_LAUNCH(GridFor(n), kThreads, SgdPlainKernel)(w, g, n, lr, keep, probe);
    CheckLaunch("ng_cuda_sgd_update_f32");
  } else if (nesterov) {
    NGC_LAUNCH(GridFor(n), kThreads, SgdNesterovKernel)(w, g, vel, n, lr, mu, keep, probe);
    CheckLaunch("ng_cuda_sgd_nesterov_update_f32");
  } else {
    NGC_LAUNCH(GridFor(n), kThreads, SgdMomentumKernel)(w, g, vel, n, lr, mu, keep, probe);
    CheckLaunch("ng_cuda_sgd_momentum_update_f32");
  }
}

}  // namespace ngcuda
