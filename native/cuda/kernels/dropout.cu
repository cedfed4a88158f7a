/*
 * Inverted dropout with the CPU's Philox4x32-10 stream (ngcuda/dropout.h): one thread per Philox block of four
 * draws, so each block is computed once; every draw depends only on (seed, index), as on the CPU.
 */
#include <cuda_runtime.h>

#include "common.cuh"
#include "ngcuda/dropout.h"

namespace ngcuda {

namespace {

// High 32 bits of a 32x32 product (mul.hi.u32 on the GPU).
__device__ __forceinline__ std::uint32_t MulHi(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(a) * b) >> 32);
}

// Philox4x32-10, src/random/philox.ts philox4x32 line for line.
__device__ __forceinline__ void Philox(std::uint32_t k0, std::uint32_t k1, std::uint32_t c0, std::uint32_t c1,
                                       std::uint32_t* w) {
  std::uint32_t x0 = c0, x1 = c1, x2 = 0, x3 = 0;
  for (int r = 0; r < 10; ++r) {
    const std::uint32_t hi0 = MulHi(0xd2511f53u, x0), lo0 = 0xd2511f53u * x0;
    const std::uint32_t hi1 = MulHi(0xcd9e8d57u, x2), lo1 = 0xcd9e8d57u * x2;
    x0 = hi1 ^ x1 ^ k0;
    x1 = lo1;
    x2 = hi0 ^ x3 ^ k1;
    x3 = lo0;
    k0 += 0x9e3779b9u;
    k1 += 0xbb67ae85u;
  }
  w[0] = x0;
  w[1] = x1;
  w[2] = x2;
  w[3] = x3;
}

__global__ void DropoutKernel(const float* x, float* y, float* __restrict__ mask, i64 n, double rate, float scale,
                              std::uint32_t k0, std::uint32_t k1, bool draw) {
  NGC_FOR(b, (n + 3) / 4) {
    std::uint32_t w[4] = {0, 0, 0, 0};
    if (draw) Philox(k0, k1, static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(static_cast<std::uint64_t>(b) >> 32), w);
    for (int j = 0; j < 4; ++j) {
      const i64 i = b * 4 + j;
      if (i >= n) break;
      const double u = static_cast<double>(w[j] >> 8) * (1.0 / 16777216.0);
      const float m = !draw || u >= rate ? scale : 0.0f;
      mask[i] = m;
      y[i] = x[i] * m;  // the float32 product of the stored mask, as the CPU
    }
  }
}

}  // namespace

void DropoutF32(const float* x, float* y, float* mask, i64 n, double rate, std::uint64_t seed) {
  if (n <= 0) return;
  const bool draw = rate > 0;  // rate <= 0 keeps everything with scale 1, no draws (as the CPU)
  const float scale = draw ? static_cast<float>(1.0 / (1.0 - rate)) : 1.0f;
  NGC_LAUNCH(GridFor(CeilDiv(n, 4)), kThreads, DropoutKernel)(x, y, mask, n, rate, scale,
                                                              static_cast<std::uint32_t>(seed),
                                                              static_cast<std::uint32_t>(seed >> 32), draw);
  CheckLaunch("ng_cuda_dropout_f32");
}

}  // namespace ngcuda
