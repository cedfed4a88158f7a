// GEMM-based convolution drivers (conv.h): forward, backward data and backward filter as im2col + SGEMM over
// row tiles of output pixels, every pass expressed as one "gather conv" (GemmConv below): backward data reads dy
// through the flipped filter, one stride phase at a time. The one scatter is col2im backward data, for the
// narrow or small maps where the gather GEMM is too thin (Col2imBackwardDataPays).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "conv.h"
#include "gemm.h"
#include "thread_pool.h"

namespace nodegrad {

namespace {

constexpr int kTileSlot = 0;    // per thread: column tile + staged output rows
constexpr int kCallerSlot = 1;  // calling thread: transformed filter, partial dW
// Both buffers live across SGEMM calls, which pack into their own slots.
static_assert(kTileSlot != kGemmScratchSlotA && kTileSlot != kGemmScratchSlotB && kCallerSlot != kGemmScratchSlotA &&
                  kCallerSlot != kGemmScratchSlotB,
              "conv and SGEMM scratch slots must differ");

// A forward column tile near this size stays in L2 while the GEMM packs it (2 MB L2 per core on the dev box).
constexpr std::size_t kColTileBytes = 384 * 1024;
// Fewer rows make the GEMM's packing of the weights (K x N per tile) a visible share of the work.
constexpr std::size_t kMinTileRows = 64;
// Backward filter: the tile rows are the GEMM's reduction, so longer tiles mean fewer passes over dW.
constexpr std::size_t kFilterTileBytes = 1024 * 1024;
constexpr std::size_t kMinFilterTileRows = 256;

using sidx = std::ptrdiff_t;

// Taps with one row offset and evenly spaced column offsets: copied together into a column row.
struct TapRun {
  sidx dy = 0, dx = 0;  // offset of the first tap from the pixel's anchor (oy*sy, ox*sx)
  sidx xstep = 1;       // column offset between consecutive taps
  std::size_t len = 0;  // taps in the run
};

// out[pixel (b, oy, ox), g*co_g + j] = act(bias[g*co_g + j]
//   + sum_{t, ci} in[b, oy*sy + dy_t, ox*sx + dx_t, g*ci_g + ci] * wm[(t*ci_g + ci)*ldw + g*co_g + j])
// with input pixels outside [0, in_h) x [0, in_w) read as zero. Grid pixel (b, oy, ox) is stored at
// out + ((b*out_h + oy*ry + oy0)*out_w + ox*rx + ox0)*out_c.
struct GemmConv {
  const float* in = nullptr;
  std::size_t n = 0, in_h = 0, in_w = 0, in_c = 0;
  std::size_t ci_g = 0, co_g = 0, groups = 1;
  std::size_t gh = 0, gw = 0;
  sidx sy = 1, sx = 1;
  std::vector<TapRun> runs;
  std::size_t ntaps = 0;
  const float* wm = nullptr;
  std::size_t ldw = 0;
  const float* bias = nullptr;
  Activation act = Activation::kNone;  // applied by the GEMM epilogue
  float* out = nullptr;
  std::size_t out_c = 0, out_h = 0, out_w = 0, ry = 1, rx = 1, oy0 = 0, ox0 = 0;

