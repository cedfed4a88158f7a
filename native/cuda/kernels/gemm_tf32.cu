/*
 * SGEMM on tensor cores in TF32 (sm_80+): ng_cuda_sgemm_tf32_wmma_128x128x16_<ta><tb>[_v4].
 *
 * 256 threads = 8 warps in a 2 x 4 grid, each warp a 64 x 32 piece of the 128 x 128 tile as 4 x 2 wmma
 * m16n16k8 accumulators. K is walked in 16-deep slices through two shared buffers (As[m][k], Bs[k][n], padded by
 * 4 floats: wmma wants ldm a multiple of 4 and 32-byte aligned fragment pointers, which the row lengths 20 and
 * 132 keep), loaded exactly as the FP32 kernel does (guarded, zero-filled, float4 when aligned), rounded to TF32
 * (round to nearest, 10 mantissa bits) once when stored to shared memory. Each warp then stages one 16x16
 * accumulator at a time through shared memory to apply the guarded epilogue (or write split-K partials).
 *
 * Accuracy: each product sees both inputs with relative error <= 2^-11, accumulation is FP32:
 *   |C - C_exact| <= (2^-10 + 2^-22 + gamma_K) * sum_k |a_ik b_kj|   (gamma_K = K 2^-24 / (1 - K 2^-24)).
 */
#include <cuda_runtime.h>
#include <mma.h>

#include "gemm_internal.cuh"

