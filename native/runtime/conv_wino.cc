// Winograd F(2x2, 3x3) for 3x3 stride-1 undilated ungrouped convolutions (forward, and backward data as the
// forward conv of dy with the flipped, transposed filter): 2.25x fewer multiplications than im2col + GEMM.
// Per block of tiles (in per-thread scratch, sized to stay in L2): input transform -> 16 GEMMs
// [tiles x Cin] x [Cin x Cout] -> output transform (+ bias, then the fused activation). Threads take blocks.
//
// Backward filter: the same algorithm transposed (Lavin & Gray 2016). The forward's output is
// Y = A^T [(G g G^T) . (B^T d B)] A per tile, so dL/dg = G^T [(A dY A^T) . (B^T d B)] G summed over the tiles:
// per block, the forward's input transform V = B^T d B, the dy transform M = A dY A^T (2x2 -> 4x4), then
// 16 reduction-major GEMMs U[xi] (Cin x Cout) += V[xi]^T M[xi] over the block's tiles; once at the end,
// dW = G^T U G (4x4 -> 3x3). Threads sum fixed ranges of blocks into their own U, added in task order.
//
// Accuracy: every output is a sum over Cin channels and 16 transform positions of V * U products, with
// transforms whose coefficients are 0, +-1 and +-1/2, so its rounding error is bounded by gamma_{Cin+12} times
// the same sum taken over absolute values (|B^T| |d| |B| and |G| |g| |G^T|, mapped back by |A^T| . |A|); the
// tests hold the result to exactly that bound (test/native/conv.test.ts). Backward filter: each dW element is a
// sum over the T tiles and 16 positions of V * M products, with 2 roundings in each data transform, 1 in the
// product, T - 1 in the sum over tiles (blocks and threads' partials only regroup it) and 4 in G^T U G (its
// halvings exact), so the error is at most gamma_{T+8} times the sum of
// |G^T|[a][i] |G^T|[b][j] (|B^T| |d| |B|)[i][j] (|A| |dY| |A^T|)[i][j] over tiles and (i, j)
// (test/native/conv-wgrad.test.ts holds it to that). Inputs or filters holding Inf or NaN
// go to im2col instead (the transforms would spread them to outputs that never read them), and
// NODEGRAD_WINOGRAD=0 turns it off.
#include <algorithm>
#include <cstring>

#include "conv.h"
#include "gemm.h"
#include "nodegrad/conv.h"
#include "nodegrad/dispatch.h"
#include "nodegrad/sgemm.h"
#include "thread_pool.h"

