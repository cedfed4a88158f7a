/*
 * One element of each optimizer update, shared by the CPU drivers (native/runtime/optim.cc) and the CUDA kernels
 * (native/cuda/kernels/optim.cu), so the two compute the same formulas in the same order: double arithmetic, one
 * rounding to float32 per store, the order of the JS loops (src/optim/adam.ts, sgd.ts). Both builds keep every
 * product and sum separately rounded (-ffp-contract=off, --fmad=false), so their results agree bit for bit.
 */
#ifndef NODEGRAD_OPTIM_STEP_H
#define NODEGRAD_OPTIM_STEP_H

#include <math.h>

#include <cstddef>

#ifdef __CUDACC__
#define NG_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define NG_HOST_DEVICE inline
#endif

namespace nodegrad {

// Adam (AdamW with keep = 1 - wd * lr) at element i: m and v move toward g, then w steps by alpha m / (sqrt(v) + eps).
NG_HOST_DEVICE void AdamStep(float* w, const float* g, float* m, float* v, std::size_t i, double alpha, double c1,
                             double c2, double eps, double keep) {
  const double gi = g[i];
  const double m0 = m[i];
  const double v0 = v[i];
  const double mi = m0 + (gi - m0) * c1;
  const double vi = v0 + (gi * gi - v0) * c2;
  m[i] = static_cast<float>(mi);
  v[i] = static_cast<float>(vi);
  w[i] = static_cast<float>(static_cast<double>(w[i]) * keep - (alpha * mi) / (sqrt(vi) + eps));
}

// AMSGrad: as Adam, with the step scaled by the running maximum vh of the stored (float32) v.
NG_HOST_DEVICE void AmsgradStep(float* w, const float* g, float* m, float* v, float* vh, std::size_t i, double alpha,
                                double c1, double c2, double eps, double keep) {
  const double gi = g[i];
  const double m0 = m[i];
  const double v0 = v[i];
  const double mi = m0 + (gi - m0) * c1;
  const double vi = v0 + (gi * gi - v0) * c2;
  m[i] = static_cast<float>(mi);
  const float vs = static_cast<float>(vi);  // the stored (float32) v
  v[i] = vs;
  const float h = vh[i];
  const float vhi = h > vs ? h : vs;  // NaN in vhat: vs, as the JS comparison
  vh[i] = vhi;
  w[i] = static_cast<float>(static_cast<double>(w[i]) * keep - (alpha * mi) / (sqrt(static_cast<double>(vhi)) + eps));
}

NG_HOST_DEVICE void SgdPlainStep(float* w, const float* g, std::size_t i, double lr, double keep) {
  w[i] = static_cast<float>(static_cast<double>(w[i]) * keep - lr * static_cast<double>(g[i]));
}

NG_HOST_DEVICE void SgdMomentumStep(float* w, const float* g, float* vel, std::size_t i, double lr, double mu,
                                    double keep) {
  const double mi = mu * static_cast<double>(vel[i]) - lr * static_cast<double>(g[i]);
  vel[i] = static_cast<float>(mi);
  w[i] = static_cast<float>(static_cast<double>(w[i]) * keep + mi);
}

NG_HOST_DEVICE void SgdNesterovStep(float* w, const float* g, float* vel, std::size_t i, double lr, double mu,
                                    double keep) {
  const double gi = lr * static_cast<double>(g[i]);
  const double mi = mu * static_cast<double>(vel[i]) - gi;
  vel[i] = static_cast<float>(mi);
  w[i] = static_cast<float>(static_cast<double>(w[i]) * keep + (mu * mi - gi));
}

}  // namespace nodegrad

#undef NG_HOST_DEVICE

#endif  // NODEGRAD_OPTIM_STEP_H
