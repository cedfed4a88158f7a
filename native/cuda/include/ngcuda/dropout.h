/*
 * Inverted dropout on the GPU with the CPU's Philox4x32-10 stream (src/random/philox.ts,
 * src/backends/reference/dropout.ts): draw i is word i % 4 of block i / 4 under key (seed low, seed high) and
 * counter (block low, block high, 0, 0), u_i = (word >> 8) * 2^-24; mask[i] = float(1 / (1 - rate)) if
 * u_i >= rate else 0 (rate <= 0: 1 everywhere); y[i] = x[i] * mask[i] in float32. Bit-identical to the CPU.
 * Kernels: native/cuda/kernels/dropout.cu.
 */
#ifndef NGCUDA_DROPOUT_H
#define NGCUDA_DROPOUT_H

#include <cstdint>

namespace ngcuda {

// seed < 2^53; x, y and mask of n elements, y and mask distinct from each other (y may be x).
void DropoutF32(const float* x, float* y, float* mask, std::int64_t n, double rate, std::uint64_t seed);

}  // namespace ngcuda

#endif  // NGCUDA_DROPOUT_H
