/*
 * 2-D pooling kernels over NHWC images (C ABI, declarations only). Every kernel works on one image
 * x [H, W, C] and one output row; the driver (native/runtime/pool.cc) offsets the pointers per image, splits
 * rows over the thread pool and picks the ISA once. Semantics are the reference backend's
 * (src/backends/reference/pool.ts): only in-bounds pixels take part, max keeps the first maximum in row-major
 * window order and the first NaN wins, an average divides by the in-bounds count, an all-padding window
 * gives 0 and no gradient.
 *
 * Tiles: c64 = 4 x 16 channels (AVX-512), c32 = 4 x 8 (AVX2), c16 = 4 x 4 (NEON), c1 = plain loops.
 */
#ifndef NODEGRAD_POOL_H
#define NODEGRAD_POOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One image's pooling geometry; every field >= 0, kh, kw, sh, sw >= 1 (checked by the addon). */
typedef struct ng_pool2d_geom {
  ptrdiff_t h, w, c;           /* input rows, columns, channels */
  ptrdiff_t kh, kw;            /* window */
  ptrdiff_t sh, sw;            /* strides */
  ptrdiff_t pad_top, pad_left; /* window (oh, ow) starts at input (oh*sh - pad_top, ow*sw - pad_left) */
  ptrdiff_t oh, ow;            /* output rows and columns */
} ng_pool2d_geom;

/* y_row [OW, C] = output row `oh` of max pooling image x [H, W, C]. */
typedef void (*ng_f32_maxpool2d_row_fn)(const ng_pool2d_geom* g, const float* x, float* y_row, ptrdiff_t oh);
/*
 * Routes dy_row [OW, C] (output row `oh`) to the first maximum of each window, recomputed from x, into
 * dx [H, W, C]. accumulate == 0: windows overlap neither in H nor W, and every dx element of the window's
 * in-bounds rows is written (0 off the maxima, also in columns no window covers); accumulate != 0: dy is added
 * at the maxima only (the caller zeroed dx).
 */
typedef void (*ng_f32_maxpool2d_bwd_row_fn)(const ng_pool2d_geom* g, const float* x, const float* dy_row, float* dx,
                                            ptrdiff_t oh, int accumulate);
/* y_row [OW, C] = output row `oh` of average pooling (sum of the in-bounds pixels / their count). */
typedef void (*ng_f32_avgpool2d_row_fn)(const ng_pool2d_geom* g, const float* x, float* y_row, ptrdiff_t oh);
/*
 * dx_row [W, C] = input row `ih` of the average pooling gradient: for every pixel, the sum over the windows
 * (oh, ow) containing it of dy[oh, ow, :] * inv_count[oh * OW + ow], in (oh, ow) row-major order.
 */
typedef void (*ng_f32_avgpool2d_bwd_row_fn)(const ng_pool2d_geom* g, const float* dy, const float* inv_count,
                                            float* dx_row, ptrdiff_t ih);
/* Over the rows of x [rows, c] (rows >= 1): y[ch] = first maximum (first NaN wins), arg[ch] = its row (arg may be NULL). */
typedef void (*ng_f32_gmaxpool_fn)(const float* x, size_t rows, size_t c, float* y, int32_t* arg);

#define NG_POOL_KERNELS(ISA, CT)                                                                              \
  void ng_f32_maxpool2d_row_##CT##_##ISA(const ng_pool2d_geom* g, const float* x, float* y_row, ptrdiff_t oh); \
  void ng_f32_maxpool2d_bwd_row_##CT##_##ISA(const ng_pool2d_geom* g, const float* x, const float* dy_row,    \
                                             float* dx, ptrdiff_t oh, int accumulate);                        \
  void ng_f32_avgpool2d_row_##CT##_##ISA(const ng_pool2d_geom* g, const float* x, float* y_row, ptrdiff_t oh); \
  void ng_f32_avgpool2d_bwd_row_##CT##_##ISA(const ng_pool2d_geom* g, const float* dy, const float* inv_count, \
                                             float* dx_row, ptrdiff_t ih);                                    \
  void ng_f32_gmaxpool_##CT##_##ISA(const float* x, size_t rows, size_t c, float* y, int32_t* arg);

/* Plain loops, every target (the scalar path). */
NG_POOL_KERNELS(ref, c1)
/* AVX2 + FMA, x86-64 builds only. */
NG_POOL_KERNELS(avx2, c32)
/* AVX-512 F/DQ/BW/VL, x86-64 builds only. */
NG_POOL_KERNELS(avx512, c64)
/* AArch64 NEON, arm64 builds only. */
NG_POOL_KERNELS(neon, c16)

/* The pool kernels of the ISA path dispatch/ chose, with their names (native/runtime/pool.cc). */
typedef struct ng_pool_kernels {
  ng_f32_maxpool2d_row_fn maxpool2d_row;
  ng_f32_maxpool2d_bwd_row_fn maxpool2d_bwd_row;
  ng_f32_avgpool2d_row_fn avgpool2d_row;
  ng_f32_avgpool2d_bwd_row_fn avgpool2d_bwd_row;
  ng_f32_gmaxpool_fn gmaxpool;
  const char* maxpool2d_name;
  const char* avgpool2d_name;
  const char* gmaxpool_name;
} ng_pool_kernels;

const ng_pool_kernels* ng_pool_kernels_get(void);

#ifdef __cplusplus
}
#endif

#endif /* NODEGRAD_POOL_H */