namespace nodegrad {

namespace {

constexpr int kTileSlot = 0;    // per thread: V, M, zero row, sink rows
constexpr int kCallerSlot = 1;  // calling thread: the transformed filter U (backward filter: each task's U)
static_assert(kTileSlot != kGemmScratchSlotA && kTileSlot != kGemmScratchSlotB && kCallerSlot != kGemmScratchSlotA &&
                  kCallerSlot != kGemmScratchSlotB,
              "conv and SGEMM scratch slots must differ");

// V and M of one block of tiles together stay near this size, inside the 2 MB L2 with the GEMM's packing.
constexpr std::size_t kBlockBytes = 768 * 1024;
// Below these channel counts the 16 GEMMs are too thin to beat one im2col GEMM.
constexpr std::size_t kMinChannels = 16;
// Backward filter: below this many 2x2 tiles, im2col (WinogradBackwardFilterApplies).
constexpr std::size_t kMinFilterTiles = 32;

struct WinoKernels {
  ng_f32_wino23_finite_fn finite;
  ng_f32_wino23_input_fn input;
  ng_f32_wino23_output_fn output;
};

WinoKernels SelectKernels() {
  switch (ng_dispatch_get()->isa) {
#if defined(NG_HAVE_AVX512_KERNELS)
    case NG_ISA_AVX512:
      return WinoKernels{ng_f32_wino23_finite_avx512, ng_f32_wino23_input_avx512, ng_f32_wino23_output_avx512};
#endif
#if defined(NG_HAVE_AVX2_KERNELS)
    case NG_ISA_AVX2:
      return WinoKernels{ng_f32_wino23_finite_avx2, ng_f32_wino23_input_avx2, ng_f32_wino23_output_avx2};
#endif
#if defined(NG_HAVE_NEON_KERNELS)
    case NG_ISA_NEON:
      return WinoKernels{ng_f32_wino23_finite_neon, ng_f32_wino23_input_neon, ng_f32_wino23_output_neon};
#endif
    default:
      return WinoKernels{ng_f32_wino23_finite_ref, ng_f32_wino23_input_ref, ng_f32_wino23_output_ref};
  }
}

const WinoKernels& Kernels() {
  static const WinoKernels k = SelectKernels();
  return k;
}

bool Enabled() {
  static const bool on = EnvSwitchOn("NODEGRAD_WINOGRAD");
  return on;
}

// U[xi][ci][co] = (G g G^T)[xi] for the 3x3 filter g[a][b] = filt(a, b, ci, co), G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
template <class Filt>
void TransformFilter(std::size_t cin, std::size_t cout, Filt filt, float* u) {
  const std::size_t plane = cin * cout;
  for (std::size_t ci = 0; ci < cin; ++ci) {
    for (std::size_t co = 0; co < cout; ++co) {
      float g[3][3], t[4][3];
      for (int a = 0; a < 3; ++a) {
        for (int b = 0; b < 3; ++b) g[a][b] = filt(a, b, ci, co);
      }
      for (int b = 0; b < 3; ++b) {  // G g: along the rows
        t[0][b] = g[0][b];
        t[1][b] = 0.5f * (g[0][b] + g[1][b] + g[2][b]);
        t[2][b] = 0.5f * (g[0][b] - g[1][b] + g[2][b]);
        t[3][b] = g[2][b];
      }
      float* dst = u + ci * cout + co;
      for (int i = 0; i < 4; ++i) {  // (G g) G^T: along the columns
        dst[(i * 4 + 0) * plane] = t[i][0];
        dst[(i * 4 + 1) * plane] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        dst[(i * 4 + 2) * plane] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        dst[(i * 4 + 3) * plane] = t[i][2];
      }
    }
  }
}

// The dy transform's channel loop reads 4 rows and writes 16 distinct ones; GCC vectorises it only on the promise.
#if defined(__clang__)
#define NG_WG_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define NG_WG_IVDEP _Pragma("GCC ivdep")
#else
#define NG_WG_IVDEP
#endif
#if defined(__GNUC__) || defined(__clang__)
#define NG_WG_INLINE inline __attribute__((always_inline))
#else
#define NG_WG_INLINE inline
#endif
// Per-ISA copies of the dy transform where the addon has those kernels (x86 GCC/clang: function targets).
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && \
    defined(NG_HAVE_AVX512_KERNELS) && defined(NG_HAVE_AVX2_KERNELS)
#define NG_WG_X86_CLONES 1
#if defined(__clang__)
#define NG_WG_AVX512_TARGET "avx512f,avx512vl,avx2,fma"
#else  // GCC would otherwise keep 256-bit vectors in it
#define NG_WG_AVX512_TARGET "avx512f,avx512vl,avx2,fma,prefer-vector-width=512"
#endif
#else
#define NG_WG_X86_CLONES 0
#endif

std::size_t CeilDiv(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// No Inf or NaN in x[0..n), scanned in chunks over the pool.
bool AllFinite(const float* x, std::size_t n) {
  const std::size_t chunk = 1 << 16, chunks = CeilDiv(n, chunk);
  if (chunks <= 1) return n == 0 || Kernels().finite(x, n) != 0;
  unsigned char ok[64];
  const std::size_t tasks = std::min<std::size_t>(chunks, sizeof(ok));
  auto scan = [&](std::size_t t, int) {
    const std::size_t i0 = t * n / tasks, i1 = (t + 1) * n / tasks;
    ok[t] = static_cast<unsigned char>(Kernels().finite(x + i0, i1 - i0) != 0);
  };
  ParallelFor(tasks, scan);
  for (std::size_t t = 0; t < tasks; ++t) {
    if (!ok[t]) return false;
  }
  return true;
}

// The largest block of at most `most` tiles (and at least most - 15) whose plane strides (tiles x channels floats)
// are not multiples of 2 KiB: the transforms write 16 planes at once, which would then share a few L1 sets and
// alias at 4 KiB (15-25% slower measured on the weight gradient, 8-10% on the forward at 16 channels).
std::size_t UnaliasedBlock(std::size_t C, std::size_t K, std::size_t most) {
  for (std::size_t bt = most; bt > 0 && bt + 16 > most; --bt) {
    if ((bt * C) % 512 != 0 && (bt * K) % 512 != 0) return bt;
  }
  return most;  // both counts multiples of 512: no stride avoids it
}

// out [n, g.out_h, g.out_w, g.out_c] = Winograd conv of in [n, g.in_h, g.in_w, g.in_c] with u (16 x in_c x out_c).
void Run(const ng_wino23_geom& g, std::size_t n, const float* in, const float* u, const float* bias, Activation act,
         float* out) {
  const WinoKernels& k = Kernels();
  const std::size_t C = g.in_c, K = g.out_c, tiles = n * g.tiles_h * g.tiles_w;
  if (tiles == 0) return;
  const std::size_t T = static_cast<std::size_t>(NumThreads());
  std::size_t bt = kBlockBytes / (16 * (C + K) * sizeof(float));
  bt = std::max<std::size_t>(16, bt / 16 * 16);
  bt = std::min(UnaliasedBlock(C, K, bt), tiles);
  const std::size_t nblocks = CeilDiv(tiles, bt);
  const bool parallel_blocks = T > 1 && nblocks >= T;
  auto block = [&](std::size_t b, int) {
    const std::size_t first = b * bt, count = std::min(bt, tiles - first);
    const std::size_t cpad = (C + 15) / 16 * 16, kpad = (K + 15) / 16 * 16;
    float* v = Scratch(kTileSlot, (16 * count * (C + K) + cpad + 3 * kpad) * sizeof(float));
    float* m = v + 16 * count * C;
    float* zero = m + 16 * count * K;
    float* sink = zero + cpad;
    std::memset(zero, 0, C * sizeof(float));
    k.input(&g, in, zero, first, count, v);
    for (std::size_t xi = 0; xi < 16; ++xi) {
      GemmArgs a;
      a.m = count;
      a.n = K;
      a.k = C;
      a.a = v + xi * count * C;
      a.lda = C;
      a.b = u + xi * C * K;
      a.ldb = K;
      a.c = m + xi * count * K;
      a.ldc = K;
      if (parallel_blocks) SgemmSerial(a);
      else Sgemm(a);
    }
    k.output(&g, m, bias, act == Activation::kRelu ? 1 : 0, sink, first, count, out);
  };
  if (parallel_blocks) {
    ParallelFor(nblocks, block);
  } else {
    for (std::size_t b = 0; b < nblocks; ++b) block(b, 0);
  }
}

ng_wino23_geom Geometry(std::size_t in_h, std::size_t in_w, std::size_t in_c, std::size_t pad_top,
                        std::size_t pad_left, std::size_t out_h, std::size_t out_w, std::size_t out_c) {
  ng_wino23_geom g;
  g.in_h = in_h;
  g.in_w = in_w;
  g.in_c = in_c;
  g.pad_top = static_cast<std::ptrdiff_t>(pad_top);
  g.pad_left = static_cast<std::ptrdiff_t>(pad_left);
  g.out_h = out_h;
  g.out_w = out_w;
  g.out_c = out_c;
  g.tiles_h = CeilDiv(out_h, 2);
  g.tiles_w = CeilDiv(out_w, 2);
  return g;
}

bool Shape3x3(const ConvShape& s) {
  return Enabled() && s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dil_h == 1 &&
         s.dil_w == 1 && s.groups == 1 && s.cin >= kMinChannels && s.cout >= kMinChannels;
}

// 2x2 output tiles over a small odd-sized map compute outputs nobody reads (a 3x3 map pays for 4x4): below 3/4
// useful outputs the 16/36 multiplication saving no longer pays for the transforms, and im2col wins (measured:
// 5x5x64 -> 3x3x128 takes 0.97 ms by Winograd and 0.52 ms by im2col, 1 thread).
bool TilesMostlyUsed(std::size_t out_h, std::size_t out_w) {
  const std::size_t covered = CeilDiv(out_h, 2) * CeilDiv(out_w, 2) * 4;
  return 4 * out_h * out_w >= 3 * covered;
}


// The 2x2 dy tile at output (oy, ox) of image n: pointers to its 4 rows of K channels, zero_row where a
// tile of an odd-sized map reaches past the last output row or column (those outputs do not exist).
struct DyTile {
  const float* q[4];
};
NG_WG_INLINE DyTile DyTileAt(const ng_wino23_geom& g, const float* dy, const float* zero_row, std::size_t idx) {
  const std::size_t per_img = g.tiles_h * g.tiles_w, n = idx / per_img, r = idx % per_img;
  const std::size_t oy = 2 * (r / g.tiles_w), ox = 2 * (r % g.tiles_w), K = g.out_c;
  const float* base = dy + ((n * g.out_h + oy) * g.out_w + ox) * K;
  const bool down = oy + 1 < g.out_h, right = ox + 1 < g.out_w;
  return DyTile{{base, right ? base + K : zero_row, down ? base + g.out_w * K : zero_row,
                 down && right ? base + (g.out_w + 1) * K : zero_row}};
}

// m[xi*count*K + t*K + k] = (A dy A^T)[xi] of tile first + t, A = [1 0; 1 1; 1 -1; 0 -1] (the transpose of the
// forward's output transform): coefficients 0 and +-1, so only adds and negations.
// The body is inlined into one copy per ISA below (the runtime is otherwise baseline-ISA code): the 16 output
// rows make it store-bound, and 4-wide stores made it cost twice the GEMMs (measured, 16 channels).
NG_WG_INLINE void TransformDyBody(const ng_wino23_geom& g, const float* dy, const float* zero_row, std::size_t first,
                                  std::size_t count, float* m) {
  const std::size_t K = g.out_c, ms = count * K;
  for (std::size_t t = 0; t < count; ++t) {
    const DyTile d = DyTileAt(g, dy, zero_row, first + t);
    const float* __restrict q00 = d.q[0];
    const float* __restrict q01 = d.q[1];
    const float* __restrict q10 = d.q[2];
    const float* __restrict q11 = d.q[3];
    float* const o = m + t * K;
    float* __restrict o0 = o; float* __restrict o1 = o + ms; float* __restrict o2 = o + 2 * ms;
    float* __restrict o3 = o + 3 * ms; float* __restrict o4 = o + 4 * ms; float* __restrict o5 = o + 5 * ms;
    float* __restrict o6 = o + 6 * ms; float* __restrict o7 = o + 7 * ms; float* __restrict o8 = o + 8 * ms;
    float* __restrict o9 = o + 9 * ms; float* __restrict o10 = o + 10 * ms; float* __restrict o11 = o + 11 * ms;
    float* __restrict o12 = o + 12 * ms; float* __restrict o13 = o + 13 * ms; float* __restrict o14 = o + 14 * ms;
    float* __restrict o15 = o + 15 * ms;
    NG_WG_IVDEP
    for (std::size_t k = 0; k < K; ++k) {
      // A dy: rows r_i = (r_i0, r_i1).
      const float r00 = q00[k], r01 = q01[k];
      const float r10 = q00[k] + q10[k], r11 = q01[k] + q11[k];
      const float r20 = q00[k] - q10[k], r21 = q01[k] - q11[k];
      const float r30 = -q10[k], r31 = -q11[k];
      // (A dy) A^T: columns r_i0, r_i0 + r_i1, r_i0 - r_i1, -r_i1.
      o0[k] = r00; o1[k] = r00 + r01; o2[k] = r00 - r01; o3[k] = -r01;
      o4[k] = r10; o5[k] = r10 + r11; o6[k] = r10 - r11; o7[k] = -r11;
      o8[k] = r20; o9[k] = r20 + r21; o10[k] = r20 - r21; o11[k] = -r21;
      o12[k] = r30; o13[k] = r30 + r31; o14[k] = r30 - r31; o15[k] = -r31;
    }
  }
}

void TransformDyBase(const ng_wino23_geom& g, const float* dy, const float* zero_row, std::size_t first,
                     std::size_t count, float* m) {
  TransformDyBody(g, dy, zero_row, first, count, m);
}

#if NG_WG_X86_CLONES
__attribute__((target("avx2,fma"))) void TransformDyAvx2(const ng_wino23_geom& g, const float* dy,
                                                           const float* zero_row, std::size_t first,
                                                           std::size_t count, float* m) {
  TransformDyBody(g, dy, zero_row, first, count, m);
}
__attribute__((target(NG_WG_AVX512_TARGET))) void TransformDyAvx512(
    const ng_wino23_geom& g, const float* dy, const float* zero_row, std::size_t first, std::size_t count, float* m) {
  TransformDyBody(g, dy, zero_row, first, count, m);
}
#endif

using TransformDyFn = void (*)(const ng_wino23_geom&, const float*, const float*, std::size_t, std::size_t, float*);
TransformDyFn SelectTransformDy() {
#if NG_WG_X86_CLONES
  switch (ng_dispatch_get()->isa) {
    case NG_ISA_AVX512: return TransformDyAvx512;
    case NG_ISA_AVX2: return TransformDyAvx2;
    default: break;
  }
#endif
  return TransformDyBase;
}

void TransformDy(const ng_wino23_geom& g, const float* dy, const float* zero_row, std::size_t first,
                 std::size_t count, float* m) {
  static const TransformDyFn fn = SelectTransformDy();
  fn(g, dy, zero_row, first, count, m);
}

// dw[a][b][e] = (G^T U G)[a][b] of u[xi][e] for the (ci, co) pairs e in [e0, e1) of a plane of Cin x Cout,
// G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] (the forward's filter transform, transposed).
void TransformGradient(std::size_t plane, std::size_t e0, std::size_t e1, const float* u, float* dw) {
  for (std::size_t e = e0; e < e1; ++e) {
    float s[3][4];
    for (int j = 0; j < 4; ++j) {  // G^T U: along the rows
      const float u0 = u[(0 * 4 + j) * plane + e], u1 = u[(1 * 4 + j) * plane + e];
      const float u2 = u[(2 * 4 + j) * plane + e], u3 = u[(3 * 4 + j) * plane + e];
      const float h = 0.5f * (u1 + u2);
      s[0][j] = u0 + h;
      s[1][j] = 0.5f * (u1 - u2);
      s[2][j] = h + u3;
    }
    for (int a = 0; a < 3; ++a) {  // (G^T U) G: along the columns
      const float h = 0.5f * (s[a][1] + s[a][2]);
      dw[(a * 3 + 0) * plane + e] = s[a][0] + h;
      dw[(a * 3 + 1) * plane + e] = 0.5f * (s[a][1] - s[a][2]);
      dw[(a * 3 + 2) * plane + e] = h + s[a][3];
    }
  }
}

// Weight-gradient tiles per block: ~120 (measured flat from 60 to 124 tiles at 16-64 channels, V and M then in L2;
// fewer lose at 256+ channels, where each block rereads and rewrites U), stepped down by UnaliasedBlock.
constexpr std::size_t kFilterBlockTiles = 124;
// u[16][C][K] = sum over tiles [t0, t1) of V[xi]^T M[xi], in blocks of bt tiles (u overwritten).
void FilterTiles(const ng_wino23_geom& g, const float* x, const float* dy, std::size_t t0, std::size_t t1,
                 std::size_t bt, bool threaded, float* u) {
  const WinoKernels& k = Kernels();
  const std::size_t C = g.in_c, K = g.out_c;
  const std::size_t zpad = (std::max(C, K) + 15) / 16 * 16;
  float* v = Scratch(kTileSlot, (16 * bt * (C + K) + zpad) * sizeof(float));
  float* m = v + 16 * bt * C;
  float* zero = m + 16 * bt * K;
  std::memset(zero, 0, zpad * sizeof(float));
  for (std::size_t first = t0; first < t1; first += bt) {
    const std::size_t count = std::min(bt, t1 - first);
    k.input(&g, x, zero, first, count, v);
    TransformDy(g, dy, zero, first, count, m);
#if defined(NG_HAVE_AVX512_KERNELS)
    if (ng_dispatch_get()->isa == NG_ISA_AVX512) {
      // The reduction-major tile kernel straight into U: a whole Sgemm per block would also sum per-chunk
      // partials and run its scalar epilogue over U (11% of the time at 16 channels).
      constexpr std::size_t kMr = 8, kVl = 16, kNr = 48;
      const std::size_t nvec = CeilDiv(K, kVl), nstrips = CeilDiv(nvec, kNr / kVl);
      const int acc = first == t0 ? 0 : 1;
      for (std::size_t xi = 0; xi < 16; ++xi) {
        const float* vx = v + xi * count * C;
        const float* mx = m + xi * count * K;
        float* ux = u + xi * C * K;
        for (std::size_t st = 0; st < nstrips; ++st) {
          const std::size_t j0 = nvec * st / nstrips * kVl, j1 = std::min(K, nvec * (st + 1) / nstrips * kVl);
          for (std::size_t i = 0; i < C; i += kMr) {
            ng_sgemm_ukernel_tn_8x48_avx512(count, vx + i, C, mx + j0, K, ux + i * K + j0, K, std::min(kMr, C - i),
                                            j1 - j0, 0, acc, nullptr, 0);
          }
        }
      }
      continue;
    }
#endif
    for (std::size_t xi = 0; xi < 16; ++xi) {
      GemmArgs a;
      a.trans_a = true;
      a.m = C;
      a.n = K;
      a.k = count;
      a.a = v + xi * count * C;
      a.lda = C;
      a.b = m + xi * count * K;
      a.ldb = K;
      a.beta = first == t0 ? 0.0f : 1.0f;
      a.c = u + xi * C * K;
      a.ldc = K;
      if (threaded) Sgemm(a);
      else SgemmSerial(a);
    }
  }
}
}  // namespace

bool WinogradForwardApplies(const ConvShape& s) {
  return Shape3x3(s) && s.oh >= 2 && s.ow >= 2 && TilesMostlyUsed(s.oh, s.ow);
}

// Pads (K-1) - pad of the equivalent forward conv must not be negative.
bool WinogradBackwardDataApplies(const ConvShape& s) {
  return Shape3x3(s) && s.pad_top <= 2 && s.pad_left <= 2 && s.h >= 2 && s.w >= 2 && TilesMostlyUsed(s.h, s.w);
}

bool WinogradForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y, Activation act) {
  if (!AllFinite(x, s.n * s.h * s.w * s.cin) || !AllFinite(w, 9 * s.cin * s.cout)) return false;
  float* u = Scratch(kCallerSlot, 16 * s.cin * s.cout * sizeof(float));
  const std::size_t cin = s.cin, cout = s.cout;
  TransformFilter(cin, cout, [&](int a, int b, std::size_t ci, std::size_t co) {
    return w[((static_cast<std::size_t>(a) * 3 + static_cast<std::size_t>(b)) * cin + ci) * cout + co];
  }, u);
  Run(Geometry(s.h, s.w, s.cin, s.pad_top, s.pad_left, s.oh, s.ow, s.cout), s.n, x, u, bias, act, y);
  return true;
}

bool WinogradBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx) {
  if (!AllFinite(dy, s.n * s.oh * s.ow * s.cout) || !AllFinite(w, 9 * s.cin * s.cout)) return false;
  // dx = conv(dy, g') with g'[a][b][co -> ci] = w[2-a][2-b][ci][co] and pads 2 - pad.
  float* u = Scratch(kCallerSlot, 16 * s.cin * s.cout * sizeof(float));
  const std::size_t cin = s.cin, cout = s.cout;
  TransformFilter(cout, cin, [&](int a, int b, std::size_t co, std::size_t ci) {
    return w[((static_cast<std::size_t>(2 - a) * 3 + static_cast<std::size_t>(2 - b)) * cin + ci) * cout + co];
  }, u);
  Run(Geometry(s.oh, s.ow, s.cout, 2 - s.pad_top, 2 - s.pad_left, s.h, s.w, s.cin), s.n, dy, u, nullptr, Activation::kNone, dx);
  return true;
}

