/*
 * Batch-norm drivers over x [rows, c] (channels last), called by the addon (native/addon/norm.cc) after it has
 * checked every length. Baseline-ISA code; the SIMD is in the kernels of nodegrad/norm.h.
 *
 * Training forward reads x twice: one fused pass for both channel statistics, shifted by each channel's first
 * value and summed in double (|mean| >> std stays accurate: no E[x^2] - mean^2 cancellation), then the
 * normalisation. Backward reads (dy, x) twice: sum(dy) and sum(dy * (x - mean)) in one pass, then dx.
 * Reductions split rows into fixed chunks (or channels into blocks when c is large) whose partial sums are
 * added in chunk order: the split depends only on the shape, so results are bit-identical for any thread count.
 */
#ifndef NODEGRAD_RUNTIME_NORM_H
#define NODEGRAD_RUNTIME_NORM_H

#include <cstddef>

namespace nodegrad {

// Training: y = gamma * (x - mean) / sqrt(var + eps) + beta with the batch mean and biased variance, which are
// written to mean/var ([c]). rows == 0: mean and var are NaN (0/0, as the reference).
void BatchNormTrainF32(const float* x, std::size_t rows, std::size_t c, const float* gamma, const float* beta,
                       double eps, float* y, float* mean, float* var);
// Inference: the same with the given (moving) mean and var.
void BatchNormInferF32(const float* x, std::size_t rows, std::size_t c, const float* gamma, const float* beta,
                       const float* mean, const float* var, double eps, float* y);
// dgamma = sum(dy * xhat), dbeta = sum(dy); dx per the reference (training: mean/var depend on x).
void BatchNormBackwardF32(bool training, const float* dy, const float* x, std::size_t rows, std::size_t c,
                          const float* gamma, const float* mean, const float* var, double eps, float* dx,
                          float* dgamma, float* dbeta);

}  // namespace nodegrad

#endif  // NODEGRAD_RUNTIME_NORM_H
