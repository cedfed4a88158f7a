// Optimizer update drivers (optim.h): double arithmetic per element, one rounding to float32 per store, in the
// order of the JS loops (src/optim/adam.ts, src/optim/sgd.ts). Built with -ffp-contract=off, so no a*b+c is
// fused and every operation rounds as JavaScript's does.
#include "optim.h"

#include <algorithm>
#include <cmath>

#include "thread_pool.h"

namespace {

constexpr std::size_t kChunk = 8192;  // elements per task; arrays up to this size run on the calling thread

// body(i0, i1) over [0, n) in fixed chunks of kChunk (elements are independent, so the split is only for speed).
template <class F>
void ForChunks(std::size_t n, F&& body) {
  if (n == 0) return;
  if (n <= kChunk) {
    body(std::size_t{0}, n);
    return;
  }
  auto task = [&](std::size_t t, int) { body(t * kChunk, std::min(n, (t + 1) * kChunk)); };
  nodegrad::ParallelFor((n + kChunk - 1) / kChunk, task);
}

void AdamRange(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v,
               std::size_t i0, std::size_t i1, double alpha, double c1, double c2, double eps, double keep) {
  for (std::size_t i = i0; i < i1; ++i) {
    const double gi = g[i];
    const double m0 = m[i];
    const double v0 = v[i];
    const double mi = m0 + (gi - m0) * c1;
    const double vi = v0 + (gi * gi - v0) * c2;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    w[i] = static_cast<float>(static_cast<double>(w[i]) * keep - (alpha * mi) / (std::sqrt(vi) + eps));
  }
}

void AmsgradRange(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v,
                  float* __restrict vh, std::size_t i0, std::size_t i1, double alpha, double c1, double c2, double eps,
                  double keep) {
  for (std::size_t i = i0; i < i1; ++i) {
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
    w[i] = static_cast<float>(static_cast<double>(w[i]) * keep -
                              (alpha * mi) / (std::sqrt(static_cast<double>(vhi)) + eps));
  }
}

void SgdPlainRange(float* __restrict w, const float* __restrict g, std::size_t i0, std::size_t i1, double lr,
                   double keep) {
  for (std::size_t i = i0; i < i1; ++i) {
    w[i] = static_cast<float>(static_cast<double>(w[i]) * keep - lr * static_cast<double>(g[i]));
  }
}

void SgdMomentumRange(float* __restrict w, const float* __restrict g, float* __restrict vel, std::size_t i0,
                      std::size_t i1, double lr, double mu, double keep) {
  for (std::size_t i = i0; i < i1; ++i) {
    const double mi = mu * static_cast<double>(vel[i]) - lr * static_cast<double>(g[i]);
    vel[i] = static_cast<float>(mi);
    w[i] = static_cast<float>(static_cast<double>(w[i]) * keep + mi);
  }
}

void SgdNesterovRange(float* __restrict w, const float* __restrict g, float* __restrict vel, std::size_t i0,
                      std::size_t i1, double lr, double mu, double keep) {
  for (std::size_t i = i0; i < i1; ++i) {
    const double gi = lr * static_cast<double>(g[i]);
    const double mi = mu * static_cast<double>(vel[i]) - gi;
    vel[i] = static_cast<float>(mi);
    w[i] = static_cast<float>(static_cast<double>(w[i]) * keep + (mu * mi - gi));
  }
}

}  // namespace

namespace nodegrad {

void AdamUpdateF32(float* w, const float* g, float* m, float* v, float* vhat, std::size_t n, double alpha, double c1,
                   double c2, double eps, double keep) {
  if (vhat) {
    ForChunks(n, [&](std::size_t i0, std::size_t i1) { AmsgradRange(w, g, m, v, vhat, i0, i1, alpha, c1, c2, eps, keep); });
  } else {
    ForChunks(n, [&](std::size_t i0, std::size_t i1) { AdamRange(w, g, m, v, i0, i1, alpha, c1, c2, eps, keep); });
  }
}

void SgdUpdateF32(float* w, const float* g, float* vel, std::size_t n, double lr, double mu, bool nesterov,
                  double keep) {
  if (!vel) {
    ForChunks(n, [&](std::size_t i0, std::size_t i1) { SgdPlainRange(w, g, i0, i1, lr, keep); });
  } else if (nesterov) {
    ForChunks(n, [&](std::size_t i0, std::size_t i1) { SgdNesterovRange(w, g, vel, i0, i1, lr, mu, keep); });
  } else {
    ForChunks(n, [&](std::size_t i0, std::size_t i1) { SgdMomentumRange(w, g, vel, i0, i1, lr, mu, keep); });
  }
}

}  // namespace nodegrad