  std::size_t K() const { return ntaps * ci_g; }
  std::size_t rows() const { return n * gh * gw; }
  bool identity_out() const { return ry == 1 && rx == 1 && oy0 == 0 && ox0 == 0 && out_h == gh && out_w == gw; }
  // One tap at the anchor, stride 1, grid = input: the input already is the column matrix.
  bool direct() const {
    return ntaps == 1 && runs[0].dy == 0 && runs[0].dx == 0 && sy == 1 && sx == 1 && gh == in_h && gw == in_w;
  }
};

// Appends tap (ty, tx) to the runs, extending the last run when it continues its row at an even step.
void AddTap(std::vector<TapRun>& runs, sidx ty, sidx tx) {
  if (!runs.empty()) {
    TapRun& r = runs.back();
    const sidx last = r.dx + static_cast<sidx>(r.len - 1) * r.xstep;
    if (r.dy == ty && tx > last && (r.len == 1 || tx - last == r.xstep)) {
      if (r.len == 1) r.xstep = tx - last;
      ++r.len;
      return;
    }
  }
  TapRun r;
  r.dy = ty;
  r.dx = tx;
  r.len = 1;
  runs.push_back(r);
}

// Column rows [r0, r0 + nrows) of group g: row r = the K = ntaps*ci_g inputs output pixel r0 + r reads.
void Im2colTile(const GemmConv& p, std::size_t g, std::size_t r0, std::size_t nrows, float* col) {
  const std::size_t K = p.K(), ci = p.ci_g, img = p.gh * p.gw;
  const bool whole_pixels = ci == p.in_c;  // groups == 1: a run of adjacent pixels is one contiguous block
  const sidx in_h = static_cast<sidx>(p.in_h), in_w = static_cast<sidx>(p.in_w);
  std::size_t b = r0 / img, oy = (r0 % img) / p.gw, ox = r0 % p.gw;
  for (std::size_t r = 0; r < nrows; ++r) {
    float* dst = col + r * K;
    for (const TapRun& run : p.runs) {
      const std::size_t span = run.len * ci;
      const sidx iy = static_cast<sidx>(oy) * p.sy + run.dy;
      if (iy < 0 || iy >= in_h) {
        std::memset(dst, 0, span * sizeof(float));
        dst += span;
        continue;
      }
      const float* src = p.in + ((b * p.in_h + static_cast<std::size_t>(iy)) * p.in_w) * p.in_c + g * ci;
      const sidx ix0 = static_cast<sidx>(ox) * p.sx + run.dx;
      const sidx len = static_cast<sidx>(run.len);
      if (run.xstep == 1 && whole_pixels) {
        const sidx j0 = std::min(len, std::max<sidx>(0, -ix0));
        const sidx j1 = std::max(j0, std::min(len, in_w - ix0));
        std::memset(dst, 0, static_cast<std::size_t>(j0) * ci * sizeof(float));
        std::memcpy(dst + j0 * ci, src + (ix0 + j0) * static_cast<sidx>(p.in_c),
                    static_cast<std::size_t>(j1 - j0) * ci * sizeof(float));
        std::memset(dst + j1 * ci, 0, static_cast<std::size_t>(len - j1) * ci * sizeof(float));
      } else {
        for (sidx j = 0; j < len; ++j) {
          const sidx ix = ix0 + j * run.xstep;
          if (ix < 0 || ix >= in_w) std::memset(dst + j * ci, 0, ci * sizeof(float));
          else std::memcpy(dst + j * ci, src + ix * static_cast<sidx>(p.in_c), ci * sizeof(float));
        }
      }
      dst += span;
    }
    if (++ox == p.gw) {
      ox = 0;
      if (++oy == p.gh) {
        oy = 0;
        ++b;
      }
    }
  }
}

// Grid rows [r0, r0 + nrows): im2col (unless direct) and one GEMM per group, written in place or staged and
// copied to their strided places. threaded: the GEMM splits over the pool (used when tiles are too few).
void RunTile(const GemmConv& p, std::size_t r0, std::size_t nrows, bool threaded) {
  const std::size_t K = p.K();
  const bool ident = p.identity_out(), direct = p.direct();
  const std::size_t col_floats = direct || K == 0 ? 0 : nrows * K;
  float* buf = nullptr;
  if (col_floats != 0 || !ident) buf = Scratch(kTileSlot, (col_floats + (ident ? 0 : nrows * p.out_c)) * sizeof(float));
  float* const col = buf;
  float* const cbase = ident ? p.out + r0 * p.out_c : buf + col_floats;
  for (std::size_t g = 0; g < p.groups; ++g) {
    float* c = cbase + g * p.co_g;
    if (K == 0) {  // no taps reach these pixels (a stride phase) or no input channels: bias only
      for (std::size_t r = 0; r < nrows; ++r) {
        for (std::size_t j = 0; j < p.co_g; ++j) {
          float v = p.bias ? p.bias[g * p.co_g + j] : 0.0f;
          if (p.act == Activation::kRelu && v < 0.0f) v = 0.0f;
          c[r * p.out_c + j] = v;
        }
      }
      continue;
    }
    GemmArgs a;
    a.m = nrows;
    a.n = p.co_g;
    a.k = K;
    if (direct) {
      a.a = p.in + r0 * p.in_c + g * p.ci_g;
      a.lda = p.in_c;
    } else {
      Im2colTile(p, g, r0, nrows, col);
      a.a = col;
      a.lda = K;
    }
    a.b = p.wm + g * p.co_g;
    a.ldb = p.ldw;
    a.c = c;
    a.ldc = p.out_c;
    a.bias = p.bias ? p.bias + g * p.co_g : nullptr;
    a.act = p.act;
    if (threaded) Sgemm(a);
    else SgemmSerial(a);
  }
  if (!ident) {
    const std::size_t img = p.gh * p.gw;
    std::size_t b = r0 / img, oy = (r0 % img) / p.gw, ox = r0 % p.gw;
    for (std::size_t r = 0; r < nrows; ++r) {
      float* dst = p.out + ((b * p.out_h + oy * p.ry + p.oy0) * p.out_w + ox * p.rx + p.ox0) * p.out_c;
      std::memcpy(dst, cbase + r * p.out_c, p.out_c * sizeof(float));
      if (++ox == p.gw) {
        ox = 0;
        if (++oy == p.gh) {
          oy = 0;
          ++b;
        }
      }
    }
  }
}

std::size_t CeilDiv(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// Rows per tile: about `bytes` of columns, at least `min_rows`, and a multiple of the thread count in tiles
// when tiles are few, so that no thread idles through the last round.
std::size_t TileRows(std::size_t P, std::size_t K, std::size_t bytes, std::size_t min_rows, std::size_t T) {
  std::size_t rt = bytes / (std::max<std::size_t>(K, 1) * sizeof(float));
  rt = std::max(rt, min_rows) / 8 * 8;
  rt = std::min(std::max<std::size_t>(rt, 8), P);
  const std::size_t ntiles = CeilDiv(P, rt);
  if (T > 1 && ntiles >= T && ntiles < 4 * T) rt = CeilDiv(P, CeilDiv(ntiles, T) * T);
  return rt;
}

// Runs a gather conv: threads over row tiles (one serial GEMM each), or tile by tile with a threaded GEMM when
// there are fewer tiles than threads; a direct, in-place problem is one GEMM over all pixels.
void RunProblem(const GemmConv& p) {
  const std::size_t P = p.rows();
  if (P == 0 || p.co_g == 0) return;
  if (p.direct() && p.identity_out()) {
    RunTile(p, 0, P, true);
    return;
  }
  const std::size_t T = static_cast<std::size_t>(NumThreads());
  const std::size_t rt = TileRows(P, p.K(), kColTileBytes, kMinTileRows, T);
  const std::size_t ntiles = CeilDiv(P, rt);
  if (T > 1 && ntiles >= T) {
    auto task = [&](std::size_t t, int) {
      const std::size_t r0 = t * rt;
      RunTile(p, r0, std::min(rt, P - r0), false);
    };
    ParallelFor(ntiles, task);
  } else {
    for (std::size_t r0 = 0; r0 < P; r0 += rt) RunTile(p, r0, std::min(rt, P - r0), true);
  }
}

// The forward conv of s as a gather conv over x (weights, bias and output filled in by the caller).
GemmConv ForwardProblem(const ConvShape& s, const float* x) {
  GemmConv p;
  p.in = x;
  p.n = s.n;
  p.in_h = s.h;
  p.in_w = s.w;
  p.in_c = s.cin;
  p.ci_g = s.cin / s.groups;
  p.co_g = s.cout / s.groups;
  p.groups = s.groups;
  p.gh = s.oh;
  p.gw = s.ow;
  p.sy = static_cast<sidx>(s.stride_h);
  p.sx = static_cast<sidx>(s.stride_w);
  for (std::size_t kh = 0; kh < s.kh; ++kh) {
    for (std::size_t kw = 0; kw < s.kw; ++kw) {
      AddTap(p.runs, static_cast<sidx>(kh * s.dil_h) - static_cast<sidx>(s.pad_top),
             static_cast<sidx>(kw * s.dil_w) - static_cast<sidx>(s.pad_left));
    }
  }
  p.ntaps = s.kh * s.kw;
  return p;
}

// a mod m in [0, m) for m > 0.
sidx Mod(sidx a, sidx m) {
  const sidx r = a % m;
  return r < 0 ? r + m : r;
}

// dW (or a partial) over grid rows [r0, r0 + nrows) of the forward problem p: dw_g += cols_g^T x dy_g.
// beta0: 0 for the first contribution (overwrites), 1 afterwards.
void FilterTile(const GemmConv& p, const float* dy, std::size_t cout, std::size_t r0, std::size_t nrows, float* dw,
                float beta0, bool threaded) {
  const std::size_t K = p.K();
  const bool direct = p.direct();
  float* col = direct ? nullptr : Scratch(kTileSlot, nrows * K * sizeof(float));
  for (std::size_t g = 0; g < p.groups; ++g) {
    GemmArgs a;
    a.trans_a = true;
    a.m = K;
    a.n = p.co_g;
    a.k = nrows;
    if (direct) {
      a.a = p.in + r0 * p.in_c + g * p.ci_g;
      a.lda = p.in_c;
    } else {
      Im2colTile(p, g, r0, nrows, col);
      a.a = col;
      a.lda = K;
    }
    a.b = dy + r0 * cout + g * p.co_g;
    a.ldb = cout;
    a.beta = beta0;
    a.c = dw + g * p.co_g;
    a.ldc = cout;
    if (threaded) Sgemm(a);
    else SgemmSerial(a);
  }
}

// Backward filter over the forward problem p: T tasks each sum a fixed range of row tiles into their own
// dW (task 0 into dw itself), then the partials are added in task order.
void RunFilter(const GemmConv& p, const float* dy, std::size_t cout, float* dw) {
  const std::size_t P = p.rows(), K = p.K(), wsize = K * cout;
  if (wsize == 0) return;
  if (P == 0) {
    std::memset(dw, 0, wsize * sizeof(float));
    return;
  }
  const bool direct = p.direct();
  if (direct) {
    // Long K, small dW (1x1 convs on large images): one GEMM over every pixel, which splits K itself in chunks
    // fixed by the shape, balanced over the threads, and gives the same bits at every thread count.
    GemmArgs whole;
    whole.trans_a = true;
    whole.m = K;
    whole.n = p.co_g;
    whole.k = P;
    if (SgemmSplitsK(whole)) {
      FilterTile(p, dy, cout, 0, P, dw, 0.0f, true);
      return;
    }
  }
  const std::size_t T = static_cast<std::size_t>(NumThreads());
  // Direct: no column buffer to bound, so one tile per thread.
  const std::size_t rt = direct ? std::max(CeilDiv(P, T), kMinFilterTileRows)
                                : TileRows(P, K, kFilterTileBytes, kMinFilterTileRows, T);  // balanced over T
  const std::size_t ntiles = CeilDiv(P, rt);
  const std::size_t tasks = std::min(T, ntiles);
  if (tasks <= 1) {
    for (std::size_t t = 0; t < ntiles; ++t) {
      const std::size_t r0 = t * rt;
      FilterTile(p, dy, cout, r0, std::min(rt, P - r0), dw, t == 0 ? 0.0f : 1.0f, true);
    }
    return;
  }
  float* partials = Scratch(kCallerSlot, (tasks - 1) * wsize * sizeof(float));
  auto task = [&](std::size_t t, int) {
    float* target = t == 0 ? dw : partials + (t - 1) * wsize;
    const std::size_t first = t * ntiles / tasks, last = (t + 1) * ntiles / tasks;
    for (std::size_t i = first; i < last; ++i) {
      const std::size_t r0 = i * rt;
      FilterTile(p, dy, cout, r0, std::min(rt, P - r0), target, i == first ? 0.0f : 1.0f, false);
    }
  };
  ParallelFor(tasks, task);
  // dw += partial_1 + ... + partial_{tasks-1}, element by element in task order.
  const std::size_t chunk = 16384;
  auto reduce = [&](std::size_t c, int) {
    const std::size_t i0 = c * chunk, i1 = std::min(wsize, i0 + chunk);
    for (std::size_t t = 1; t < tasks; ++t) {
      const float* src = partials + (t - 1) * wsize;
      for (std::size_t i = i0; i < i1; ++i) dw[i] += src[i];
    }
  };
  ParallelFor(CeilDiv(wsize, chunk), reduce);
}

// Backward data by col2im, for ungrouped convs: dcol = dy x W^T (one GEMM per chunk of whole images, N =
// kh*kw*cin wide) and then each dy pixel's column row is added into the dx pixels its taps read. The gather form
// above has N = cin, too narrow for the micro-kernel when the map is small and cin is 32-64 (5x5x64 from
// 3x3x128, batch 64: 1.77 ms gathered, 0.54 ms here, 1 thread). Chunks are whole images, so no two tasks add
// into the same dx pixel, and each image's sums run in the same order at every thread count.
constexpr std::size_t kCol2imChunkBytes = 512 * 1024;

bool Col2imEnabled() {
  static const bool on = EnvSwitchOn("NODEGRAD_COL2IM");
  return on;
}

// Where the gather GEMM is narrow (cin <= 64) or short (maps of at most 8x8), and one image's columns stay within
// L2. Measured against the gather form, 1 thread: 5x5 3x3 64->128 3.0x, 12x12 5x5 32->64 2.3x, 32x32 3x3/2
// 16->32 1.4x, 56x56 3x3 8->16 1.3x.
bool Col2imBackwardDataPays(const ConvShape& s) {
  const std::size_t pix = s.oh * s.ow, row = s.kh * s.kw * s.cin;
  return Col2imEnabled() && s.groups == 1 && s.kh * s.kw > 1 && (s.cin <= 64 || pix <= 64) &&
         pix * row * sizeof(float) <= 2 * 1024 * 1024;
}

void Col2imBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const std::size_t taps = s.kh * s.kw, N = taps * s.cin, pix = s.oh * s.ow, image = s.h * s.w * s.cin;
  const std::size_t T = static_cast<std::size_t>(NumThreads());
  std::size_t per = std::max<std::size_t>(1, kCol2imChunkBytes / (pix * N * sizeof(float)));
  per = std::min(per, s.n);
  std::size_t chunks = CeilDiv(s.n, per);
  if (T > 1 && chunks < T && s.n >= T) {  // split into one chunk per thread rather than run one threaded GEMM
    per = CeilDiv(s.n, T);
    chunks = CeilDiv(s.n, per);
  }
  const bool parallel = T > 1 && chunks >= T;
  const sidx sh = static_cast<sidx>(s.stride_h), sw = static_cast<sidx>(s.stride_w);
  const sidx dh = static_cast<sidx>(s.dil_h), dwl = static_cast<sidx>(s.dil_w);
  const sidx pt = static_cast<sidx>(s.pad_top), pl = static_cast<sidx>(s.pad_left);
  const sidx H = static_cast<sidx>(s.h), W = static_cast<sidx>(s.w);
  auto chunk = [&](std::size_t c, int) {
    const std::size_t b0 = c * per, nb = std::min(per, s.n - b0);
    float* col = Scratch(kTileSlot, nb * pix * N * sizeof(float));
    GemmArgs a;
    a.trans_b = true;
    a.m = nb * pix;
    a.n = N;
    a.k = s.cout;
    a.a = dy + b0 * pix * s.cout;
    a.lda = s.cout;
    a.b = w;  // HWIO is [kh*kw*cin, cout]: W^T with trans_b
    a.ldb = s.cout;
    a.c = col;
    a.ldc = N;
    if (parallel) SgemmSerial(a);
    else Sgemm(a);
    std::memset(dx + b0 * image, 0, nb * image * sizeof(float));
    for (std::size_t b = 0; b < nb; ++b) {
      float* img = dx + (b0 + b) * image;
      for (std::size_t oy = 0; oy < s.oh; ++oy) {
        for (std::size_t ox = 0; ox < s.ow; ++ox) {
          const float* row = col + ((b * s.oh + oy) * s.ow + ox) * N;
          for (std::size_t kh = 0; kh < s.kh; ++kh) {
            const sidx iy = static_cast<sidx>(oy) * sh - pt + static_cast<sidx>(kh) * dh;
            if (iy < 0 || iy >= H) continue;
            for (std::size_t kw = 0; kw < s.kw; ++kw) {
              const sidx ix = static_cast<sidx>(ox) * sw - pl + static_cast<sidx>(kw) * dwl;
              if (ix < 0 || ix >= W) continue;
              float* __restrict d = img + (static_cast<std::size_t>(iy) * s.w + static_cast<std::size_t>(ix)) * s.cin;
              const float* __restrict src = row + (kh * s.kw + kw) * s.cin;
              for (std::size_t ci = 0; ci < s.cin; ++ci) d[ci] += src[ci];
            }
          }
        }
      }
    }
  };
  if (parallel) {
    ParallelFor(chunks, chunk);
  } else {
    for (std::size_t c = 0; c < chunks; ++c) chunk(c, 0);
  }
}

}  // namespace

bool EnvSwitchOn(const char* name) {
  const char* v = std::getenv(name);
  return !(v != nullptr && std::strcmp(v, "0") == 0);
}

void Conv2dForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y, Activation act) {
  if (s.n == 0 || s.oh == 0 || s.ow == 0 || s.cout == 0) return;
  if (s.cin / s.groups == 1) {
    DwConv2dForward(s, x, w, bias, y, act);
    return;
  }
  if (WinogradForwardApplies(s) && WinogradForward(s, x, w, bias, y, act)) return;
  GemmConv p = ForwardProblem(s, x);
  p.wm = w;
  p.ldw = s.cout;
  p.bias = bias;
  p.act = act;
  p.out = y;
  p.out_c = s.cout;
  p.out_h = s.oh;
  p.out_w = s.ow;
  RunProblem(p);
}

