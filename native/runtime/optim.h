/*
 * Optimizer update drivers (Adam, SGD), called by the addon (native/addon/optim.cc) after it has checked every
 * length and overlap. Each element is computed in double from the float32 inputs and stored rounded to float32
 * once, exactly as the JS loops of src/optim/adam.ts and src/optim/sgd.ts do, so the results are bit-identical
 * to them. Elements are independent; the work is split over the pool in fixed chunks (any thread count gives
 * the same bits). Baseline-ISA code: plain loops the compiler vectorises, no per-ISA kernels.
 */
#ifndef NODEGRAD_RUNTIME_OPTIM_H
#define NODEGRAD_RUNTIME_OPTIM_H

#include <cstddef>

namespace nodegrad {

// Adam / AdamW / AMSGrad over n elements, in place on w, m, v (and vhat when not null):
//   m = m + (g - m) * c1;  v = v + (g*g - v) * c2;           (double, stored as float32)
//   vhat = max(vhat, float32 v), which replaces v below       (amsgrad)
//   w = w * keep - alpha * m / (sqrt(v) + eps)                (with the unrounded double m and v)
// The arrays must not overlap.
void AdamUpdateF32(float* w, const float* g, float* m, float* v, float* vhat, std::size_t n, double alpha, double c1,
                   double c2, double eps, double keep);

// SGD over n elements, in place on w (and vel when not null):
//   vel == nullptr:  w = w * keep - lr * g
//   momentum:        m = mu * vel - lr * g;  vel = m;  w = w * keep + m
//   nesterov:        gi = lr * g;  m = mu * vel - gi;  vel = m;  w = w * keep + (mu * m - gi)
// The arrays must not overlap.
void SgdUpdateF32(float* w, const float* g, float* vel, std::size_t n, double lr, double mu, bool nesterov,
                  double keep);

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_OPTIM_H
