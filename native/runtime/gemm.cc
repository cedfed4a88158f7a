/*
 * Blocked SGEMM driver (GotoBLAS / BLIS loop nest) over the per-ISA packers and micro-kernels of
 * nodegrad/sgemm.h, chosen once from ng_dispatch_get()->isa:
 *
 *   for jc in N by NC:                      B slice KC x NC (packed once, shared by all threads) stays in L2
 *     for pc in K by KC:                    K cut into equal slices (no short last slice)
 *       [parallel] pack op(B)[pc, jc] into NR-wide micro-panels     (Scratch slot kGemmScratchSlotB)
 *       [parallel] for each (row chunk, column chunk) task:
 *         pack op(A)[chunk rows, pc] into MR-tall micro-panels, per thread (slot kGemmScratchSlotA)
 *         for ir in chunk by MR:            A micro-panel (MR x KC, <= 14 KiB) stays in L1
 *           for jr in chunk by NR:          B micro-panel streams from L2
 *             micro-kernel: C tile = epilogue(alpha * A_panel * B_panel + beta' * C)
 *   beta' is the caller's beta on the first K slice and 1 afterwards; bias and relu go with the last slice.
 *
 * Reduction-major path (RunTn): transposed A, long K and a small output (backward filter X^T dY, K = N*H*W):
 * no packing; K cut into chunks fixed by the shape, each summed serially by the tn micro-kernel straight from
 * both operands into its own partial C, the partials added in chunk order (same bits at any thread count).
 *
 * Blocking (measured on a 2-core Xeon with AVX-512, 48 KiB L1d / 2 MiB L2, 1024^3, against OpenBLAS in the
 * same process): KC = 256 (ir-outer order; 192-384 measured within noise, 512 lost ~12% as the B slice outgrew L2), NC from the
 * L2 size so KC x NC x 4 bytes is half of it. Row chunks are balanced across the threads, and output columns
 * are split too when there are fewer row chunks than threads. Tried and dropped: tasks looping over several
 * K slices to keep their C chunk in L2 (no gain on conv shapes such as 25088 x 64 x 576, -10% at K = 25088).
 */
#include "gemm.h"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include <cstddef>
#include <cstdint>

#include "nodegrad/dispatch.h"
#include "nodegrad/sgemm.h"
#include "thread_pool.h"