void Conv2dBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx) {
  if (s.n == 0 || s.h == 0 || s.w == 0 || s.cin == 0) return;
  if (s.cin / s.groups == 1) {
    DwConv2dBackwardData(s, dy, w, dx);
    return;
  }
  if (WinogradBackwardDataApplies(s) && WinogradBackwardData(s, dy, w, dx)) return;
  if (Col2imBackwardDataPays(s)) {
    Col2imBackwardData(s, dy, w, dx);
    return;
  }
  const std::size_t cg = s.cin / s.groups, cog = s.cout / s.groups;
  const sidx sh = static_cast<sidx>(s.stride_h), sw = static_cast<sidx>(s.stride_w);
  const sidx dh = static_cast<sidx>(s.dil_h), dw = static_cast<sidx>(s.dil_w);
  const sidx pt = static_cast<sidx>(s.pad_top), pl = static_cast<sidx>(s.pad_left);
  // Every tap belongs to exactly one phase, so all phases' transformed filters fill one |w|-sized buffer.
  float* wt = Scratch(kCallerSlot, s.kh * s.kw * cg * s.cout * sizeof(float));
  std::size_t used = 0;
  std::vector<std::size_t> tap_kh, tap_kw;
  for (sidx rh = 0; rh < sh; ++rh) {
    for (sidx rw = 0; rw < sw; ++rw) {
      GemmConv p;
      p.in = dy;
      p.n = s.n;
      p.in_h = s.oh;
      p.in_w = s.ow;
      p.in_c = s.cout;
      p.ci_g = cog;
      p.co_g = cg;
      p.groups = s.groups;
      p.gh = static_cast<std::size_t>(rh) < s.h ? CeilDiv(s.h - static_cast<std::size_t>(rh), s.stride_h) : 0;
      p.gw = static_cast<std::size_t>(rw) < s.w ? CeilDiv(s.w - static_cast<std::size_t>(rw), s.stride_w) : 0;
      // dx row rh + sh*j reads dy row j + (rh + pt - kh*dh)/sh through tap kh when that division is exact;
      // columns likewise, walked from the last tap so the offsets increase (the flip).
      tap_kh.clear();
      tap_kw.clear();
      for (std::size_t kh = 0; kh < s.kh; ++kh) {
        const sidx ny = rh + pt - static_cast<sidx>(kh) * dh;
        if (Mod(ny, sh) != 0) continue;
        for (std::size_t k = s.kw; k-- > 0;) {
          const sidx nx = rw + pl - static_cast<sidx>(k) * dw;
          if (Mod(nx, sw) != 0) continue;
          AddTap(p.runs, ny / sh, nx / sw);
          tap_kh.push_back(kh);
          tap_kw.push_back(k);
        }
      }
      p.ntaps = tap_kh.size();
      // wm[(t*cog + ol)*cin + g*cg + cl] = w[kh_t, kw_t, cl, g*cog + ol]: the tap's filter, transposed per group.
      float* wm = wt + used;
      for (std::size_t t = 0; t < p.ntaps; ++t) {
        const float* wtap = w + (tap_kh[t] * s.kw + tap_kw[t]) * cg * s.cout;
        for (std::size_t g = 0; g < s.groups; ++g) {
          for (std::size_t cl = 0; cl < cg; ++cl) {
            const float* src = wtap + cl * s.cout + g * cog;
            float* dst = wm + t * cog * s.cin + g * cg + cl;
            for (std::size_t ol = 0; ol < cog; ++ol) dst[ol * s.cin] = src[ol];
          }
        }
      }
      used += p.ntaps * cog * s.cin;
      p.wm = wm;
      p.ldw = s.cin;
      p.out = dx;
      p.out_c = s.cin;
      p.out_h = s.h;
      p.out_w = s.w;
      p.ry = s.stride_h;
      p.rx = s.stride_w;
      p.oy0 = static_cast<std::size_t>(rh);
      p.ox0 = static_cast<std::size_t>(rw);
      RunProblem(p);
    }
  }
}

void Conv2dBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const std::size_t wsize = s.kh * s.kw * (s.cin / s.groups) * s.cout;
  if (wsize == 0) return;
  if (s.n == 0 || s.oh == 0 || s.ow == 0) {
    std::memset(dw, 0, wsize * sizeof(float));
    return;
  }
  if (s.cin / s.groups == 1) {
    DwConv2dBackwardFilter(s, x, dy, dw);
    return;
  }
  if (WinogradBackwardFilterApplies(s) && WinogradBackwardFilter(s, x, dy, dw)) return;
  const GemmConv p = ForwardProblem(s, x);
  RunFilter(p, dy, s.cout, dw);
}

}  // namespace nodegrad
