// Optimizer update drivers (optim.h): the per-element steps of nodegrad/optim_step.h (double arithmetic, one
// rounding to float32 per store, in the order of the JS loops) over chunks of the thread pool. Built with
// -ffp-contract=off, so no a*b+c is fused and every operation rounds as JavaScript's does.
#include "optim.h"

#include <algorithm>

#include "nodegrad/optim_step.h"

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
  for (std::size_t i = i0; i < i1; ++i) nodegrad::AdamStep(w, g, m, v, i, alpha, c1, c2, eps, keep);
}

void AmsgradRange(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v,
                  float* __restrict vh, std::size_t i0, std::size_t i1, double alpha, double c1, double c2, double eps,
                  double keep) {
  for (std::size_t i = i0; i < i1; ++i) nodegrad::AmsgradStep(w, g, m, v, vh, i, alpha, c1, c2, eps, keep);
}

void SgdPlainRange(float* __restrict w, const float* __restrict g, std::size_t i0, std::size_t i1, double lr,
                   double keep) {
  for (std::size_t i = i0; i < i1; ++i) nodegrad::SgdPlainStep(w, g, i, lr, keep);
}

void SgdMomentumRange(float* __restrict w, const float* __restrict g, float* __restrict vel, std::size_t i0,
                      std::size_t i1, double lr, double mu, double keep) {
  for (std::size_t i = i0; i < i1; ++i) nodegrad::SgdMomentumStep(w, g, vel, i, lr, mu, keep);
}

void SgdNesterovRange(float* __restrict w, const float* __restrict g, float* __restrict vel, std::size_t i0,
                      std::size_t i1, double lr, double mu, double keep) {
  for (std::size_t i = i0; i < i1; ++i) nodegrad::SgdNesterovStep(w, g, vel, i, lr, mu, keep);
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
