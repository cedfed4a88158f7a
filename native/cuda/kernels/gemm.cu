/*
 * SGEMM, FP32 on the CUDA cores (ngcuda/gemm.h has the contract and accuracy), and the host driver that picks
 * the tile, split-K and the TF32 path.
 *
 * Kernel ng_cuda_sgemm_<BM>x<BN>x<BK>_<ta><tb>[_v4]: a block computes a BM x BN tile of C with (BM/TM)(BN/TN)
 * threads, each holding a TM x TN register tile made of (TM/4) x (TN/4) 4x4 quads spread BM/(TM/4) rows and
 * BN/(TN/4) columns apart (each quad row/column read from shared memory as one float4, conflict-free). K is walked
 * in BK-deep slices through two shared-memory buffers: while the block multiplies slice t out of one, each thread
 * already holds slice t+1 in registers (global loads in flight) and stores it into the other; one barrier per
 * slice. Shared tiles are k-major (As[k][m], Bs[k][n]) padded by 4 floats, so the transposing stores of the
 * k-contiguous operands hit distinct banks. Every global load is guarded (rows >= M, columns >= the split's end,
 * zero-filled), so any M, N, K, stride and transpose runs; the _v4 variants use float4 loads for whole in-bounds
 * quads when every operand row is 16-byte aligned.
 */
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "gemm_internal.cuh"
#include "ngcuda/gemm.h"

namespace ngcuda {

namespace {

template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB, bool V4>
__global__ void __launch_bounds__((BM / TM) * (BN / TN)) SgemmKernel(GemmDev p) {
  constexpr int kThreadsPerBlock = (BM / TM) * (BN / TN);
  constexpr int kPad = 4;
  constexpr int HM = TM / 4, HN = TN / 4;      // 4x4 quads per thread along m and n
  constexpr int NVA = BM * BK / 4, NVB = BN * BK / 4;  // float4 slots per slice
  constexpr int LA = (NVA + kThreadsPerBlock - 1) / kThreadsPerBlock;
  constexpr int LB = (NVB + kThreadsPerBlock - 1) / kThreadsPerBlock;
  static_assert(TM % 4 == 0 && TN % 4 == 0 && BK % 4 == 0, "quads");
  static_assert((BM / TM) * 4 * HM == BM && (BN / TN) * 4 * HN == BN, "thread grid covers the tile");

  __shared__ __align__(16) float As[2][BK][BM + kPad];
  __shared__ __align__(16) float Bs[2][BK][BN + kPad];

  const int tid = threadIdx.x;
  const int split = static_cast<int>(blockIdx.z % p.splits);
  const long long item = blockIdx.z / p.splits;
  const float* A = p.a + (p.item0 + item) * p.sa;
  const float* B = p.b + (p.item0 + item) * p.sb;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const int kbeg = split * p.kchunk;
  const int kend = static_cast<int>(min(static_cast<long long>(p.k), static_cast<long long>(kbeg) + p.kchunk));
  const int ntiles = kend > kbeg ? (kend - kbeg + BK - 1) / BK : 0;

  float4 ra[LA], rb[LB];
  // Slice starting at k0 into registers. op(A)[m][k] is A[m*lda + k] (A[k*lda + m] when TA).
  auto load = [&](int k0) {
#pragma unroll
    for (int i = 0; i < LA; ++i) {
      const int v = tid + i * kThreadsPerBlock;
      if (v < NVA) {
        if (!TA) ra[i] = LoadQuad<V4>(A, m0 + v / (BK / 4), k0 + (v % (BK / 4)) * 4, p.m, kend, p.lda);
        else ra[i] = LoadQuad<V4>(A, k0 + v / (BM / 4), m0 + (v % (BM / 4)) * 4, kend, p.m, p.lda);
      }
    }
#pragma unroll
    for (int i = 0; i < LB; ++i) {
      const int v = tid + i * kThreadsPerBlock;
      if (v < NVB) {
        if (!TB) rb[i] = LoadQuad<V4>(B, k0 + v / (BN / 4), n0 + (v % (BN / 4)) * 4, kend, p.n, p.ldb);
        else rb[i] = LoadQuad<V4>(B, n0 + v / (BK / 4), k0 + (v % (BK / 4)) * 4, p.n, kend, p.ldb);
      }
    }
  };
  // Registers into shared buffer `buf`, k-major.
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < LA; ++i) {
      const int v = tid + i * kThreadsPerBlock;
      if (v < NVA) {
        if (!TA) {
          const int row = v / (BK / 4), kq = (v % (BK / 4)) * 4;
          As[buf][kq + 0][row] = ra[i].x;
          As[buf][kq + 1][row] = ra[i].y;
          As[buf][kq + 2][row] = ra[i].z;
          As[buf][kq + 3][row] = ra[i].w;
        } else {
          *reinterpret_cast<float4*>(&As[buf][v / (BM / 4)][(v % (BM / 4)) * 4]) = ra[i];
        }
      }
    }
#pragma unroll
    for (int i = 0; i < LB; ++i) {
      const int v = tid + i * kThreadsPerBlock;
      if (v < NVB) {
        if (!TB) {
          *reinterpret_cast<float4*>(&Bs[buf][v / (BN / 4)][(v % (BN / 4)) * 4]) = rb[i];
        } else {
          const int col = v / (BK / 4), kq = (v % (BK / 4)) * 4;
          Bs[buf][kq + 0][col] = rb[i].x;
          Bs[buf][kq + 1][col] = rb[i].y;
          Bs[buf][kq + 2][col] = rb[i].z;
          Bs[buf][kq + 3][col] = rb[i].w;
        }
      }
    }
  };

  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i) {
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
  }

  if (ntiles > 0) {
    load(kbeg);
    store(0);
    __syncthreads();
  }
  int buf = 0;
  for (int t = 0; t < ntiles; ++t) {
    const bool more = t + 1 < ntiles;
    if (more) load(kbeg + (t + 1) * BK);  // in flight while the slice below is multiplied
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float a[TM], b[TN];
#pragma unroll
      for (int h = 0; h < HM; ++h) {
        const float4 q = *reinterpret_cast<const float4*>(&As[buf][kk][h * (BM / HM) + ty * 4]);
        a[h * 4 + 0] = q.x;
        a[h * 4 + 1] = q.y;
        a[h * 4 + 2] = q.z;
        a[h * 4 + 3] = q.w;
      }
#pragma unroll
      for (int h = 0; h < HN; ++h) {
        const float4 q = *reinterpret_cast<const float4*>(&Bs[buf][kk][h * (BN / HN) + tx * 4]);
        b[h * 4 + 0] = q.x;
        b[h * 4 + 1] = q.y;
        b[h * 4 + 2] = q.z;
        b[h * 4 + 3] = q.w;
      }
#pragma unroll
      for (int i = 0; i < TM; ++i) {
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = __fmaf_rn(a[i], b[j], acc[i][j]);
      }
    }
    // The other buffer was last read in iteration t-1, before the barrier that ended it.
    if (more) store(buf ^ 1);
    __syncthreads();
    buf ^= 1;
  }

  // Epilogue: quad (hm, hn) of this thread covers rows m0 + hm*(BM/HM) + ty*4 + 0..3, columns n0 + hn*(BN/HN) + tx*4 + 0..3.
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int row = m0 + (i / 4) * (BM / HM) + ty * 4 + (i % 4);
    if (row >= p.m) continue;
