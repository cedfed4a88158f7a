// Depthwise convolution drivers (conv.h; Cin/groups == 1, multiplier M = Cout/Cin): threads over image rows,
// one dispatched SIMD row kernel (nodegrad/conv.h) per row. M > 1 expands each input row to Cout channels
// (x[c] repeated M times) in per-thread scratch, so the kernels only ever see multiplier 1.
#include <algorithm>
#include <cstring>

#include "conv.h"
#include "nodegrad/conv.h"
#include "nodegrad/dispatch.h"
#include "thread_pool.h"

namespace nodegrad {

namespace {

constexpr int kTileSlot = 0;    // per thread: expanded rows (M > 1)
constexpr int kCallerSlot = 1;  // calling thread: flipped filter, partial dW (slots 2, 3: the GEMM's)

using sidx = std::ptrdiff_t;

struct DwKernels {
  ng_f32_dwconv2d_fwd_fn fwd;
  ng_f32_dwconv2d_fwd2_fn fwd2;
  ng_f32_dwconv2d_bwd_data_fn bwd_data;
  ng_f32_dwconv2d_bwd_filter_fn bwd_filter;
  ng_f32_dwconv2d_bwd_filter2_fn bwd_filter2;
  const char* fwd_name;
  const char* bwd_data_name;
  const char* bwd_filter_name;
};

#define NG_DW_KERNELS(FWD, FWD2, BD, BF, BF2) DwKernels{FWD, FWD2, BD, BF, BF2, #FWD, #BD, #BF}

DwKernels SelectKernels() {
  switch (ng_dispatch_get()->isa) {
#if defined(NG_HAVE_AVX512_KERNELS)
    case NG_ISA_AVX512:
      return NG_DW_KERNELS(ng_f32_dwconv2d_fwd_c16x4_avx512, ng_f32_dwconv2d_fwd2_c16x4_avx512,
                           ng_f32_dwconv2d_bwd_data_c16x1_avx512, ng_f32_dwconv2d_bwd_filter_c16x4_avx512,
                           ng_f32_dwconv2d_bwd_filter2_c16x4_avx512);
#endif
#if defined(NG_HAVE_AVX2_KERNELS)
    case NG_ISA_AVX2:
      return NG_DW_KERNELS(ng_f32_dwconv2d_fwd_c8x4_avx2, ng_f32_dwconv2d_fwd2_c8x4_avx2,
                           ng_f32_dwconv2d_bwd_data_c8x1_avx2, ng_f32_dwconv2d_bwd_filter_c8x4_avx2,
                           ng_f32_dwconv2d_bwd_filter2_c8x4_avx2);
#endif
#if defined(NG_HAVE_NEON_KERNELS)
    case NG_ISA_NEON:
      return NG_DW_KERNELS(ng_f32_dwconv2d_fwd_c4x4_neon, ng_f32_dwconv2d_fwd2_c4x4_neon,
                           ng_f32_dwconv2d_bwd_data_c4x1_neon, ng_f32_dwconv2d_bwd_filter_c4x4_neon,
                           ng_f32_dwconv2d_bwd_filter2_c4x4_neon);
#endif
    default:
      return NG_DW_KERNELS(ng_f32_dwconv2d_fwd_c1x1_ref, ng_f32_dwconv2d_fwd2_c1x1_ref,
                           ng_f32_dwconv2d_bwd_data_c1x1_ref, ng_f32_dwconv2d_bwd_filter_c1x1_ref,
                           ng_f32_dwconv2d_bwd_filter2_c1x1_ref);
  }
}

const DwKernels& Kernels() {
  static const DwKernels k = SelectKernels();  // the ISA path never changes after load
  return k;
}

std::size_t CeilDiv(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// Rows per task: several tasks per thread (rows differ in cost at the borders), each worth >= ~64K lane-FMAs so
// the pool's hand-off stays negligible.
std::size_t RowsPerTask(std::size_t rows, std::size_t work_per_row, std::size_t T) {
  if (T <= 1) return rows;
  std::size_t chunk = std::max<std::size_t>(1, CeilDiv(rows, 8 * T));
  while (chunk < rows && chunk * work_per_row < 65536) chunk *= 2;
  return std::min(chunk, rows);
}

// dst[i, c*M + m] = src[i, c] for i < width: the multiplier-M input row as Cout channels.
void ExpandRow(const float* src, std::size_t width, std::size_t C, std::size_t M, float* dst) {
  for (std::size_t i = 0; i < width * C; ++i) {
    const float v = src[i];
    for (std::size_t m = 0; m < M; ++m) dst[i * M + m] = v;
  }
}

// dst[i, c] = sum_m src[i, c*M + m]: the gradient of ExpandRow.
void ReduceRow(const float* src, std::size_t width, std::size_t C, std::size_t M, float* dst) {
  for (std::size_t i = 0; i < width * C; ++i) {
    float acc = 0.0f;
    for (std::size_t m = 0; m < M; ++m) acc += src[i * M + m];
    dst[i] = acc;
  }
}

// Windows of input rows [a, a + nr) (spaced `dil` rows apart) of one image, handed to the row kernels as a first
// row and a step. With multiplier M == 1 the rows are read in place; with M > 1 they are expanded to C*M channels
// in per-thread scratch, and with dil == 1 the expanded rows live in a ring that stores row i at slots i % R and
// i % R + R, so any R consecutive rows are contiguous and each row is expanded once per task (windows must move
// forward, as they do when a task walks its rows in order). Copying M == 1 rows to 64-byte aligned scratch was
// measured too (typed arrays sit 16 bytes off a cache line): the copy cost more than the split loads it saved.
class RowWindows {
 public:
  RowWindows(const float* src, std::size_t rows, std::size_t width, std::size_t C, std::size_t M, std::size_t dil,
             std::size_t max_rows)
      : src_(src), rows_(rows), width_(width), C_(C), M_(M), dil_(dil), R_(std::max<std::size_t>(max_rows, 1)) {
    prepare_ = M > 1;
    ring_ = prepare_ && dil == 1;
    stride_ = (width * C * M + 15) / 16 * 16;
  }

  // Floats of scratch this needs (0 when rows are read in place).
  std::size_t ScratchFloats() const { return prepare_ ? (ring_ ? 2 * R_ : R_) * stride_ : 0; }

  // Before the first Get: the scratch (ScratchFloats(), 64-byte aligned).
  void Attach(float* buf) {
    buf_ = buf;
    img_ = static_cast<std::size_t>(-1);
  }

  // Row a of image b as the kernels read it, and the step to row a + dil (nr rows in all, nr <= max_rows).
  const float* Get(std::size_t b, sidx a, std::size_t nr, sidx* step) {
    const std::size_t in_row = width_ * C_;
    const float* img = src_ + b * rows_ * in_row;
    if (!prepare_ || nr == 0) {
      *step = static_cast<sidx>(dil_ * in_row);
      return img + static_cast<std::size_t>(nr ? a : 0) * in_row;
    }
    *step = static_cast<sidx>(stride_);
    if (!ring_) {
      for (std::size_t r = 0; r < nr; ++r) {
        Prepare(img + (static_cast<std::size_t>(a) + r * dil_) * in_row, buf_ + r * stride_);
      }
      return buf_;
    }
    if (b != img_ || a < next_ - static_cast<sidx>(R_)) {
      img_ = b;
      next_ = a;
    }
    for (sidx i = std::max(next_, a); i < a + static_cast<sidx>(nr); ++i) {
      float* slot = buf_ + static_cast<std::size_t>(i % static_cast<sidx>(R_)) * stride_;
      Prepare(img + static_cast<std::size_t>(i) * in_row, slot);
      std::memcpy(slot + R_ * stride_, slot, width_ * C_ * M_ * sizeof(float));
    }
    next_ = std::max(next_, a + static_cast<sidx>(nr));
    return buf_ + static_cast<std::size_t>(a % static_cast<sidx>(R_)) * stride_;
  }

 private:
  void Prepare(const float* row, float* dst) const { ExpandRow(row, width_, C_, M_, dst); }

  const float* src_;
  std::size_t rows_, width_, C_, M_, dil_, R_;
  bool prepare_ = false, ring_ = false;
  std::size_t stride_ = 0;
  float* buf_ = nullptr;
  std::size_t img_ = 0;
  sidx next_ = 0;
};

// Taps kh in [*lo, *hi) for which a + kh*d (a row index) falls inside [0, n), for d >= 1.
void TapRange(sidx a, sidx d, sidx n, sidx kh_count, sidx* lo, sidx* hi) {
  // a + kh*d >= 0  <=>  kh >= ceil(-a / d);  a + kh*d <= n - 1  <=>  kh <= floor((n - 1 - a) / d).
  auto floor_div = [](sidx p, sidx q) { return p >= 0 ? p / q : -((-p + q - 1) / q); };
  sidx l = -floor_div(a, d);
  sidx h = floor_div(n - 1 - a, d) + 1;
  l = std::max<sidx>(l, 0);
  h = std::min(h, kh_count);
  *lo = l;
  *hi = std::max(h, l);
}

// The fused relu of the forward rows: v < 0 ? 0 : v (NaN and -0 pass through, as the SGEMM epilogue).
void ReluInPlace(float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = y[i] < 0.0f ? 0.0f : y[i];
}

}  // namespace

const char* DwConvForwardKernelName() { return Kernels().fwd_name; }
const char* DwConvBackwardDataKernelName() { return Kernels().bwd_data_name; }
const char* DwConvBackwardFilterKernelName() { return Kernels().bwd_filter_name; }

void DwConv2dForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y, Activation act) {
  const bool relu = act == Activation::kRelu;
  const DwKernels& k = Kernels();
  const std::size_t C = s.cin, M = s.cout / s.cin, Ce = s.cout;
  ng_dwconv2d_row g;
  g.channels = Ce;
  g.in_w = s.w;
  g.out_w = s.ow;
  g.kw = s.kw;
  g.stride = static_cast<sidx>(s.stride_w);
  g.dil = static_cast<sidx>(s.dil_w);
  g.pad = static_cast<sidx>(s.pad_left);
  const std::size_t rows = s.n * s.oh, out_row = s.ow * Ce;
  const std::size_t chunk = RowsPerTask(rows, s.ow * Ce * s.kh * s.kw, static_cast<std::size_t>(NumThreads()));
  // Stride 1 and dilation 1 along H: two adjacent output rows share all but one input row (fwd2).
  const bool pairs = s.stride_h == 1 && s.dil_h == 1;
  auto task = [&](std::size_t t, int) {
    RowWindows xs(x, s.h, s.w, C, M, s.dil_h, s.kh + 1);
    if (xs.ScratchFloats()) xs.Attach(Scratch(kTileSlot, xs.ScratchFloats() * sizeof(float)));
    const std::size_t r1 = std::min(rows, (t + 1) * chunk);
    for (std::size_t row = t * chunk; row < r1; ++row) {
      const std::size_t b = row / s.oh, oy = row % s.oh;
      const sidx iy0 = static_cast<sidx>(oy * s.stride_h) - static_cast<sidx>(s.pad_top);
      sidx lo, hi;
      TapRange(iy0, static_cast<sidx>(s.dil_h), static_cast<sidx>(s.h), static_cast<sidx>(s.kh), &lo, &hi);
      const std::size_t nr = static_cast<std::size_t>(hi - lo);
      sidx x_step = 0;
      const float* wr = w + static_cast<std::size_t>(lo) * s.kw * Ce;
      // Both windows complete and in the same image: rows iy0 .. iy0 + kh.
      if (pairs && nr == s.kh && row + 1 < r1 && oy + 1 < s.oh &&
          iy0 + static_cast<sidx>(s.kh) < static_cast<sidx>(s.h)) {
        const float* x0 = xs.Get(b, iy0, nr + 1, &x_step);
        k.fwd2(&g, nr, x0, x_step, wr, static_cast<sidx>(s.kw * Ce), bias, y + row * out_row,
               static_cast<sidx>(out_row));
        if (relu) ReluInPlace(y + row * out_row, 2 * out_row);  // the two rows just written, still in L1
        ++row;
        continue;
      }
      const float* x0 = xs.Get(b, iy0 + lo * static_cast<sidx>(s.dil_h), nr, &x_step);
      k.fwd(&g, nr, x0, x_step, wr, static_cast<sidx>(s.kw * Ce), bias, y + row * out_row);
      if (relu) ReluInPlace(y + row * out_row, out_row);
    }
  };
  ParallelFor(CeilDiv(rows, chunk), task);
}

void DwConv2dBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const DwKernels& k = Kernels();
  const std::size_t C = s.cin, M = s.cout / s.cin, Ce = s.cout;
  const std::size_t rows = s.n * s.h, dx_row = s.w * C, dy_row = s.ow * Ce;
  const bool unit_stride = s.stride_h == 1 && s.stride_w == 1;
  ng_dwconv2d_row g;
  g.channels = Ce;
  g.kw = s.kw;
  g.dil = static_cast<sidx>(s.dil_w);
  const float* wf = w;
  if (unit_stride) {
    // dx = the forward conv of dy with the filter flipped along H and W, pads (K-1)*dil - pad: row kernels as in
    // the forward pass, windows walking dy upwards as dx rows go down.
    g.in_w = s.ow;
    g.out_w = s.w;
    g.stride = 1;
    g.pad = static_cast<sidx>((s.kw - 1) * s.dil_w) - static_cast<sidx>(s.pad_left);
    float* flip = Scratch(kCallerSlot, s.kh * s.kw * Ce * sizeof(float));
    for (std::size_t kh = 0; kh < s.kh; ++kh) {
      for (std::size_t kw = 0; kw < s.kw; ++kw) {
        std::memcpy(flip + (kh * s.kw + kw) * Ce, w + ((s.kh - 1 - kh) * s.kw + (s.kw - 1 - kw)) * Ce,
                    Ce * sizeof(float));
      }
    }
    wf = flip;
  } else {
    g.in_w = s.w;
    g.out_w = s.ow;
    g.stride = static_cast<sidx>(s.stride_w);
    g.pad = static_cast<sidx>(s.pad_left);
  }
  const std::size_t chunk = RowsPerTask(rows, s.ow * Ce * s.kh * s.kw, static_cast<std::size_t>(NumThreads()));
  auto task = [&](std::size_t t, int) {
    // The C*M-channel dx row, reduced over the multiplier afterwards (dy already has C*M channels).
    float* dxe = M > 1 ? Scratch(kTileSlot, s.w * Ce * sizeof(float)) : nullptr;
    const std::size_t r1 = std::min(rows, (t + 1) * chunk);
    for (std::size_t row = t * chunk; row < r1; ++row) {
      const std::size_t b = row / s.h, iy = row % s.h;
      float* dst = M > 1 ? dxe : dx + row * dx_row;
      if (unit_stride) {
        // Flipped row kh' reads dy row oy = iy - ((KH-1)*dil - pad) + kh'*dil, as a forward window would.
        const sidx oy0 = static_cast<sidx>(iy) - static_cast<sidx>((s.kh - 1) * s.dil_h) + static_cast<sidx>(s.pad_top);
        sidx lo, hi;
        TapRange(oy0, static_cast<sidx>(s.dil_h), static_cast<sidx>(s.oh), static_cast<sidx>(s.kh), &lo, &hi);
        const std::size_t nr = static_cast<std::size_t>(hi - lo);
        const float* wr = wf + static_cast<std::size_t>(lo) * s.kw * Ce;
        const sidx step = static_cast<sidx>(s.dil_h * dy_row);
        const sidx oy_first = nr ? oy0 + lo * static_cast<sidx>(s.dil_h) : 0;
        const float* d0 = dy + (b * s.oh + static_cast<std::size_t>(oy_first)) * dy_row;
        // Both windows complete, same image: the next dx row's window is one dy row further (fwd2).
        if (M == 1 && s.dil_h == 1 && nr == s.kh && row + 1 < r1 && iy + 1 < s.h &&
            oy0 + static_cast<sidx>(s.kh) < static_cast<sidx>(s.oh)) {
          k.fwd2(&g, nr, d0, step, wr, static_cast<sidx>(s.kw * Ce), nullptr, dst, static_cast<sidx>(dx_row));
          ++row;
          continue;
        }
        k.fwd(&g, nr, d0, step, wr, static_cast<sidx>(s.kw * Ce), nullptr, dst);
      } else {
        // Output rows oy = (iy + pad - kh*dil) / stride that read input row iy, scattered into it.
        const sidx base = static_cast<sidx>(iy + s.pad_top);
        std::memset(dst, 0, s.w * Ce * sizeof(float));
        const sidx sh = static_cast<sidx>(s.stride_h);
        for (std::size_t kh = 0; kh < s.kh; ++kh) {
          const sidx num = base - static_cast<sidx>(kh * s.dil_h);
          if (num < 0 || num % sh != 0 || num / sh >= static_cast<sidx>(s.oh)) continue;
          k.bwd_data(&g, dy + (b * s.oh + static_cast<std::size_t>(num / sh)) * dy_row, w + kh * s.kw * Ce, dst);
        }
      }
      if (M > 1) ReduceRow(dxe, s.w, C, M, dx + row * dx_row);
    }
  };
  ParallelFor(CeilDiv(rows, chunk), task);
}

