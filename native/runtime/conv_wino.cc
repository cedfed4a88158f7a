// Winograd F(2x2, 3x3) for 3x3 stride-1 undilated ungrouped convolutions (forward, and backward data as the
// forward conv of dy with the flipped, transposed filter): 2.25x fewer multiplications than im2col + GEMM.
// Per block of tiles (in per-thread scratch, sized to stay in L2): input transform -> 16 GEMMs
// [tiles x Cin] x [Cin x Cout] -> output transform (+ bias, then the fused activation). Threads take blocks.
//
// Accuracy: every output is a sum over Cin channels and 16 transform positions of V * U products, with
// transforms whose coefficients are 0, +-1 and +-1/2, so its rounding error is bounded by gamma_{Cin+12} times
// the same sum taken over absolute values (|B^T| |d| |B| and |G| |g| |G^T|, mapped back by |A^T| . |A|); the
// tests hold the result to exactly that bound (test/native/conv.test.ts). Inputs or filters holding Inf or NaN
// go to im2col instead (the transforms would spread them to outputs that never read them), and
// NODEGRAD_WINOGRAD=0 turns it off.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "conv.h"
#include "gemm.h"
#include "nodegrad/conv.h"
#include "nodegrad/dispatch.h"
#include "thread_pool.h"

namespace nodegrad {

namespace {

constexpr int kTileSlot = 0;    // per thread: V, M, zero row, sink rows
constexpr int kCallerSlot = 1;  // calling thread: the transformed filter U
static_assert(kTileSlot != kGemmScratchSlotA && kTileSlot != kGemmScratchSlotB && kCallerSlot != kGemmScratchSlotA &&
                  kCallerSlot != kGemmScratchSlotB,
              "conv and SGEMM scratch slots must differ");

// V and M of one block of tiles together stay near this size, inside the 2 MB L2 with the GEMM's packing.
constexpr std::size_t kBlockBytes = 768 * 1024;
// Below these channel counts the 16 GEMMs are too thin to beat one im2col GEMM.
constexpr std::size_t kMinChannels = 16;

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
  static const bool on = [] {
    const char* v = std::getenv("NODEGRAD_WINOGRAD");
    return !(v != nullptr && std::strcmp(v, "0") == 0);
  }();
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

// out [n, g.out_h, g.out_w, g.out_c] = Winograd conv of in [n, g.in_h, g.in_w, g.in_c] with u (16 x in_c x out_c).
void Run(const ng_wino23_geom& g, std::size_t n, const float* in, const float* u, const float* bias, Activation act,
         float* out) {
  const WinoKernels& k = Kernels();
  const std::size_t C = g.in_c, K = g.out_c, tiles = n * g.tiles_h * g.tiles_w;
  if (tiles == 0) return;
  const std::size_t T = static_cast<std::size_t>(NumThreads());
  std::size_t bt = kBlockBytes / (16 * (C + K) * sizeof(float));
  bt = std::max<std::size_t>(16, bt / 16 * 16);
  bt = std::min(bt, tiles);
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

}  // namespace nodegrad