#pragma unroll
    for (int h = 0; h < HN; ++h) {
      const int col = n0 + h * (BN / HN) + tx * 4;
      if (col >= p.n) continue;
      if (p.splits == 1 && p.c_vec && col + 3 < p.n) {
        float* cp = p.c + (p.item0 + item) * p.sc + static_cast<long long>(row) * p.ldc + col;
        float4 old = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (p.beta != 0.0f) old = *reinterpret_cast<const float4*>(cp);
        const float olds[4] = {old.x, old.y, old.z, old.w};
        float out[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) out[j] = Epilogue(p, acc[i][h * 4 + j], olds + j, col + j);
        *reinterpret_cast<float4*>(cp) = make_float4(out[0], out[1], out[2], out[3]);
        continue;
      }
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (col + j < p.n) StoreOne(p, item, split, row, col + j, acc[i][h * 4 + j]);
      }
    }
  }
}

// C[item0 + item] = epilogue(sum over splits of the partials), splits added in order: deterministic.
__global__ void SplitKReduceKernel(GemmDev p, long long items) {
  const long long mn = static_cast<long long>(p.m) * p.n;
  NGC_FOR(idx, items * mn) {
    const long long item = idx / mn, rc = idx % mn;
    const int row = static_cast<int>(rc / p.n), col = static_cast<int>(rc % p.n);
    float s = 0.0f;
    for (int z = 0; z < p.splits; ++z) s += p.ws[(item * p.splits + z) * mn + rc];
    float* cp = p.c + (p.item0 + item) * p.sc + static_cast<long long>(row) * p.ldc + col;
    *cp = Epilogue(p, s, cp, col);
  }
}

using KernelFn = void (*)(GemmDev);

struct Variant {
  KernelFn fn;
  const char* name;
};

