// Pooling drivers (pool.h): geometry, thread split and the kernel choice; the arithmetic is in the row kernels.
#include "pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "nodegrad/dispatch.h"
#include "nodegrad/eltwise.h"
#include "thread_pool.h"

namespace {

ng_pool_kernels Pick() {
  ng_pool_kernels k = {ng_f32_maxpool2d_row_c1_ref, ng_f32_maxpool2d_bwd_row_c1_ref, ng_f32_avgpool2d_row_c1_ref,
                       ng_f32_avgpool2d_bwd_row_c1_ref, ng_f32_gmaxpool_c1_ref,  "ng_f32_maxpool2d_row_c1_ref",
                       "ng_f32_avgpool2d_row_c1_ref",   "ng_f32_gmaxpool_c1_ref"};
  switch (ng_dispatch_get()->isa) {
#if defined(NG_HAVE_AVX512_KERNELS)
    case NG_ISA_AVX512:
      k = {ng_f32_maxpool2d_row_c64_avx512, ng_f32_maxpool2d_bwd_row_c64_avx512, ng_f32_avgpool2d_row_c64_avx512,
           ng_f32_avgpool2d_bwd_row_c64_avx512, ng_f32_gmaxpool_c64_avx512, "ng_f32_maxpool2d_row_c64_avx512",
           "ng_f32_avgpool2d_row_c64_avx512", "ng_f32_gmaxpool_c64_avx512"};
      break;
#endif
#if defined(NG_HAVE_AVX2_KERNELS)
    case NG_ISA_AVX2:
      k = {ng_f32_maxpool2d_row_c32_avx2, ng_f32_maxpool2d_bwd_row_c32_avx2, ng_f32_avgpool2d_row_c32_avx2,
           ng_f32_avgpool2d_bwd_row_c32_avx2, ng_f32_gmaxpool_c32_avx2, "ng_f32_maxpool2d_row_c32_avx2",
           "ng_f32_avgpool2d_row_c32_avx2", "ng_f32_gmaxpool_c32_avx2"};
      break;
#endif
#if defined(NG_HAVE_NEON_KERNELS)
    case NG_ISA_NEON:
      k = {ng_f32_maxpool2d_row_c16_neon, ng_f32_maxpool2d_bwd_row_c16_neon, ng_f32_avgpool2d_row_c16_neon,
           ng_f32_avgpool2d_bwd_row_c16_neon, ng_f32_gmaxpool_c16_neon, "ng_f32_maxpool2d_row_c16_neon",
           "ng_f32_avgpool2d_row_c16_neon", "ng_f32_gmaxpool_c16_neon"};
      break;
#endif
    default:
      break;
  }
  return k;
}

// Elements a task should cover at least, so the pool's per-task cost stays negligible.
constexpr std::size_t kTaskElems = 16384;

// Consecutive rows per task for `rows` rows of `row_elems` elements each.
std::size_t RowsPerTask(std::size_t row_elems, std::size_t rows) {
  const std::size_t per = std::max<std::size_t>(1, kTaskElems / std::max<std::size_t>(1, row_elems));
  return std::min(per, std::max<std::size_t>(1, rows));
}

std::size_t CeilDiv(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// Runs body(row) for row in [0, rows), `per` consecutive rows per task.
template <class F>
void ForRows(std::size_t rows, std::size_t per, F&& body) {
  auto task = [&](std::size_t t, int) {
    const std::size_t end = std::min(rows, (t + 1) * per);
    for (std::size_t r = t * per; r < end; ++r) body(r);
  };
  nodegrad::ParallelFor(CeilDiv(rows, per), task);
}

std::size_t U(ptrdiff_t v) { return static_cast<std::size_t>(v); }

void Zero(float* p, std::size_t n) {
  if (n) std::memset(p, 0, n * sizeof(float));
}

}  // namespace

extern "C" const ng_pool_kernels* ng_pool_kernels_get(void) {
  static const ng_pool_kernels k = Pick();
  return &k;
}

namespace nodegrad {

void MaxPool2dF32(const ng_pool2d_geom& g, std::size_t n, const float* x, float* y) {
  const ng_pool_kernels* k = ng_pool_kernels_get();
  const std::size_t OH = U(g.oh), rows = n * OH, in_img = U(g.h * g.w * g.c), out_row = U(g.ow * g.c);
  if (rows == 0 || out_row == 0) return;
  ForRows(rows, RowsPerTask(out_row * U(g.kh * g.kw), rows), [&](std::size_t r) {
    const std::size_t img = r / OH, oh = r % OH;
    k->maxpool2d_row(&g, x + img * in_img, y + r * out_row, static_cast<ptrdiff_t>(oh));
  });
}

void MaxPool2dBackwardF32(const ng_pool2d_geom& g, std::size_t n, const float* dy, const float* x, float* dx) {
  const ng_pool_kernels* k = ng_pool_kernels_get();
  const std::size_t OH = U(g.oh), H = U(g.h), in_row = U(g.w * g.c), in_img = H * in_row, out_row = U(g.ow * g.c);
  const std::size_t out_img = OH * out_row;
  if (n * in_img == 0) return;
  if (g.oh == 0 || g.ow == 0) {  // no window: no gradient
    Zero(dx, n * in_img);
    return;
  }
  auto clamp_row = [&](ptrdiff_t r) { return std::min(std::max<ptrdiff_t>(r, 0), g.h); };
  const std::size_t per = RowsPerTask(in_row * U(g.kh), n * OH);
  if (g.sh >= g.kh) {
    // Output row oh owns input rows [band(oh), band(oh + 1)): its window rows and the gap below them.
    const bool select = g.sw >= g.kw;
    ForRows(n * OH, per, [&](std::size_t r) {
      const std::size_t img = r / OH;
      const ptrdiff_t oh = static_cast<ptrdiff_t>(r % OH);
      const ptrdiff_t b0 = oh == 0 ? 0 : clamp_row(oh * g.sh - g.pad_top);
      const ptrdiff_t b1 = oh + 1 == g.oh ? g.h : clamp_row((oh + 1) * g.sh - g.pad_top);
      float* dxi = dx + img * in_img;
      ptrdiff_t w0 = clamp_row(oh * g.sh - g.pad_top), w1 = clamp_row(oh * g.sh - g.pad_top + g.kh);
      if (w0 >= w1 || !select) w0 = w1 = b0;  // the kernel writes nothing itself: clear the whole band
      Zero(dxi + U(b0) * in_row, U(w0 - b0) * in_row);
      Zero(dxi + U(w1) * in_row, U(b1 - w1) * in_row);
      k->maxpool2d_bwd_row(&g, x + img * in_img, dy + r * out_row, dxi, oh, select ? 0 : 1);
    });
    return;
  }
  // Overlapping rows: zero, then rounds of output rows m apart (m * sh >= kh), each round in parallel.
  ForRows(n * H, RowsPerTask(in_row, n * H), [&](std::size_t r) { Zero(dx + r * in_row, in_row); });
  const std::size_t m = CeilDiv(U(g.kh), U(g.sh));
  for (std::size_t round = 0; round < m; ++round) {
    const std::size_t per_img = OH > round ? CeilDiv(OH - round, m) : 0;
    if (per_img == 0) continue;
    ForRows(n * per_img, per, [&](std::size_t r) {
      const std::size_t img = r / per_img, oh = round + (r % per_img) * m;
      k->maxpool2d_bwd_row(&g, x + img * in_img, dy + img * out_img + oh * out_row, dx + img * in_img,
                           static_cast<ptrdiff_t>(oh), 1);
    });
  }
}

void AvgPool2dF32(const ng_pool2d_geom& g, std::size_t n, const float* x, float* y) {
  const ng_pool_kernels* k = ng_pool_kernels_get();
  const std::size_t OH = U(g.oh), rows = n * OH, in_img = U(g.h * g.w * g.c), out_row = U(g.ow * g.c);
  if (rows == 0 || out_row == 0) return;
  ForRows(rows, RowsPerTask(out_row * U(g.kh * g.kw), rows), [&](std::size_t r) {
    const std::size_t img = r / OH, oh = r % OH;
    k->avgpool2d_row(&g, x + img * in_img, y + r * out_row, static_cast<ptrdiff_t>(oh));
  });
}

void AvgPool2dBackwardF32(const ng_pool2d_geom& g, std::size_t n, const float* dy, float* dx) {
  const ng_pool_kernels* k = ng_pool_kernels_get();
  const std::size_t H = U(g.h), in_row = U(g.w * g.c), out_img = U(g.oh * g.ow * g.c);
  if (n * H * in_row == 0) return;
  // inv_count[oh * OW + ow] = 1 / (in-bounds pixels of window (oh, ow)), rounded once from double.
  std::vector<float> inv(U(g.oh * g.ow));
  for (ptrdiff_t oh = 0; oh < g.oh; ++oh) {
    const ptrdiff_t r0 = oh * g.sh - g.pad_top;
    const ptrdiff_t rc = std::max<ptrdiff_t>(std::min(r0 + g.kh, g.h) - std::max<ptrdiff_t>(r0, 0), 0);
    for (ptrdiff_t ow = 0; ow < g.ow; ++ow) {
      const ptrdiff_t c0 = ow * g.sw - g.pad_left;
      const ptrdiff_t cc = std::max<ptrdiff_t>(std::min(c0 + g.kw, g.w) - std::max<ptrdiff_t>(c0, 0), 0);
      inv[U(oh * g.ow + ow)] = rc * cc > 0 ? static_cast<float>(1.0 / static_cast<double>(rc * cc)) : 0.0f;
    }
  }
  ForRows(n * H, RowsPerTask(in_row, n * H), [&](std::size_t r) {
    const std::size_t img = r / H, ih = r % H;
    k->avgpool2d_bwd_row(&g, dy + img * out_img, inv.data(), dx + r * in_row, static_cast<ptrdiff_t>(ih));
  });
}

void GlobalPool2dF32(bool max, std::size_t n, std::size_t hw, std::size_t c, const float* x, float* y) {
  if (n * c == 0) return;
  if (hw == 0) {  // no pixel: the reference's 0/0 and read of a missing element both give NaN
    std::fill(y, y + n * c, std::nanf(""));
    return;
  }
  const ng_pool_kernels* pk = ng_pool_kernels_get();
  const ng_eltwise_kernels* ek = ng_eltwise_kernels_get();
  auto task = [&](std::size_t img, int) {
    const float* xi = x + img * hw * c;
    float* yi = y + img * c;
    if (max) {
      pk->gmaxpool(xi, hw, c, yi, nullptr);
      return;
    }
    std::vector<double> acc(c, 0.0);
    ek->colsum(xi, c, hw, c, acc.data());
    for (std::size_t ch = 0; ch < c; ++ch) yi[ch] = static_cast<float>(acc[ch] / static_cast<double>(hw));
  };
  ParallelFor(n, task);
}

void GlobalPool2dBackwardF32(bool max, std::size_t n, std::size_t hw, std::size_t c, const float* dy, const float* x,
                             float* dx) {
  if (n * hw * c == 0) return;
  const ng_pool_kernels* pk = ng_pool_kernels_get();
  auto task = [&](std::size_t img, int) {
    const float* dyi = dy + img * c;
    float* dxi = dx + img * hw * c;
    if (max) {
      std::vector<float> m(c);
      std::vector<int32_t> arg(c);
      pk->gmaxpool(x + img * hw * c, hw, c, m.data(), arg.data());
      Zero(dxi, hw * c);
      for (std::size_t ch = 0; ch < c; ++ch) dxi[static_cast<std::size_t>(arg[ch]) * c + ch] = dyi[ch];
      return;
    }
    std::vector<float> v(c);  // dy / hw rounded once from double, as the reference
    for (std::size_t ch = 0; ch < c; ++ch) v[ch] = static_cast<float>(static_cast<double>(dyi[ch]) / static_cast<double>(hw));
    for (std::size_t p = 0; p < hw; ++p) std::memcpy(dxi + p * c, v.data(), c * sizeof(float));
  };
  ParallelFor(n, task);
}

}  // namespace nodegrad
