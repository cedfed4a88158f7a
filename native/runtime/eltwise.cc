// Elementwise, reduction and softmax drivers (eltwise.h): the thread split, in-order combination of partial
// results and the per-row scalar maths in double; the passes over the data are nodegrad/eltwise.h kernels.
#include "eltwise.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nodegrad/dispatch.h"
#include "nodegrad/eltwise.h"
#include "thread_pool.h"

namespace {

ng_eltwise_kernels Pick() {
  ng_eltwise_kernels k = {ng_f32_unary_x1_ref, ng_f32_expsum_x1_ref, ng_f32_sub2_x1_ref, ng_f32_colsum_x1_ref,
                          ng_f32_colmax_x1_ref, ng_f32_sum_x1_ref, ng_f32_max_x1_ref, "ng_f32_unary_x1_ref",
                          "ng_f32_colsum_x1_ref", ng_f32_unary_grad_x1_ref, "ng_f32_unary_grad_x1_ref"};
  switch (ng_dispatch_get()->isa) {
#if defined(NG_HAVE_AVX512_KERNELS)
    case NG_ISA_AVX512:
      k = {ng_f32_unary_x64_avx512, ng_f32_expsum_x64_avx512, ng_f32_sub2_x64_avx512, ng_f32_colsum_x64_avx512,
           ng_f32_colmax_x64_avx512, ng_f32_sum_x64_avx512, ng_f32_max_x64_avx512, "ng_f32_unary_x64_avx512",
           "ng_f32_colsum_x64_avx512", ng_f32_unary_grad_x64_avx512, "ng_f32_unary_grad_x64_avx512"};
      break;
#endif
#if defined(NG_HAVE_AVX2_KERNELS)
    case NG_ISA_AVX2:
      k = {ng_f32_unary_x32_avx2, ng_f32_expsum_x32_avx2, ng_f32_sub2_x32_avx2, ng_f32_colsum_x32_avx2,
           ng_f32_colmax_x32_avx2, ng_f32_sum_x32_avx2, ng_f32_max_x32_avx2, "ng_f32_unary_x32_avx2",
           "ng_f32_colsum_x32_avx2", ng_f32_unary_grad_x32_avx2, "ng_f32_unary_grad_x32_avx2"};
      break;
#endif
#if defined(NG_HAVE_NEON_KERNELS)
    case NG_ISA_NEON:
      k = {ng_f32_unary_x16_neon, ng_f32_expsum_x16_neon, ng_f32_sub2_x16_neon, ng_f32_colsum_x16_neon,
           ng_f32_colmax_x16_neon, ng_f32_sum_x16_neon, ng_f32_max_x16_neon, "ng_f32_unary_x16_neon",
           "ng_f32_colsum_x16_neon", ng_f32_unary_grad_x16_neon, "ng_f32_unary_grad_x16_neon"};
      break;
#endif
    default:
      break;
  }
  return k;
}

std::size_t CeilDiv(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

constexpr std::size_t kTaskElems = 16384;   // elements per task at least (the pool's cost stays negligible)
constexpr std::size_t kRunChunk = 65536;    // a long run is summed in chunks of this many, combined in order
constexpr std::size_t kWideCols = 512;      // column reductions this wide split columns, not rows
constexpr std::size_t kColBlock = 256;      // columns per task when splitting columns
constexpr std::size_t kMaxChunks = 256;     // bounds partial results' memory

// Math.max / Math.min of two partial results (NaN propagates, +0 > -0): associative and commutative.
float JsMax(float a, float b, bool is_min) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<float>::quiet_NaN();
  if (a == b) return (std::signbit(a) != is_min) ? b : a;
  return is_min ? std::min(a, b) : std::max(a, b);
}

void ScaleRow(float* y, std::size_t n, float s, int op) {
  ng_dispatch_get()->kernels.f32_binary(op, y, &s, y, n, 1);
}

}  // namespace

extern "C" const ng_eltwise_kernels* ng_eltwise_kernels_get(void) {
  static const ng_eltwise_kernels k = Pick();
  return &k;
}