namespace ngcuda {

namespace {

constexpr int BM = kTf32BM, BN = kTf32BN, BK = kTf32BK;
constexpr int kPad = 4;
constexpr int kLdA = BK + kPad;  // As[m][k]
constexpr int kLdB = BN + kPad;  // Bs[k][n]
constexpr int kWarpsM = 2, kWarpsN = 4;
constexpr int kWarpM = BM / kWarpsM, kWarpN = BN / kWarpsN;  // 64 x 32
constexpr int kFragM = kWarpM / 16, kFragN = kWarpN / 16;    // 4 x 2
constexpr int kBlockThreads = kWarpsM * kWarpsN * 32;

template <bool TA, bool TB, bool V4>
__global__ void __launch_bounds__(kBlockThreads) SgemmTf32Kernel(GemmDev p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  constexpr int NVA = BM * BK / 4, NVB = BN * BK / 4;
  constexpr int LA = NVA / kBlockThreads, LB = NVB / kBlockThreads;
  static_assert(NVA % kBlockThreads == 0 && NVB % kBlockThreads == 0, "whole float4 slots per thread");

  __shared__ __align__(32) float As[2][BM][kLdA];
  __shared__ __align__(32) float Bs[2][BK][kLdB];
  __shared__ __align__(32) float Stage[kWarpsM * kWarpsN][16 * 16];

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = warp / kWarpsN, wn = warp % kWarpsN;
  const int split = static_cast<int>(blockIdx.z % p.splits);
  const long long item = blockIdx.z / p.splits;
  const float* A = p.a + (p.item0 + item) * p.sa;
  const float* B = p.b + (p.item0 + item) * p.sb;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const int kbeg = split * p.kchunk;
  const int kend = static_cast<int>(min(static_cast<long long>(p.k), static_cast<long long>(kbeg) + p.kchunk));
  const int ntiles = kend > kbeg ? (kend - kbeg + BK - 1) / BK : 0;

  float4 ra[LA], rb[LB];
  auto load = [&](int k0) {
#pragma unroll
    for (int i = 0; i < LA; ++i) {
      const int v = tid + i * kBlockThreads;
      if (!TA) ra[i] = LoadQuad<V4>(A, m0 + v / (BK / 4), k0 + (v % (BK / 4)) * 4, p.m, kend, p.lda);
      else ra[i] = LoadQuad<V4>(A, k0 + v / (BM / 4), m0 + (v % (BM / 4)) * 4, kend, p.m, p.lda);
    }
#pragma unroll
    for (int i = 0; i < LB; ++i) {
      const int v = tid + i * kBlockThreads;
      if (!TB) rb[i] = LoadQuad<V4>(B, k0 + v / (BN / 4), n0 + (v % (BN / 4)) * 4, kend, p.n, p.ldb);
      else rb[i] = LoadQuad<V4>(B, n0 + v / (BK / 4), k0 + (v % (BK / 4)) * 4, p.n, kend, p.ldb);
    }
  };
  auto tf = [](float x) { return wmma::__float_to_tf32(x); };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < LA; ++i) {
      const int v = tid + i * kBlockThreads;
      const float4 q = ra[i];
      if (!TA) {
        const int row = v / (BK / 4), kq = (v % (BK / 4)) * 4;
        *reinterpret_cast<float4*>(&As[buf][row][kq]) = make_float4(tf(q.x), tf(q.y), tf(q.z), tf(q.w));
      } else {
        const int kr = v / (BM / 4), mq = (v % (BM / 4)) * 4;
        As[buf][mq + 0][kr] = tf(q.x);
        As[buf][mq + 1][kr] = tf(q.y);
        As[buf][mq + 2][kr] = tf(q.z);
        As[buf][mq + 3][kr] = tf(q.w);
      }
    }
#pragma unroll
    for (int i = 0; i < LB; ++i) {
      const int v = tid + i * kBlockThreads;
      const float4 q = rb[i];
      if (!TB) {
        *reinterpret_cast<float4*>(&Bs[buf][v / (BN / 4)][(v % (BN / 4)) * 4]) =
            make_float4(tf(q.x), tf(q.y), tf(q.z), tf(q.w));
      } else {
        const int col = v / (BK / 4), kq = (v % (BK / 4)) * 4;
        Bs[buf][kq + 0][col] = tf(q.x);
        Bs[buf][kq + 1][col] = tf(q.y);
        Bs[buf][kq + 2][col] = tf(q.z);
        Bs[buf][kq + 3][col] = tf(q.w);
      }
    }
  };

  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[kFragM][kFragN];
#pragma unroll
  for (int i = 0; i < kFragM; ++i) {
#pragma unroll
    for (int j = 0; j < kFragN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  }

  if (ntiles > 0) {
    load(kbeg);
    store(0);
    __syncthreads();
  }
  int buf = 0;
  for (int t = 0; t < ntiles; ++t) {
    const bool more = t + 1 < ntiles;
    if (more) load(kbeg + (t + 1) * BK);
#pragma unroll
    for (int kk = 0; kk < BK; kk += 8) {
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> af[kFragM];
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> bf[kFragN];
#pragma unroll
      for (int i = 0; i < kFragM; ++i) wmma::load_matrix_sync(af[i], &As[buf][wm * kWarpM + i * 16][kk], kLdA);
#pragma unroll
      for (int j = 0; j < kFragN; ++j) wmma::load_matrix_sync(bf[j], &Bs[buf][kk][wn * kWarpN + j * 16], kLdB);
#pragma unroll
      for (int i = 0; i < kFragM; ++i) {
#pragma unroll
        for (int j = 0; j < kFragN; ++j) wmma::mma_sync(acc[i][j], af[i], bf[j], acc[i][j]);
      }
    }
    if (more) store(buf ^ 1);
    __syncthreads();
    buf ^= 1;
  }

  float* stage = Stage[warp];
#pragma unroll
  for (int i = 0; i < kFragM; ++i) {
#pragma unroll
    for (int j = 0; j < kFragN; ++j) {
      wmma::store_matrix_sync(stage, acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      const int row0 = m0 + wm * kWarpM + i * 16, col0 = n0 + wn * kWarpN + j * 16;
#pragma unroll
      for (int e = lane; e < 256; e += 32) {
        const int row = row0 + e / 16, col = col0 + e % 16;
        if (row < p.m && col < p.n) StoreOne(p, item, split, row, col, stage[e]);
      }
      __syncwarp();  // the stage is rewritten by the next fragment
    }
  }
#else
  __trap();  // the host never launches it below sm_80
#endif
}

using KernelFn = void (*)(GemmDev);
struct Variant {
  KernelFn fn;
  const char* name;
};

const Variant kVariants[8] = {
    {SgemmTf32Kernel<false, false, false>, "ng_cuda_sgemm_tf32_wmma_128x128x16_nn"},
    {SgemmTf32Kernel<false, false, true>, "ng_cuda_sgemm_tf32_wmma_128x128x16_nn_v4"},
    {SgemmTf32Kernel<false, true, false>, "ng_cuda_sgemm_tf32_wmma_128x128x16_nt"},
    {SgemmTf32Kernel<false, true, true>, "ng_cuda_sgemm_tf32_wmma_128x128x16_nt_v4"},
    {SgemmTf32Kernel<true, false, false>, "ng_cuda_sgemm_tf32_wmma_128x128x16_tn"},
    {SgemmTf32Kernel<true, false, true>, "ng_cuda_sgemm_tf32_wmma_128x128x16_tn_v4"},
    {SgemmTf32Kernel<true, true, false>, "ng_cuda_sgemm_tf32_wmma_128x128x16_tt"},
    {SgemmTf32Kernel<true, true, true>, "ng_cuda_sgemm_tf32_wmma_128x128x16_tt_v4"},
};

int Index(bool ta, bool tb, bool v4) { return (ta ? 4 : 0) + (tb ? 2 : 0) + (v4 ? 1 : 0); }

}  // namespace

const char* Tf32KernelName(bool ta, bool tb, bool v4) { return kVariants[Index(ta, tb, v4)].name; }

void LaunchSgemmTf32(const GemmDev& p, bool ta, bool tb, bool v4, dim3 grid) {
  const Variant& v = kVariants[Index(ta, tb, v4)];
  NGC_LAUNCH(grid, kBlockThreads, v.fn)(p);
  CheckLaunch(v.name);
}

}  // namespace ngcuda