#define NGC_SGEMM_VARIANTS(BM, BN, BK, TM, TN)                                                              \
  {                                                                                                         \
    {SgemmKernel<BM, BN, BK, TM, TN, false, false, false>, "ng_cuda_sgemm_" #BM "x" #BN "x" #BK "_nn"},      \
        {SgemmKernel<BM, BN, BK, TM, TN, false, false, true>, "ng_cuda_sgemm_" #BM "x" #BN "x" #BK "_nn_v4"}, \
        {SgemmKernel<BM, BN, BK, TM, TN, false, true, false>, "ng_cuda_sgemm_" #BM "x" #BN "x" #BK "_nt"},   \
        {SgemmKernel<BM, BN, BK, TM, TN, false, true, true>, "ng_cuda_sgemm_" #BM "x" #BN "x" #BK "_nt_v4"},  \
        {SgemmKernel<BM, BN, BK, TM, TN, true, false, false>, "ng_cuda_sgemm_" #BM "x" #BN "x" #BK "_tn"},   \
        {SgemmKernel<BM, BN, BK, TM, TN, true, false, true>, "ng_cuda_sgemm_" #BM "x" #BN "x" #BK "_tn_v4"},  \
        {SgemmKernel<BM, BN, BK, TM, TN, true, true, false>, "ng_cuda_sgemm_" #BM "x" #BN "x" #BK "_tt"},    \
        {SgemmKernel<BM, BN, BK, TM, TN, true, true, true>, "ng_cuda_sgemm_" #BM "x" #BN "x" #BK "_tt_v4"},   \
  }

const Variant kLarge[8] = NGC_SGEMM_VARIANTS(128, 128, 8, 8, 8);
const Variant kSmall[8] = NGC_SGEMM_VARIANTS(64, 64, 8, 4, 4);
constexpr int kLargeTile = 128, kSmallTile = 64, kBK = 8;

int VariantIndex(bool ta, bool tb, bool v4) { return (ta ? 4 : 0) + (tb ? 2 : 0) + (v4 ? 1 : 0); }

bool Aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0; }

int g_force_tile = 0;    // SetSgemmOverride
int g_force_splits = 0;

// Everything the driver decides for one product.
struct Plan {
  bool tf32;
  bool large;      // 128x128 tiles (else 64x64); the TF32 kernel always uses 128x128
  bool v4;         // float4 operand loads
  bool c_vec;
  int tile_m, tile_n, bk;
  int splits;
  int kchunk;
};

Plan MakePlan(const GemmArgs& g, bool tf32) {
  const DeviceInfo& d = Init();
  Plan pl;
  pl.tf32 = tf32 && d.major >= 8;
  const bool batched = g.batch > 1;
  pl.v4 = Aligned16(g.a) && Aligned16(g.b) && g.lda % 4 == 0 && g.ldb % 4 == 0 &&
          (!batched || (g.stride_a % 4 == 0 && g.stride_b % 4 == 0));
  pl.c_vec = Aligned16(g.c) && g.ldc % 4 == 0 && (!batched || g.stride_c % 4 == 0);
  const long long sms = d.sm_count;
  const long long big_tiles = CeilDiv(g.m, kLargeTile) * CeilDiv(g.n, kLargeTile) * g.batch;
  pl.large = pl.tf32 || (g_force_tile ? g_force_tile == kLargeTile : big_tiles >= sms);
  pl.tile_m = pl.tile_n = pl.large ? kLargeTile : kSmallTile;
  pl.bk = pl.tf32 ? kTf32BK : kBK;
  const long long tiles = CeilDiv(g.m, pl.tile_m) * CeilDiv(g.n, pl.tile_n) * g.batch;
  // Split K when the output tiles leave most of the device idle and each split still has >= 256 of K.
  pl.splits = 1;
  if (tiles < sms && g.k >= 512) {
    long long s = std::min<long long>(CeilDiv(2 * sms, tiles), g.k / 256);
    // The partials (batch * splits * m * n floats) stay within 64 MB.
    const long long per_split = g.batch * g.m * g.n;
    while (s > 1 && s * per_split > (16ll << 20)) --s;
    if (s > 1) pl.splits = static_cast<int>(s);
  }
  if (g_force_splits > 0) pl.splits = g.k > 0 ? static_cast<int>(std::min<long long>(g_force_splits, g.k)) : 1;
  const long long kround = std::max<long long>(pl.bk, CeilDiv(g.k, pl.bk) * pl.bk);
  if (pl.splits > 1) {
    pl.kchunk = static_cast<int>(CeilDiv(CeilDiv(g.k, pl.splits), pl.bk) * pl.bk);
    pl.splits = static_cast<int>(CeilDiv(g.k, pl.kchunk));  // no empty split
  } else {
    pl.kchunk = static_cast<int>(kround);
  }
  if (pl.splits <= 1) {
    pl.splits = 1;
    pl.kchunk = static_cast<int>(kround);
  }
  return pl;
}

}  // namespace

const char* SgemmKernelName(const GemmArgs& g, bool tf32) {
  const Plan pl = MakePlan(g, tf32);
  if (pl.tf32) return Tf32KernelName(g.trans_a, g.trans_b, pl.v4);
  const Variant* table = pl.large ? kLarge : kSmall;
  return table[VariantIndex(g.trans_a, g.trans_b, pl.v4)].name;
}

int SgemmSplitK(const GemmArgs& g) { return MakePlan(g, false).splits; }

void SetSgemmOverride(int tile, int splits) {
  g_force_tile = tile == kLargeTile || tile == kSmallTile ? tile : 0;
  g_force_splits = splits > 0 ? splits : 0;
}

void Sgemm(const GemmArgs& g, bool tf32) {
  // Tile origins plus in-tile offsets are int in the kernels: keep a margin below 2^31.
  constexpr std::int64_t kLimit = 2147483647 - 256;
  if (g.m > kLimit || g.n > kLimit || g.k > kLimit || g.m < 0 || g.n < 0 || g.k < 0) {
    throw CudaError("ng_cuda_sgemm", 0,
                    "m, n and k must be in [0, 2^31 - 256), got " + std::to_string(g.m) + ", " + std::to_string(g.n) + ", " +
                        std::to_string(g.k) + " (split the product)");
  }
  if (g.m == 0 || g.n == 0 || g.batch <= 0) return;
  const Plan pl = MakePlan(g, tf32);
  const Variant* table = pl.large ? kLarge : kSmall;

  // Columns are cut into launches of at most 65535 tiles (grid.y), items into at most 65535 / splits (grid.z).
  const long long max_cols = 65535ll * pl.tile_n;
  const long long items_per_launch = std::max<long long>(1, 65535 / pl.splits);
  for (long long n_off = 0; n_off < g.n; n_off += max_cols) {
    const long long nn = std::min<long long>(max_cols, g.n - n_off);
    for (long long item0 = 0; item0 < g.batch; item0 += items_per_launch) {
      const long long items = std::min<long long>(items_per_launch, g.batch - item0);
      GemmDev p;
      p.m = static_cast<int>(g.m);
      p.n = static_cast<int>(nn);
      p.k = static_cast<int>(g.k);
      p.a = g.a;
      p.lda = g.lda;
      p.sa = g.stride_a;
      p.b = g.trans_b ? g.b + n_off * g.ldb : g.b + n_off;
      p.ldb = g.ldb;
      p.sb = g.stride_b;
      p.c = g.c + n_off;
      p.ldc = g.ldc;
      p.sc = g.stride_c;
      p.alpha = g.alpha;
      p.beta = g.beta;
      p.bias = g.bias ? g.bias + n_off : nullptr;
      p.relu = g.act == Activation::kRelu ? 1 : 0;
      // An n offset that is not a multiple of 4 would misalign rows: only the first launch can then use float4.
      const bool n_aligned = n_off % 4 == 0;
      p.c_vec = pl.c_vec && n_aligned ? 1 : 0;
      p.splits = pl.splits;
      p.kchunk = pl.kchunk;
      p.ws = nullptr;
      p.item0 = item0;
      if (pl.splits > 1) {
        p.ws = static_cast<float*>(
            Scratch(kScratchSplitK, static_cast<std::size_t>(items * pl.splits * g.m * nn) * sizeof(float)));
      }
      const dim3 grid(static_cast<unsigned>(CeilDiv(g.m, pl.tile_m)), static_cast<unsigned>(CeilDiv(nn, pl.tile_n)),
                      static_cast<unsigned>(items * pl.splits));
      const bool v4 = pl.v4 && n_aligned;
      if (pl.tf32) {
        LaunchSgemmTf32(p, g.trans_a, g.trans_b, v4, grid);
      } else {
        const Variant& v = table[VariantIndex(g.trans_a, g.trans_b, v4)];
        const int threads = pl.large ? (128 / 8) * (128 / 8) : (64 / 4) * (64 / 4);
        NGC_LAUNCH(grid, threads, v.fn)(p);
        CheckLaunch(v.name);
      }
      if (pl.splits > 1) {
        NGC_LAUNCH(GridFor(items * g.m * nn), kThreads, SplitKReduceKernel)(p, items);
        CheckLaunch("ng_cuda_sgemm_splitk_reduce");
      }
    }
  }
}

}  // namespace ngcuda