namespace nodegrad {

void UnaryF32(int op, const float* x, float* y, std::size_t n, double alpha) {
  const ng_eltwise_kernels* k = ng_eltwise_kernels_get();
  ForRanges(n, kTaskElems, [&](std::size_t i0, std::size_t i1) { k->unary(op, x + i0, y + i0, i1 - i0, alpha); });
}

void UnaryGradF32(int op, const float* x, const float* y, const float* dy, float* dx, std::size_t n, double alpha) {
  const ng_eltwise_kernels* k = ng_eltwise_kernels_get();
  ForRanges(n, kTaskElems, [&](std::size_t i0, std::size_t i1) {
    k->unary_grad(op, x + i0, y + i0, dy + i0, dx + i0, i1 - i0, alpha);
  });
}

// Sum (double) or Math.max/min of one contiguous run; long runs in fixed chunks, combined in chunk order.
static void ReduceRun(int op, const float* x, std::size_t len, double* sum, float* ext, bool parallel) {
  const ng_eltwise_kernels* k = ng_eltwise_kernels_get();
  const bool is_sum = op == NG_REDUCE_SUM || op == NG_REDUCE_MEAN, is_min = op == NG_REDUCE_MIN;
  const std::size_t nchunks = std::max<std::size_t>(1, CeilDiv(len, kRunChunk));
  if (!parallel || nchunks == 1) {
    if (is_sum) *sum = 0.0;
    else *ext = is_min ? INFINITY : -INFINITY;
    for (std::size_t t = 0; t < nchunks; ++t) {  // the same chunks as the parallel split: same result
      const std::size_t i0 = t * kRunChunk, nr = std::min(kRunChunk, len - std::min(len, i0));
      if (is_sum) *sum += k->sum(x + i0, nr);
      else *ext = JsMax(*ext, k->max(x + i0, nr, is_min), is_min);
    }
    return;
  }
  std::vector<double> ps(nchunks);
  std::vector<float> pm(nchunks);
  auto task = [&](std::size_t t, int) {
    const std::size_t i0 = t * kRunChunk, nr = std::min(kRunChunk, len - i0);
    if (is_sum) ps[t] = k->sum(x + i0, nr);
    else pm[t] = k->max(x + i0, nr, is_min);
  };
  ParallelFor(nchunks, task);
  if (is_sum) *sum = 0.0;
  else *ext = is_min ? INFINITY : -INFINITY;
  for (std::size_t t = 0; t < nchunks; ++t) {
    if (is_sum) *sum += ps[t];
    else *ext = JsMax(*ext, pm[t], is_min);
  }
}

// Column reduction of one [rows, cols] block into sum[cols] (double) or ext[cols]; split over the pool when
// `parallel`, by fixed row chunks (narrow) or column blocks (wide), partials combined in chunk order.
static void ReduceCols(int op, const float* x, std::size_t rows, std::size_t cols, double* sum, float* ext,
                       bool parallel) {
  const ng_eltwise_kernels* k = ng_eltwise_kernels_get();
  const bool is_sum = op == NG_REDUCE_SUM || op == NG_REDUCE_MEAN, is_min = op == NG_REDUCE_MIN;
  const float init = is_min ? INFINITY : -INFINITY;
  auto run = [&](std::size_t r0, std::size_t nr, std::size_t c0, std::size_t nc, double* s, float* e) {
    if (is_sum) k->colsum(x + r0 * cols + c0, cols, nr, nc, s);
    else k->colmax(x + r0 * cols + c0, cols, nr, nc, e, is_min ? 1 : 0);
  };
  if (is_sum) std::fill(sum, sum + cols, 0.0);
  else std::fill(ext, ext + cols, init);
  if (cols >= kWideCols) {
    auto task = [&](std::size_t t, int) {
      const std::size_t c0 = t * kColBlock;
      run(0, rows, c0, std::min(kColBlock, cols - c0), sum + c0, ext + c0);
    };
    if (parallel) ParallelFor(CeilDiv(cols, kColBlock), task);
    else for (std::size_t t = 0; t < CeilDiv(cols, kColBlock); ++t) task(t, 0);
    return;
  }
  const std::size_t per = std::max(CeilDiv(kTaskElems * 2, cols), CeilDiv(rows, kMaxChunks));
  const std::size_t nchunks = CeilDiv(rows, per);
  if (nchunks <= 1) {
    run(0, rows, 0, cols, sum, ext);
    return;
  }
  std::vector<double> ps(nchunks * cols, 0.0);
  std::vector<float> pm(nchunks * cols, init);
  auto task = [&](std::size_t t, int) {
    const std::size_t r0 = t * per;
    run(r0, std::min(per, rows - r0), 0, cols, ps.data() + t * cols, pm.data() + t * cols);
  };
  if (parallel) ParallelFor(nchunks, task);
  else for (std::size_t t = 0; t < nchunks; ++t) task(t, 0);
  for (std::size_t t = 0; t < nchunks; ++t) {
    for (std::size_t j = 0; j < cols; ++j) {
      if (is_sum) sum[j] += ps[t * cols + j];
      else ext[j] = JsMax(ext[j], pm[t * cols + j], is_min);
    }
  }
}

void ReduceF32(int op, const float* x, std::size_t outer, std::size_t len, std::size_t inner, float* y) {
  const std::size_t nout = outer * inner;
  if (nout == 0) return;
  const bool is_sum = op == NG_REDUCE_SUM || op == NG_REDUCE_MEAN;
  auto finish = [&](double s, float e) -> float {
    if (op == NG_REDUCE_MEAN) return static_cast<float>(s / static_cast<double>(len));  // len 0: NaN
    return is_sum ? static_cast<float>(s) : e;
  };
  const std::size_t block = len * inner;  // elements reducing into one outer index
  if (inner == 1) {
    // Rows: many short rows go to tasks whole; a few long ones are split within.
    if (len > kRunChunk && outer < 4) {
      for (std::size_t o = 0; o < outer; ++o) {
        double s = 0.0;
        float e = 0.0f;
        ReduceRun(op, x + o * len, len, &s, &e, true);
        y[o] = finish(s, e);
      }
      return;
    }
    ForRanges(outer, CeilDiv(kTaskElems, std::max<std::size_t>(1, len)), [&](std::size_t o0, std::size_t o1) {
      for (std::size_t o = o0; o < o1; ++o) {
        double s = 0.0;
        float e = 0.0f;
        ReduceRun(op, x + o * len, len, &s, &e, false);
        y[o] = finish(s, e);
      }
    });
    return;
  }
  // Columns: small blocks go to tasks whole; large ones are split within.
  const bool split_within = block >= 2 * kTaskElems;
  auto one = [&](std::size_t o, bool parallel) {
    std::vector<double> s(inner);
    std::vector<float> e(inner);
    ReduceCols(op, x + o * block, len, inner, s.data(), e.data(), parallel);
    for (std::size_t j = 0; j < inner; ++j) y[o * inner + j] = finish(is_sum ? s[j] : 0.0, is_sum ? 0.0f : e[j]);
  };
  if (split_within) {
    for (std::size_t o = 0; o < outer; ++o) one(o, true);
    return;
  }
  ForRanges(outer, CeilDiv(kTaskElems, std::max<std::size_t>(1, block)), [&](std::size_t o0, std::size_t o1) {
    for (std::size_t o = o0; o < o1; ++o) one(o, false);
  });
}

void SoftmaxF32(bool log, const float* x, std::size_t rows, std::size_t cols, float* y) {
  if (cols == 0) return;
  const ng_eltwise_kernels* k = ng_eltwise_kernels_get();
  ForRanges(rows, CeilDiv(kTaskElems, cols), [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      const float m = k->max(xr, cols, 0);
      const double s = k->expsum(xr, log ? nullptr : yr, cols, m);
      if (log) k->sub2(xr, yr, cols, m, static_cast<float>(std::log(s)));
      else ScaleRow(yr, cols, static_cast<float>(s), NG_BINARY_DIV);
    }
  });
}

