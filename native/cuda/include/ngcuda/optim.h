/*
 * Optimizer updates on the GPU, in place, with the formulas of native/runtime/optim.h (and src/optim/adam.ts,
 * sgd.ts): every element computed in double from the float32 inputs and rounded once. The library is built with
 * --fmad=false, so no multiply-add is contracted and the results are bit-identical to the CPU's.
 * Kernels: native/cuda/kernels/optim.cu.
 */
#ifndef NGCUDA_OPTIM_H
#define NGCUDA_OPTIM_H

#include <cstdint>

namespace ngcuda {

// Adam / AdamW / AMSGrad (vhat non-null) over n elements; arrays must not overlap. `probe` (null: none) is one
// device float: when it is NaN or infinite the kernel writes nothing (PyTorch GradScaler's found_inf guard).
void AdamUpdateF32(float* w, const float* g, float* m, float* v, float* vhat, std::int64_t n, double alpha, double c1,
                   double c2, double eps, double keep, const float* probe);
// SGD (vel null), momentum, or Nesterov momentum over n elements, guarded by `probe` as Adam; arrays must not overlap.
void SgdUpdateF32(float* w, const float* g, float* vel, std::int64_t n, double lr, double mu, bool nesterov,
                  double keep, const float* probe);

}  // namespace ngcuda

#endif  // NGCUDA_OPTIM_H