namespace nodegrad {

namespace {

struct KernelConfig {
  ng_sgemm_ukernel_fn ukernel;
  ng_sgemm_pack_a_fn pack_a;
  ng_sgemm_pack_b_fn pack_b;
  ng_sgemm_ukernel_direct_fn direct;  // unpacked-A kernel, or null (NEON: not written yet)
  ng_sgemm_ukernel_tn_fn tn;          // reduction-major kernel, or null (AVX-512 only: sgemm.h says why)
  std::size_t tn_mr, tn_nr, tn_vl;    // its tile and vector width (columns per load)
  std::size_t mr, nr;
  std::size_t kc;          // K slice length
  std::size_t max_chunk;   // most rows of A one task packs: bounds its Scratch (the ir-outer order keeps only
                           // one MR x KC micro-panel of it hot, so the chunk need not fit L2)
  const char* name;
};

// Half of the per-core L2 (sysconf where the C library knows it), for the shared B slice.
std::size_t L2Budget() {
  long l2 = -1;
#ifdef _SC_LEVEL2_CACHE_SIZE
  l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
  if (l2 < 256 * 1024 || l2 > 64 * 1024 * 1024) l2 = 1024 * 1024;  // unknown (VMs, macOS): assume 1 MiB
  return static_cast<std::size_t>(l2) / 2;
}

KernelConfig SelectConfig() {
  KernelConfig k{ng_sgemm_ukernel_4x4_ref, ng_sgemm_pack_a_4_ref, ng_sgemm_pack_b_4_ref,
                 ng_sgemm_ukernel_direct_4x4_ref, nullptr, 0, 0, 0, 4, 4, 256, 256, "ng_sgemm_ukernel_4x4_ref"};
  switch (ng_dispatch_get()->isa) {
#if defined(NG_HAVE_AVX512_KERNELS)
    case NG_ISA_AVX512:
      k = {ng_sgemm_ukernel_14x32_avx512, ng_sgemm_pack_a_14_avx512, ng_sgemm_pack_b_32_avx512,
           ng_sgemm_ukernel_direct_14x32_avx512, ng_sgemm_ukernel_tn_8x48_avx512, 8, 48, 16, 14, 32, 256, 14 * 48,
           "ng_sgemm_ukernel_14x32_avx512"};
      break;
#endif
#if defined(NG_HAVE_AVX2_KERNELS)
    case NG_ISA_AVX2:
      k = {ng_sgemm_ukernel_6x16_avx2, ng_sgemm_pack_a_6_avx2, ng_sgemm_pack_b_16_avx2,
           ng_sgemm_ukernel_direct_6x16_avx2, nullptr, 0, 0, 0, 6, 16, 256, 6 * 96, "ng_sgemm_ukernel_6x16_avx2"};
      break;
#endif
#if defined(NG_HAVE_NEON_KERNELS)
    case NG_ISA_NEON:
      k = {ng_sgemm_ukernel_8x12_neon, ng_sgemm_pack_a_8_neon, ng_sgemm_pack_b_12_neon, nullptr, nullptr, 0, 0, 0, 8,
           12, 256, 8 * 64, "ng_sgemm_ukernel_8x12_neon"};
      break;
#endif
    default:
      break;
  }
  return k;
}

const KernelConfig& Config() {
  static const KernelConfig config = SelectConfig();  // once, thread-safe (magic static)
  return config;
}

std::size_t CeilDiv(std::size_t a, std::size_t b) { return (a + b - 1) / b; }
std::size_t Min(std::size_t a, std::size_t b) { return a < b ? a : b; }

// One call's blocking, and the state of the (jc, pc) block being computed.
struct Plan {
  const GemmArgs* g;
  const KernelConfig* k;
  std::size_t nc_max;            // columns per jc block (multiple of NR)
  std::size_t kc_max;            // K slice length (all slices but the last have it)
  std::size_t nslices;
  bool direct;                   // full A panels read in place by k.direct (no A packing)
  // Current block.
  std::size_t j0, nc, p0, kc;
  bool first, last;
  float* pb;                     // packed B slice: ceil(nc / NR) panels of kc x NR
  // Task grid of the current block.
  std::size_t m_panels, n_panels, m_chunks, n_chunks;
  std::size_t pack_groups;       // B panels are packed in this many tasks
};

// op(A)[i][p] / op(B)[p][j] addresses.
const float* AAt(const GemmArgs& g, std::size_t i, std::size_t p) {
  return g.trans_a ? g.a + p * g.lda + i : g.a + i * g.lda + p;
}
const float* BAt(const GemmArgs& g, std::size_t p, std::size_t j) {
  return g.trans_b ? g.b + j * g.ldb + p : g.b + p * g.ldb + j;
}

void PackBTask(const Plan& s, std::size_t t) {
  const KernelConfig& k = *s.k;
  const std::size_t q0 = s.n_panels * t / s.pack_groups, q1 = s.n_panels * (t + 1) / s.pack_groups;
  if (q0 == q1) return;
  const std::size_t j = q0 * k.nr;
  const std::size_t cols = Min(s.nc, q1 * k.nr) - j;
  k.pack_b(s.kc, cols, BAt(*s.g, s.p0, s.j0 + j), s.g->ldb, s.g->trans_b ? 1 : 0, s.pb + j * s.kc);
}

void ComputeTask(const Plan& s, std::size_t t) {
  const GemmArgs& g = *s.g;
  const KernelConfig& k = *s.k;
  const std::size_t mc_i = t % s.m_chunks, nc_i = t / s.m_chunks;
  const std::size_t mq0 = s.m_panels * mc_i / s.m_chunks, mq1 = s.m_panels * (mc_i + 1) / s.m_chunks;
  const std::size_t nq0 = s.n_panels * nc_i / s.n_chunks, nq1 = s.n_panels * (nc_i + 1) / s.n_chunks;
  if (mq0 == mq1 || nq0 == nq1) return;
  const std::size_t i0 = mq0 * k.mr, i1 = Min(g.m, mq1 * k.mr);

  ng_sgemm_epilogue ep;
  ep.alpha = g.alpha;
  ep.beta = s.first ? g.beta : 1.0f;
  ep.relu = s.last && g.act == Activation::kRelu;
  const std::size_t jend = Min(s.nc, nq1 * k.nr);
  if (s.direct) {
    // Full panels straight from A's rows; a short last panel is packed (zero-padded) for the packed kernel.
    const std::size_t i_full = i0 + (i1 - i0) / k.mr * k.mr;
    for (std::size_t i = i0; i < i_full; i += k.mr) {
      const float* a_rows = AAt(g, i, s.p0);
      for (std::size_t j = nq0 * k.nr; j < jend; j += k.nr) {
        const std::size_t col = s.j0 + j;
        ep.bias = s.last && g.bias != nullptr ? g.bias + col : nullptr;
        k.direct(s.kc, a_rows, g.lda, s.pb + j * s.kc, g.c + i * g.ldc + col, g.ldc, Min(k.nr, s.nc - j), &ep);
      }
    }
    if (i_full < i1) {
      float* pa = Scratch(kGemmScratchSlotA, k.mr * s.kc * sizeof(float));
      k.pack_a(i1 - i_full, s.kc, AAt(g, i_full, s.p0), g.lda, 0, pa);
      for (std::size_t j = nq0 * k.nr; j < jend; j += k.nr) {
        const std::size_t col = s.j0 + j;
        ep.bias = s.last && g.bias != nullptr ? g.bias + col : nullptr;
        k.ukernel(s.kc, pa, s.pb + j * s.kc, g.c + i_full * g.ldc + col, g.ldc, i1 - i_full, Min(k.nr, s.nc - j), &ep);
      }
    }
    return;
  }

  float* pa = Scratch(kGemmScratchSlotA, (mq1 - mq0) * k.mr * s.kc * sizeof(float));
  k.pack_a(i1 - i0, s.kc, AAt(g, i0, s.p0), g.lda, g.trans_a ? 1 : 0, pa);
  for (std::size_t i = i0; i < i1; i += k.mr) {
    const float* a_panel = pa + (i - i0) * s.kc;
    const std::size_t mr = Min(k.mr, i1 - i);
    for (std::size_t j = nq0 * k.nr; j < jend; j += k.nr) {
      const std::size_t col = s.j0 + j;
      ep.bias = s.last && g.bias != nullptr ? g.bias + col : nullptr;
      k.ukernel(s.kc, a_panel, s.pb + j * s.kc, g.c + i * g.ldc + col, g.ldc, mr, Min(k.nr, s.nc - j), &ep);
    }
  }
}

// K == 0: C = act(beta * C + bias), through the micro-kernel's epilogue with an empty product.
void EpilogueOnly(const GemmArgs& g, const KernelConfig& k) {
  ng_sgemm_epilogue ep;
  ep.alpha = 1.0f;  // the product is exactly zero; alpha (even Inf or NaN) does not scale it
  ep.beta = g.beta;
  ep.relu = g.act == Activation::kRelu;
  for (std::size_t i = 0; i < g.m; i += k.mr) {
    for (std::size_t j = 0; j < g.n; j += k.nr) {
      ep.bias = g.bias != nullptr ? g.bias + j : nullptr;
      k.ukernel(0, nullptr, nullptr, g.c + i * g.ldc + j, g.ldc, Min(k.mr, g.m - i), Min(k.nr, g.n - j), &ep);
    }
  }
}

// Skinny products (few output columns, the A operand streamed from memory) read A in place: packing it would
// cost a full extra read and write of A for only N multiply-adds per element. Not with lda a multiple of
// 4 KiB / 4: MR rows at the same column would then share one L1 set (12 ways) and evict each other.
constexpr std::size_t kDirectMaxN = 256;  // conv 1x1: N = 64 (fwd), 256 (bwd data, K = 64); 256^3 too
bool UseDirect(const GemmArgs& g, const KernelConfig& k) {
  return k.direct != nullptr && !g.trans_a && g.n <= kDirectMaxN && g.m >= k.mr && g.lda % 1024 != 0;
}

// Reduction-major products: op(A) = A^T (A stored k x m), B not transposed, long K, small output, as the
// backward filter's X^T dY (k = N*H*W). Both operands are read in place by the tn micro-kernel, so neither long
// operand is packed. K is cut into chunks fixed by the shape alone, each summed serially into its own partial
// C, and the partials are added in chunk order: every thread count gives the same bits, and the chunks balance
// over the threads as they come free. The tile's vectors run along the wider of m and n (the partials then
// hold C or C transposed), since a narrow vector dimension would leave lanes idle.
constexpr std::size_t kTnMaxOutput = 64 * 1024;  // m*n: a partial C stays in L2 while K streams past it
constexpr std::size_t kTnMinK = 512;             // below this the packing the tn path saves is small
constexpr std::size_t kTnMinChunk = 512;         // rows of K per chunk, at least (two K blocks)
// Chunks: 8 balance 2, 4 and 8 threads; 16 measured 1-3% slower on x [25088, 256] (each chunk's first block
// runs without prefetch, and the finish adds every partial), 4 about as fast but balances only 2 or 4.
constexpr std::size_t kTnMaxChunks = 8;
constexpr std::size_t kTnPartialBytes = 2 * 1024 * 1024;  // the partials' size, at most
constexpr std::size_t kTnKc = 256;  // K block, read from L3 once (prefetched), then from L2; 128 same, 512 -2%
constexpr std::size_t kTnFinishRows = 16;        // rows of C per finishing task

bool UseTn(const GemmArgs& g, const KernelConfig& k) {
  return k.tn != nullptr && g.trans_a && !g.trans_b && g.k >= kTnMinK && g.m * g.n <= kTnMaxOutput;
}

struct TnPlan {
  const GemmArgs* g;
  const KernelConfig* k;
  bool swapped;                   // partials hold C^T: B's rows broadcast, A's rows as vectors
  const float* bc;                // broadcast operand, K-major: kdim x rows, row stride ldbc
  std::size_t ldbc;
  const float* vec;               // vector operand, K-major: kdim x cols, row stride ldvec
  std::size_t ldvec;
  std::size_t rows, cols, kdim;
  std::size_t nchunks;
  std::size_t skew;               // columns the vector operand's rows start past a vector boundary, or 0
  std::size_t nvec, nstrips;      // vectors across skew + cols, and the strips (<= tn_nr wide) they form
  float* partials;                // nchunks x rows x cols
};

// Strip s: columns [j0, j1), which start *skew columns past a vector boundary (0 but for the first strip). The
// strips are cut on the vector operand's own vector boundaries: a 16-byte-aligned Float32Array would otherwise
// split every load across two cache lines (-15% measured on the 1x1 backward filter).
void StripCols(const TnPlan& t, std::size_t s, std::size_t* j0, std::size_t* j1, std::size_t* skew) {
  const std::size_t vl = t.k->tn_vl;
  const std::size_t v0 = t.nvec * s / t.nstrips * vl, v1 = t.nvec * (s + 1) / t.nstrips * vl;
  *j0 = s == 0 ? 0 : v0 - t.skew;
  *j1 = Min(t.cols, v1 - t.skew);
  *skew = s == 0 ? t.skew : 0;
}

// Cache lines of rows [p, p + n) of a K-major operand read `width` floats per row, as one contiguous span when
// the rows nearly are (row stride <= 2 x width); otherwise none (not worth fetching mostly unused bytes).
struct LineSpan {
  const char* p;
  std::size_t lines;
};
LineSpan RowSpan(const float* base, std::size_t ld, std::size_t width, std::size_t p, std::size_t n) {
  if (n == 0 || ld > 2 * width) return {nullptr, 0};
  const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(base + p * ld) & ~static_cast<std::uintptr_t>(63);
  const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(base + (p + n - 1) * ld + width);
  return {reinterpret_cast<const char*>(first), (end - first + 63) / 64};
}

// Chunk c: K rows [q0, q1) into partial c, one K block at a time (strips of the vector operand outer, so a
// strip's block is reread from L1/L2 by the row tiles). Each block's tile calls also prefetch the next block
// of both operands toward L2, spread evenly over the calls (without it: ~10% slower).
void TnChunk(const TnPlan& t, std::size_t c) {
  const KernelConfig& k = *t.k;
  const std::size_t q0 = t.kdim * c / t.nchunks, q1 = t.kdim * (c + 1) / t.nchunks;
  float* part = t.partials + c * t.rows * t.cols;
  const std::size_t calls = t.nstrips * CeilDiv(t.rows, k.tn_mr);
  // Equal blocks of at most kTnKc rows: a short last block would pay a full pass over the tiles for little work.
  const std::size_t bk = q1 > q0 ? CeilDiv(q1 - q0, CeilDiv(q1 - q0, kTnKc)) : 1;
  for (std::size_t q = q0; q < q1; q += bk) {
    const std::size_t kc = Min(bk, q1 - q), next = q + kc, kn = Min(bk, q1 - next);
    const LineSpan s0 = RowSpan(t.vec, t.ldvec, t.cols, next, kn), s1 = RowSpan(t.bc, t.ldbc, t.rows, next, kn);
    const std::size_t per = CeilDiv(s0.lines + s1.lines, calls);
    std::size_t line = 0;  // prefetch cursor over s0, then s1; a call's lines never straddle the two
    for (std::size_t s = 0; s < t.nstrips; ++s) {
      std::size_t j0, j1, skew;
      StripCols(t, s, &j0, &j1, &skew);
      for (std::size_t i = 0; i < t.rows; i += k.tn_mr) {
        const char* pf = nullptr;
        std::size_t npf = 0;
        if (line < s0.lines) {
          pf = s0.p + line * 64;
          npf = Min(per, s0.lines - line);
        } else if (line - s0.lines < s1.lines) {
          pf = s1.p + (line - s0.lines) * 64;
          npf = Min(per, s1.lines - (line - s0.lines));
        }
        line += npf;
        k.tn(kc, t.bc + q * t.ldbc + i, t.ldbc, t.vec + q * t.ldvec + j0, t.ldvec, part + i * t.cols + j0, t.cols,
             Min(k.tn_mr, t.rows - i), j1 - j0, skew, q == q0 ? 0 : 1, pf, npf);
      }
    }
  }
}

float Finish(const GemmArgs& g, float v, const float* crow, std::size_t j) {
  if (g.alpha != 1.0f) v *= g.alpha;
  if (g.beta != 0.0f) v += g.beta * crow[j];
  if (g.bias != nullptr) v += g.bias[j];
  if (g.act == Activation::kRelu && v < 0.0f) v = 0.0f;  // NaN and -0 pass through, as in the kernels
  return v;
}

// C rows [i0, i1) (at most kTnFinishRows): the partials added in chunk order, then the epilogue.
void TnFinish(const TnPlan& t, std::size_t i0, std::size_t i1) {
  const GemmArgs& g = *t.g;
  const std::size_t psize = t.rows * t.cols;
  float sum[kTnFinishRows];
  if (t.swapped) {
    // Partial (j, i) at j*m + i: for each column j of C, the run of rows i0..i1 is contiguous.
    for (std::size_t j = 0; j < g.n; ++j) {
      const float* p0 = t.partials + j * g.m + i0;
      for (std::size_t r = 0; r < i1 - i0; ++r) sum[r] = p0[r];
      for (std::size_t c = 1; c < t.nchunks; ++c) {
        const float* pc = p0 + c * psize;
        for (std::size_t r = 0; r < i1 - i0; ++r) sum[r] += pc[r];
      }
      for (std::size_t r = 0; r < i1 - i0; ++r) {
        float* crow = g.c + (i0 + r) * g.ldc;
        crow[j] = Finish(g, sum[r], crow, j);
      }
    }
    return;
  }
  for (std::size_t i = i0; i < i1; ++i) {
    float* crow = g.c + i * g.ldc;
    const float* p0 = t.partials + i * g.n;
    for (std::size_t j0 = 0; j0 < g.n; j0 += kTnFinishRows) {
      const std::size_t w = Min(kTnFinishRows, g.n - j0);
      for (std::size_t r = 0; r < w; ++r) sum[r] = p0[j0 + r];
      for (std::size_t c = 1; c < t.nchunks; ++c) {
        const float* pc = p0 + c * psize + j0;
        for (std::size_t r = 0; r < w; ++r) sum[r] += pc[r];
      }
      for (std::size_t r = 0; r < w; ++r) crow[j0 + r] = Finish(g, sum[r], crow, j0 + r);
    }
  }
}

void RunTn(const GemmArgs& g, const KernelConfig& k, int threads) {
  TnPlan t;
  t.g = &g;
  t.k = &k;
  t.swapped = g.m > g.n;
  t.kdim = g.k;
  t.rows = t.swapped ? g.n : g.m;
  t.cols = t.swapped ? g.m : g.n;
  t.bc = t.swapped ? g.b : g.a;
  t.ldbc = t.swapped ? g.ldb : g.lda;
  t.vec = t.swapped ? g.a : g.b;
  t.ldvec = t.swapped ? g.lda : g.ldb;
  const std::size_t psize = g.m * g.n;
  std::size_t nchunks = g.k / kTnMinChunk;
  nchunks = Min(nchunks, kTnMaxChunks);
  nchunks = Min(nchunks, kTnPartialBytes / (psize * sizeof(float)));
  t.nchunks = nchunks < 1 ? 1 : nchunks;
  // Rows that all start at the same offset within a vector (row stride a multiple of it) can be cut there.
  const std::size_t vbytes = k.tn_vl * sizeof(float);
  const std::size_t off = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(t.vec) % vbytes);
  t.skew = off % sizeof(float) == 0 && t.ldvec % k.tn_vl == 0 ? off / sizeof(float) : 0;
  t.nvec = CeilDiv(t.skew + t.cols, k.tn_vl);
  t.nstrips = CeilDiv(t.nvec, k.tn_nr / k.tn_vl);
  t.partials = Scratch(kGemmScratchSlotB, t.nchunks * psize * sizeof(float));
  const std::size_t finish_tasks = CeilDiv(g.m, kTnFinishRows);
  auto chunk = [&t](std::size_t c, int) { TnChunk(t, c); };
  auto finish = [&t](std::size_t f, int) {
    const std::size_t i0 = f * kTnFinishRows;
    TnFinish(t, i0, Min(t.g->m, i0 + kTnFinishRows));
  };
  if (threads > 1) {
    ParallelFor(t.nchunks, chunk);
    ParallelFor(finish_tasks, finish);
  } else {
    for (std::size_t c = 0; c < t.nchunks; ++c) chunk(c, 0);
    for (std::size_t f = 0; f < finish_tasks; ++f) finish(f, 0);
  }
}

// Runs the loop nest; threads == 1 runs every task inline on the calling thread.
void Run(const GemmArgs& g, int threads) {
  if (g.m == 0 || g.n == 0) return;
  const KernelConfig& k = Config();
  if (g.k == 0) {
    EpilogueOnly(g, k);
    return;
  }
  if (UseTn(g, k)) {
    RunTn(g, k, threads);
    return;
  }
  Plan s;
  s.g = &g;
  s.k = &k;
  s.nslices = CeilDiv(g.k, k.kc);
  s.kc_max = CeilDiv(g.k, s.nslices);
  static const std::size_t l2_budget = L2Budget();
  s.nc_max = l2_budget / (s.kc_max * sizeof(float)) / k.nr * k.nr;
  if (s.nc_max < k.nr) s.nc_max = k.nr;
  // Spread N evenly over the jc blocks so the last one is not a sliver.
  const std::size_t nblocks = CeilDiv(g.n, s.nc_max);
  s.nc_max = CeilDiv(CeilDiv(g.n, nblocks), k.nr) * k.nr;

  const std::size_t T = threads < 1 ? 1 : static_cast<std::size_t>(threads);
  s.direct = UseDirect(g, k);
  float* pb = Scratch(kGemmScratchSlotB, s.kc_max * s.nc_max * sizeof(float));

  for (s.j0 = 0; s.j0 < g.n; s.j0 += s.nc_max) {
    s.nc = Min(s.nc_max, g.n - s.j0);
    s.m_panels = CeilDiv(g.m, k.mr);
    s.n_panels = CeilDiv(s.nc, k.nr);
    // Row chunks of at most max_chunk rows; with several threads, a multiple of T of them where there are
    // enough panels, and column chunks as well when rows alone cannot feed every thread.
    // Direct: nothing to pack, so one contiguous run of rows per thread (each streams its part of A once).
    s.m_chunks = s.direct ? 1 : CeilDiv(s.m_panels * k.mr, k.max_chunk);
    s.n_chunks = 1;
    if (T > 1) {
      s.m_chunks = Min(s.m_panels, CeilDiv(s.m_chunks, T) * T);
      if (s.m_chunks < T) s.n_chunks = Min(s.n_panels, CeilDiv(T, s.m_chunks));
    }
    s.pack_groups = T > 1 ? Min(s.n_panels, 4 * T) : 1;
    for (std::size_t slice = 0; slice < s.nslices; ++slice) {
      s.p0 = slice * s.kc_max;
      s.kc = Min(s.kc_max, g.k - s.p0);
      s.first = slice == 0;
      s.last = slice + 1 == s.nslices;
      s.pb = pb;
      if (T > 1) {
        auto pack = [&s](std::size_t t, int) { PackBTask(s, t); };
        ParallelFor(s.pack_groups, pack);
        auto compute = [&s](std::size_t t, int) { ComputeTask(s, t); };
        ParallelFor(s.m_chunks * s.n_chunks, compute);
      } else {
        for (std::size_t t = 0; t < s.pack_groups; ++t) PackBTask(s, t);
        for (std::size_t t = 0; t < s.m_chunks * s.n_chunks; ++t) ComputeTask(s, t);
      }
    }
  }
}

// Below this many multiply-adds (128^3) a call runs on one thread: its two pool regions cost a few us each,
// which measured as a net loss up to ~1M multiply-adds and break-even around 2M on a loaded 2-core VM.
constexpr double kParallelMinMacs = 1 << 21;

}  // namespace

