/*
 * Batch-norm kernels over x [rows, c] (the last axis is the channel: NHWC or [N, C]), C ABI, declarations
 * only. Each kernel handles a run of rows; the driver (native/runtime/norm.cc) splits rows (or channel blocks)
 * over the thread pool, reduces the per-task partial sums in task order (deterministic for any thread count)
 * and works out the per-channel coefficients in double.
 *
 * Tiles: c64 = 4 x 16 channels (AVX-512), c16 = 2 x 8 (AVX2: two vectors of double accumulators fill its 16
 * registers) or 4 x 4 (NEON), c1 = plain loops.
 */
#ifndef NODEGRAD_NORM_H
#define NODEGRAD_NORM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Reductions read channels [0, c) of `rows` rows ld floats apart (ld >= c), so a driver can hand a task a block
 * of channels as well as a block of rows.
 * s1[ch] += sum_r (x[r*ld + ch] - shift[ch]); s2[ch] += sum_r (x[r*ld + ch] - shift[ch])^2, accumulated in double.
 */
typedef void (*ng_f32_bn_stats_fn)(const float* x, size_t ld, size_t rows, size_t c, const float* shift, double* s1,
                                   double* s2);
/* Row-contiguous [rows, c]: y[r, ch] = ((x[r, ch] - mean_hi[ch]) - mean_lo[ch]) * scale[ch] + bias[ch]; mean_hi + mean_lo is the mean. */
typedef void (*ng_f32_bn_apply_fn)(const float* x, float* y, size_t rows, size_t c, const float* mean_hi,
                                   const float* mean_lo, const float* scale, const float* bias);
/* sdy[ch] += sum_r dy[r*ld + ch]; sdyx[ch] += sum_r dy * (x - mean[ch]) (product in float), accumulated in double. */
typedef void (*ng_f32_bn_bwd_reduce_fn)(const float* dy, const float* x, size_t ld, size_t rows, size_t c,
                                        const float* mean, double* sdy, double* sdyx);
/* dx = a * dy - (b * (x - mean) + k) per channel; b == NULL: dx = a * dy (x, mean and k unread). */
typedef void (*ng_f32_bn_bwd_apply_fn)(const float* dy, const float* x, float* dx, size_t rows, size_t c,
                                       const float* mean, const float* a, const float* b, const float* k);

#define NG_NORM_KERNELS(ISA, CT)                                                                              \
  void ng_f32_bn_stats_##CT##_##ISA(const float* x, size_t ld, size_t rows, size_t c, const float* shift,     \
                                    double* s1, double* s2);                                                  \
  void ng_f32_bn_apply_##CT##_##ISA(const float* x, float* y, size_t rows, size_t c, const float* mean_hi,     \
                                    const float* mean_lo, const float* scale, const float* bias);             \
  void ng_f32_bn_bwd_reduce_##CT##_##ISA(const float* dy, const float* x, size_t ld, size_t rows, size_t c,   \
                                         const float* mean, double* sdy, double* sdyx);                       \
  void ng_f32_bn_bwd_apply_##CT##_##ISA(const float* dy, const float* x, float* dx, size_t rows, size_t c,    \
                                        const float* mean, const float* a, const float* b, const float* k);

/* Plain loops, every target (the scalar path). */
NG_NORM_KERNELS(ref, c1)
/* AVX2 + FMA, x86-64 builds only. */
NG_NORM_KERNELS(avx2, c16)
/* AVX-512 F/DQ/BW/VL, x86-64 builds only. */
NG_NORM_KERNELS(avx512, c64)
/* AArch64 NEON, arm64 builds only. */
NG_NORM_KERNELS(neon, c16)

/* The batch-norm kernels of the ISA path dispatch/ chose (native/runtime/norm.cc). */
typedef struct ng_norm_kernels {
  ng_f32_bn_stats_fn bn_stats;
  ng_f32_bn_apply_fn bn_apply;
  ng_f32_bn_bwd_reduce_fn bn_bwd_reduce;
  ng_f32_bn_bwd_apply_fn bn_bwd_apply;
  const char* name; /* the stats kernel's name, e.g. "ng_f32_bn_stats_c64_avx512" */
} ng_norm_kernels;

const ng_norm_kernels* ng_norm_kernels_get(void);

#ifdef __cplusplus
}
#endif

#endif /* NODEGRAD_NORM_H */