void SoftmaxCrossEntropyF32(const float* logits, const std::int32_t* ilabels, const float* flabels, std::size_t n,
                            std::size_t c, float* loss) {
  const ng_eltwise_kernels* k = ng_eltwise_kernels_get();
  ForRanges(n, CeilDiv(kTaskElems, std::max<std::size_t>(1, c)), [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) {
      const float* xr = logits + r * c;
      double l = 0.0;
      if (ilabels) {
        const std::int32_t lab = ilabels[r];
        if (lab >= 0 && static_cast<std::size_t>(lab) < c) {
          const float m = k->max(xr, c, 0);
          const double ls = std::log(k->expsum(xr, nullptr, c, m));
          l = (static_cast<double>(m) - static_cast<double>(xr[lab])) + ls;  // lse - x[label], no cancellation of m
        }
      } else if (c > 0) {
        const float m = k->max(xr, c, 0);
        const double ls = std::log(k->expsum(xr, nullptr, c, m));
        const float* wr = flabels + r * c;
        for (std::size_t j = 0; j < c; ++j) {
          if (wr[j] != 0.0f) l += static_cast<double>(wr[j]) * ((static_cast<double>(m) - static_cast<double>(xr[j])) + ls);
        }
      }
      loss[r] = static_cast<float>(l);
    }
  });
}

void SoftmaxCrossEntropyBackwardF32(const float* dloss, const float* logits, const std::int32_t* ilabels,
                                    const float* flabels, std::size_t n, std::size_t c, float* dlogits) {
  if (c == 0) return;
  const ng_eltwise_kernels* k = ng_eltwise_kernels_get();
  ForRanges(n, CeilDiv(kTaskElems, c), [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) {
      const float* xr = logits + r * c;
      float* dr = dlogits + r * c;
      const double g = static_cast<double>(dloss[r]);
      if (ilabels) {
        const std::int32_t lab = ilabels[r];
        if (lab < 0 || static_cast<std::size_t>(lab) >= c) {  // an all-zero label row: no gradient
          std::fill(dr, dr + c, 0.0f);
          continue;
        }
        const float m = k->max(xr, c, 0);
        const double s = k->expsum(xr, dr, c, m);  // dr = exp(x - m)
        const double e = static_cast<double>(dr[lab]);
        ScaleRow(dr, c, static_cast<float>(g / s), NG_BINARY_MUL);
        dr[lab] = static_cast<float>(-g * ((s - e) / s));  // g (p - 1) without the cancellation of p - 1
        continue;
      }
      const float* wr = flabels + r * c;
      const float m = k->max(xr, c, 0);
      const double s = k->expsum(xr, dr, c, m);
      double wsum = 0.0;
      for (std::size_t j = 0; j < c; ++j) wsum += static_cast<double>(wr[j]);
      const double scale = wsum / s;
      for (std::size_t j = 0; j < c; ++j) {
        dr[j] = static_cast<float>(g * (static_cast<double>(dr[j]) * scale - static_cast<double>(wr[j])));
      }
    }
  });
}

}  // namespace nodegrad