void SgemmSerial(const GemmArgs& g) { Run(g, 1); }

bool SgemmSplitsK(const GemmArgs& g) { return g.m != 0 && g.n != 0 && UseTn(g, Config()); }

void Sgemm(const GemmArgs& g) {
  const double macs = static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  Run(g, macs < kParallelMinMacs ? 1 : NumThreads());
}

void SgemmBatched(const GemmArgs& g, std::size_t batch, std::size_t stride_a, std::size_t stride_b,
                  std::size_t stride_c) {
  const double macs = static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  auto item = [&](std::size_t t) {
    GemmArgs x = g;
    x.a = g.a + t * stride_a;
    x.b = g.b + t * stride_b;
    x.c = g.c + t * stride_c;
    return x;
  };
  const int threads = NumThreads();
  // Whole items per thread when they are small (no per-item regions) or divide evenly over the threads;
  // otherwise each item is split over the pool in turn. Every item runs the same loop nest whatever thread
  // runs it, so both schedules give the same bits.
  const bool per_item = batch > 1 && threads > 1 && macs * static_cast<double>(batch) >= kParallelMinMacs &&
                        (macs < 16.0 * kParallelMinMacs || batch % static_cast<std::size_t>(threads) == 0);
  if (per_item) {
    auto one = [&](std::size_t t, int) { Run(item(t), 1); };
    ParallelFor(batch, one);
    return;
  }
  for (std::size_t t = 0; t < batch; ++t) Run(item(t), macs < kParallelMinMacs ? 1 : threads);
}

const char* SgemmKernelName() { return Config().name; }

}  // namespace nodegrad