// Below 32 tiles, transforming and clearing U (16 x Cin x Cout) costs more than im2col saves (measured, 1 thread:
// 3 tiles of 16 channels 2.3 us against 1.5, 16 tiles of 256 channels 673 us against 450; 32 tiles of 64-256
// channels 5-20% faster).
bool WinogradBackwardFilterApplies(const ConvShape& s) {
  return WinogradForwardApplies(s) && s.n * CeilDiv(s.oh, 2) * CeilDiv(s.ow, 2) >= kMinFilterTiles;
}

bool WinogradBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw) {
  if (!AllFinite(x, s.n * s.h * s.w * s.cin) || !AllFinite(dy, s.n * s.oh * s.ow * s.cout)) return false;
  const ng_wino23_geom g = Geometry(s.h, s.w, s.cin, s.pad_top, s.pad_left, s.oh, s.ow, s.cout);
  const std::size_t C = s.cin, K = s.cout, usize = 16 * C * K, tiles = s.n * g.tiles_h * g.tiles_w;
  const std::size_t T = static_cast<std::size_t>(NumThreads());
  // Blocks of ~kFilterBlockTiles, smaller when that leaves threads idle.
  const std::size_t bt = UnaliasedBlock(C, K, std::min(kFilterBlockTiles, CeilDiv(tiles, T)));
  const std::size_t nblocks = CeilDiv(tiles, bt);
  const std::size_t tasks = std::min(T, nblocks);
  float* u = Scratch(kCallerSlot, tasks * usize * sizeof(float));
  // Task t sums blocks [t*nblocks/tasks, (t+1)*nblocks/tasks) into its own U.
  auto task = [&](std::size_t t, int) {
    const std::size_t b0 = t * nblocks / tasks, b1 = (t + 1) * nblocks / tasks;
    FilterTiles(g, x, dy, b0 * bt, std::min(tiles, b1 * bt), bt, tasks <= 1, u + t * usize);
  };
  if (tasks <= 1) task(0, 0);
  else ParallelFor(tasks, task);
  // The partial Us added in task order (deterministic for a fixed thread count), then mapped to dw, in chunks.
  const std::size_t plane = C * K, chunk = 4096, nchunks = CeilDiv(plane, chunk);
  auto finish = [&](std::size_t c, int) {
    const std::size_t e0 = c * chunk, e1 = std::min(plane, e0 + chunk);
    for (std::size_t t = 1; t < tasks; ++t) {
      for (std::size_t xi = 0; xi < 16; ++xi) {
        float* dst = u + xi * plane;
        const float* src = dst + t * usize;
        for (std::size_t e = e0; e < e1; ++e) dst[e] += src[e];
      }
    }
    TransformGradient(plane, e0, e1, u, dw);
  };
  if (nchunks > 1 && T > 1) ParallelFor(nchunks, finish);
  else for (std::size_t c = 0; c < nchunks; ++c) finish(c, 0);
  return true;
}

}  // namespace nodegrad