void DwConv2dBackwardFilter(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const DwKernels& k = Kernels();
  const std::size_t C = s.cin, M = s.cout / s.cin, Ce = s.cout;
  const std::size_t wsize = s.kh * s.kw * Ce, rows = s.n * s.oh, dy_row = s.ow * Ce;
  ng_dwconv2d_row g;
  g.channels = Ce;
  g.in_w = s.w;
  g.out_w = s.ow;
  g.kw = s.kw;
  g.stride = static_cast<sidx>(s.stride_w);
  g.dil = static_cast<sidx>(s.dil_w);
  g.pad = static_cast<sidx>(s.pad_left);
  // A fixed split of the rows into `tasks` ranges, each summed into its own dW, added in task order.
  if (rows == 0) {
    std::memset(dw, 0, wsize * sizeof(float));
    return;
  }
  const std::size_t tasks = std::min<std::size_t>(static_cast<std::size_t>(NumThreads()), rows);
  const bool pairs = s.stride_h == 1 && s.dil_h == 1;
  float* partials = tasks > 1 ? Scratch(kCallerSlot, (tasks - 1) * wsize * sizeof(float)) : nullptr;
  auto task = [&](std::size_t t, int) {
    float* target = t == 0 ? dw : partials + (t - 1) * wsize;
    std::memset(target, 0, wsize * sizeof(float));
    RowWindows xs(x, s.h, s.w, C, M, s.dil_h, s.kh + 1);
    if (xs.ScratchFloats()) xs.Attach(Scratch(kTileSlot, xs.ScratchFloats() * sizeof(float)));
    const std::size_t r0 = t * rows / tasks, r1 = (t + 1) * rows / tasks;
    for (std::size_t row = r0; row < r1; ++row) {
      const std::size_t b = row / s.oh, oy = row % s.oh;
      const sidx iy0 = static_cast<sidx>(oy * s.stride_h) - static_cast<sidx>(s.pad_top);
      sidx lo, hi;
      TapRange(iy0, static_cast<sidx>(s.dil_h), static_cast<sidx>(s.h), static_cast<sidx>(s.kh), &lo, &hi);
      const std::size_t nr = static_cast<std::size_t>(hi - lo);
      if (nr == 0) continue;
      sidx x_step = 0;
      float* dwr = target + static_cast<std::size_t>(lo) * s.kw * Ce;
      // Stride 1, dilation 1, both windows complete and in one image: one pass over the four input rows.
      if (pairs && nr == s.kh && row + 1 < r1 && oy + 1 < s.oh &&
          iy0 + static_cast<sidx>(s.kh) < static_cast<sidx>(s.h)) {
        const float* x0 = xs.Get(b, iy0, nr + 1, &x_step);
        k.bwd_filter2(&g, nr, x0, x_step, dy + row * dy_row, static_cast<sidx>(dy_row), dwr,
                      static_cast<sidx>(s.kw * Ce));
        ++row;
        continue;
      }
      const float* x0 = xs.Get(b, iy0 + lo * static_cast<sidx>(s.dil_h), nr, &x_step);
      k.bwd_filter(&g, nr, x0, x_step, dy + row * dy_row, dwr, static_cast<sidx>(s.kw * Ce));
    }
  };
  ParallelFor(tasks, task);
  if (tasks > 1) {
    for (std::size_t t = 1; t < tasks; ++t) {
      const float* src = partials + (t - 1) * wsize;
      for (std::size_t i = 0; i < wsize; ++i) dw[i] += src[i];
    }
  }
}

}  // namespace nodegrad
