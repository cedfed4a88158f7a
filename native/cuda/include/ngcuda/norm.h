/*
 * Batch norm on the GPU over x [rows, c] (channels last), as native/runtime/norm.h: training normalises with
 * the batch mean and biased variance (shifted by each channel's first value and summed in double, so
 * |mean| >> std stays accurate), inference with the given statistics; the backward sums sum(dy) and
 * sum(dy * (x - mean)) in double.
 *
 * Kernels (native/cuda/kernels/batchnorm.cu): per-channel sums in two deterministic stages (blocks of
 * 32 channels x 8 row lanes write partials for a fixed row split, one thread per channel adds them in order),
 * then an elementwise pass with the per-channel coefficients.
 */
#ifndef NGCUDA_NORM_H
#define NGCUDA_NORM_H

#include <cstdint>

namespace ngcuda {

// y = gamma (x - mean) / sqrt(var + eps) + beta with the batch statistics, written to mean/var ([c]).
// rows == 0: mean and var are NaN.
void BatchNormTrain(const float* x, std::int64_t rows, std::int64_t c, const float* gamma, const float* beta,
                    double eps, float* y, float* mean, float* var);
void BatchNormInfer(const float* x, std::int64_t rows, std::int64_t c, const float* gamma, const float* beta,
                    const float* mean, const float* var, double eps, float* y);
// dgamma = sum(dy xhat), dbeta = sum(dy); dx as the reference (training: the statistics depend on x).
void BatchNormBackward(bool training, const float* dy, const float* x, std::int64_t rows, std::int64_t c,
                       const float* gamma, const float* mean, const float* var, double eps, float* dx, float* dgamma,
                       float* dbeta);

}  // namespace ngcuda

#endif  // NGCUDA_NORM_H
