// Batch-norm drivers (norm.h): the thread split, the deterministic reduction of partial sums and the
// per-channel coefficients (in double); the passes over the data are the kernels of nodegrad/norm.h.
#include "norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nodegrad/dispatch.h"
#include "nodegrad/norm.h"
#include "thread_pool.h"

namespace {

ng_norm_kernels Pick() {
  ng_norm_kernels k = {ng_f32_bn_stats_c1_ref, ng_f32_bn_apply_c1_ref, ng_f32_bn_bwd_reduce_c1_ref,
                       ng_f32_bn_bwd_apply_c1_ref, "ng_f32_bn_stats_c1_ref"};
  switch (ng_dispatch_get()->isa) {
#if defined(NG_HAVE_AVX512_KERNELS)
    case NG_ISA_AVX512:
      k = {ng_f32_bn_stats_c64_avx512, ng_f32_bn_apply_c64_avx512, ng_f32_bn_bwd_reduce_c64_avx512,
           ng_f32_bn_bwd_apply_c64_avx512, "ng_f32_bn_stats_c64_avx512"};
      break;
#endif
#if defined(NG_HAVE_AVX2_KERNELS)
    case NG_ISA_AVX2:
      k = {ng_f32_bn_stats_c16_avx2, ng_f32_bn_apply_c16_avx2, ng_f32_bn_bwd_reduce_c16_avx2,
           ng_f32_bn_bwd_apply_c16_avx2, "ng_f32_bn_stats_c16_avx2"};
      break;
#endif
#if defined(NG_HAVE_NEON_KERNELS)
    case NG_ISA_NEON:
      k = {ng_f32_bn_stats_c16_neon, ng_f32_bn_apply_c16_neon, ng_f32_bn_bwd_reduce_c16_neon,
           ng_f32_bn_bwd_apply_c16_neon, "ng_f32_bn_stats_c16_neon"};
      break;
#endif
    default:
      break;
  }
  return k;
}

std::size_t CeilDiv(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// How a per-channel reduction over [rows, c] is split: row chunks with one partial per chunk (narrow c), or
// channel blocks over all rows (wide c, where per-chunk partials would be large). Shape-only, hence deterministic.
struct Split {
  bool by_channels;
  std::size_t per;     // rows per chunk, or channels per block
  std::size_t ntasks;
};

constexpr std::size_t kWideChannels = 512;   // from here on, split channels
constexpr std::size_t kChannelBlock = 128;   // channels per task when splitting channels
constexpr std::size_t kChunkElems = 32768;   // elements per row chunk (128 KB: stays in L2 for a channel-blocked kernel)
constexpr std::size_t kMaxChunks = 256;      // bounds the partial sums' memory

Split SplitFor(std::size_t rows, std::size_t c) {
  if (c >= kWideChannels) return {true, kChannelBlock, CeilDiv(c, kChannelBlock)};
  const std::size_t per = std::max(CeilDiv(kChunkElems, c), CeilDiv(rows, kMaxChunks));
  return {false, per, CeilDiv(rows, per)};
}

// a[ch] += sum over rows of f(...) for two per-channel double sums, deterministically. reduce(x_off, rows, c0, nc,
// s1, s2) runs the kernel over rows starting at row `r0` and channels [c0, c0 + nc), adding into s1/s2[0..nc).
template <class K>
void ReduceChannels(std::size_t rows, std::size_t c, double* s1, double* s2, K&& kernel) {
  std::fill(s1, s1 + c, 0.0);
  std::fill(s2, s2 + c, 0.0);
  if (rows == 0 || c == 0) return;
  const Split sp = SplitFor(rows, c);
  if (sp.by_channels) {
    auto task = [&](std::size_t t, int) {
      const std::size_t c0 = t * sp.per, nc = std::min(sp.per, c - c0);
      kernel(0, rows, c0, nc, s1 + c0, s2 + c0);
    };
    nodegrad::ParallelFor(sp.ntasks, task);
    return;
  }
  std::vector<double> part(sp.ntasks * 2 * c, 0.0);
  auto task = [&](std::size_t t, int) {
    const std::size_t r0 = t * sp.per, nr = std::min(sp.per, rows - r0);
    kernel(r0, nr, 0, c, part.data() + t * 2 * c, part.data() + t * 2 * c + c);
  };
  nodegrad::ParallelFor(sp.ntasks, task);
  for (std::size_t t = 0; t < sp.ntasks; ++t) {  // chunk order: the same sums for any thread count
    const double* p = part.data() + t * 2 * c;
    for (std::size_t ch = 0; ch < c; ++ch) {
      s1[ch] += p[ch];
      s2[ch] += p[c + ch];
    }
  }
}

// Runs body(r0, nr) over contiguous row chunks of about kChunkElems elements, last chunk first: the pass before
// (a reduction, first chunk first) left the last rows in cache.
template <class F>
void ForRowChunksBackwards(std::size_t rows, std::size_t c, F&& body) {
  if (rows == 0 || c == 0) return;
  const std::size_t per = std::max<std::size_t>(1, kChunkElems / c), n = CeilDiv(rows, per);
  auto task = [&](std::size_t t, int) {
    const std::size_t r0 = (n - 1 - t) * per;
    body(r0, std::min(per, rows - r0));
  };
  nodegrad::ParallelFor(n, task);
}

}  // namespace

extern "C" const ng_norm_kernels* ng_norm_kernels_get(void) {
  static const ng_norm_kernels k = Pick();
  return &k;
}

namespace nodegrad {

void BatchNormTrainF32(const float* x, std::size_t rows, std::size_t c, const float* gamma, const float* beta,
                       double eps, float* y, float* mean, float* var) {
  const ng_norm_kernels* k = ng_norm_kernels_get();
  if (c == 0) return;
  if (rows == 0) {
    std::fill(mean, mean + c, std::nanf(""));
    std::fill(var, var + c, std::nanf(""));
    return;
  }
  // Shift each channel by its first value: the sums then see x - shift ~ std, not x ~ mean.
  std::vector<float> shift(c);
  for (std::size_t ch = 0; ch < c; ++ch) shift[ch] = std::isfinite(x[ch]) ? x[ch] : 0.0f;
  std::vector<double> s1(c), s2(c);
  ReduceChannels(rows, c, s1.data(), s2.data(),
                 [&](std::size_t r0, std::size_t nr, std::size_t c0, std::size_t nc, double* a, double* b) {
                   k->bn_stats(x + r0 * c + c0, c, nr, nc, shift.data() + c0, a, b);
                 });
  std::vector<float> mh(c), ml(c), scale(c);
  const double R = static_cast<double>(rows);
  for (std::size_t ch = 0; ch < c; ++ch) {
    const double d = s1[ch] / R;
    const double m = static_cast<double>(shift[ch]) + d;
    const double v = std::max(s2[ch] / R - d * d, 0.0);
    mean[ch] = static_cast<float>(m);
    var[ch] = static_cast<float>(v);
    mh[ch] = static_cast<float>(m);                              // the mean as a float pair hi + lo, so x - mean
    ml[ch] = static_cast<float>(m - static_cast<double>(mh[ch]));  // is near exact even for |mean| >> std
    scale[ch] = static_cast<float>(static_cast<double>(gamma[ch]) / std::sqrt(v + eps));
  }
  ForRowChunksBackwards(rows, c, [&](std::size_t r0, std::size_t nr) {
    k->bn_apply(x + r0 * c, y + r0 * c, nr, c, mh.data(), ml.data(), scale.data(), beta);
  });
}

void BatchNormInferF32(const float* x, std::size_t rows, std::size_t c, const float* gamma, const float* beta,
                       const float* mean, const float* var, double eps, float* y) {
  const ng_norm_kernels* k = ng_norm_kernels_get();
  std::vector<float> zero(c, 0.0f), scale(c);
  for (std::size_t ch = 0; ch < c; ++ch) {
    scale[ch] = static_cast<float>(static_cast<double>(gamma[ch]) / std::sqrt(static_cast<double>(var[ch]) + eps));
  }
  ForRowChunksBackwards(rows, c, [&](std::size_t r0, std::size_t nr) {
    k->bn_apply(x + r0 * c, y + r0 * c, nr, c, mean, zero.data(), scale.data(), beta);
  });
}

void BatchNormBackwardF32(bool training, const float* dy, const float* x, std::size_t rows, std::size_t c,
                          const float* gamma, const float* mean, const float* var, double eps, float* dx,
                          float* dgamma, float* dbeta) {
  const ng_norm_kernels* k = ng_norm_kernels_get();
  if (c == 0) return;
  if (rows == 0) {  // empty sums: 0, whatever the (NaN) statistics are, as the reference
    std::fill(dgamma, dgamma + c, 0.0f);
    std::fill(dbeta, dbeta + c, 0.0f);
    return;
  }
  std::vector<double> sdy(c), sdyx(c);
  ReduceChannels(rows, c, sdy.data(), sdyx.data(),
                 [&](std::size_t r0, std::size_t nr, std::size_t c0, std::size_t nc, double* a, double* b) {
                   k->bn_bwd_reduce(dy + r0 * c + c0, x + r0 * c + c0, c, nr, nc, mean + c0, a, b);
                 });
  std::vector<float> a(c), b(c), kk(c);
  const double R = static_cast<double>(rows);
  for (std::size_t ch = 0; ch < c; ++ch) {
    const double istd = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps);
    const double ga = static_cast<double>(gamma[ch]) * istd;
    dgamma[ch] = static_cast<float>(sdyx[ch] * istd);
    dbeta[ch] = static_cast<float>(sdy[ch]);
    // dx = ga/R * (R dy - sum(dy) - xhat sum(dy xhat)) = ga dy - (ga istd^2 sum(dy (x-mean))/R) (x-mean) - ga sum(dy)/R
    a[ch] = static_cast<float>(ga);
    b[ch] = static_cast<float>(ga * istd * istd * sdyx[ch] / R);
    kk[ch] = static_cast<float>(ga * sdy[ch] / R);
  }
  ForRowChunksBackwards(rows, c, [&](std::size_t r0, std::size_t nr) {
    k->bn_bwd_apply(dy + r0 * c, x + r0 * c, dx + r0 * c, nr, c, mean, a.data(), training ? b.data() : nullptr,
                    kk.data());
  });
}

}  // namespace nodegrad
