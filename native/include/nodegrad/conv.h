/*
 * nodegrad depthwise convolution kernels, C ABI. One call handles one output row (forward), one input row
 * (backward data) or one (input row, output row) pair (backward filter) of an NHWC image; the drivers in
 * native/runtime/conv_dw.cc pick the rows, the taps along the height and the thread split. Declarations only
 * (see kernels.h for why).
 *
 * Every row holds `channels` contiguous floats per pixel (multiplier already expanded by the driver), and
 * weights rows are [KW, channels]. Column arithmetic is signed: a pad may exceed the kernel span, and the
 * stride-1 backward data runs the forward kernel with pad' = (KW-1)*dil - pad, which can be negative.
 *
 * Naming: ng_f32_dwconv2d_<pass>_c<lanes>x<pixels>_<isa>: <lanes> channels per vector step, <pixels> output
 * pixels per register tile (x1 for the scatter form). Channel tails (channels % lanes) are masked (AVX-512,
 * AVX2) or scalar (NEON, ref).
 */
#ifndef NODEGRAD_CONV_H
#define NODEGRAD_CONV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Column geometry of one row step. in_w: pixels of the row read; out_w: pixels of the row written. */
typedef struct ng_dwconv2d_row {
  size_t channels;
  size_t in_w;
  size_t out_w;
  size_t kw;
  ptrdiff_t stride;
  ptrdiff_t dil;
  ptrdiff_t pad;
} ng_dwconv2d_row;

/*
 * Forward row: y[o, c] = (bias ? bias[c] : 0) + sum_{r < nrows} sum_{k < kw} xr[i, c] * wr[k, c], with
 * xr = x + r*x_step (input row r), wr = w + r*w_step (its weights row [kw, channels]), i = o*stride - pad + k*dil,
 * and terms with i outside [0, in_w) skipped. The rows a window reads are evenly spaced in memory (steps may be
 * negative). y (out_w x channels) is overwritten; nrows == 0 writes the bias (or zeros).
 */
typedef void (*ng_f32_dwconv2d_fwd_fn)(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                       const float* w, ptrdiff_t w_step, const float* bias, float* y);

/*
 * Forward, two adjacent output rows: exactly fwd(g, nrows, x, x_step, w, w_step, bias, y) and
 * fwd(g, nrows, x + x_step, x_step, w, w_step, bias, y + y_step), i.e. the second window starts one window
 * step further (stride 1 and dilation 1 along H). The input rows the two windows share are read once.
 */
typedef void (*ng_f32_dwconv2d_fwd2_fn)(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                        const float* w, ptrdiff_t w_step, const float* bias, float* y,
                                        ptrdiff_t y_step);

/*
 * Backward-data scatter row (strides > 1): for every o < out_w and k < kw with i = o*stride - pad + k*dil in
 * [0, in_w): dx[i, c] += dy[o, c] * w_row[k, c]. dx (in_w x channels) is accumulated, not overwritten.
 */
typedef void (*ng_f32_dwconv2d_bwd_data_fn)(const ng_dwconv2d_row* g, const float* dy, const float* w_row, float* dx);

/*
 * Backward filter, one output row against the input rows its window reads: for r < nrows,
 * dwr[k, c] += sum_{o < out_w} xr[i, c] * dy[o, c] with xr = x + r*x_step, dwr = dw + r*dw_step (a weights row
 * [kw, channels]), i = o*stride - pad + k*dil, terms with i outside [0, in_w) skipped. dw rows are accumulated.
 */
typedef void (*ng_f32_dwconv2d_bwd_filter_fn)(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                              const float* dy, float* dw, ptrdiff_t dw_step);

/*
 * Backward filter, two adjacent output rows: exactly bwd_filter(g, nrows, x, x_step, dy, dw, dw_step) followed by
 * bwd_filter(g, nrows, x + x_step, x_step, dy + dy_step, dw, dw_step) (stride 1 and dilation 1 along H).
 */
typedef void (*ng_f32_dwconv2d_bwd_filter2_fn)(const ng_dwconv2d_row* g, size_t nrows, const float* x,
                                               ptrdiff_t x_step, const float* dy, ptrdiff_t dy_step, float* dw,
                                               ptrdiff_t dw_step);

/* Plain loops, baseline ISA: always available. */
void ng_f32_dwconv2d_fwd_c1x1_ref(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                  const float* w, ptrdiff_t w_step, const float* bias, float* y);
void ng_f32_dwconv2d_fwd2_c1x1_ref(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t y_step);
void ng_f32_dwconv2d_bwd_data_c1x1_ref(const ng_dwconv2d_row* g, const float* dy, const float* w_row, float* dx);
void ng_f32_dwconv2d_bwd_filter_c1x1_ref(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                  const float* dy, float* dw, ptrdiff_t dw_step);
void ng_f32_dwconv2d_bwd_filter2_c1x1_ref(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* dy, ptrdiff_t dy_step, float* dw, ptrdiff_t dw_step);

/* AVX2 + FMA: 8 channels per vector, 4 pixels per register tile, maskload/maskstore channel tail. x86-64. */
void ng_f32_dwconv2d_fwd_c8x4_avx2(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* w, ptrdiff_t w_step, const float* bias, float* y);
void ng_f32_dwconv2d_fwd2_c8x4_avx2(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t y_step);
void ng_f32_dwconv2d_bwd_data_c8x1_avx2(const ng_dwconv2d_row* g, const float* dy, const float* w_row, float* dx);
void ng_f32_dwconv2d_bwd_filter_c8x4_avx2(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                  const float* dy, float* dw, ptrdiff_t dw_step);
void ng_f32_dwconv2d_bwd_filter2_c8x4_avx2(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* dy, ptrdiff_t dy_step, float* dw, ptrdiff_t dw_step);

/* AVX-512F: 16 channels per vector, 4 pixels per register tile, opmask channel tail. x86-64. */
void ng_f32_dwconv2d_fwd_c16x4_avx512(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                      const float* w, ptrdiff_t w_step, const float* bias, float* y);
void ng_f32_dwconv2d_fwd2_c16x4_avx512(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t y_step);
void ng_f32_dwconv2d_bwd_data_c16x1_avx512(const ng_dwconv2d_row* g, const float* dy, const float* w_row, float* dx);
void ng_f32_dwconv2d_bwd_filter_c16x4_avx512(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                  const float* dy, float* dw, ptrdiff_t dw_step);
void ng_f32_dwconv2d_bwd_filter2_c16x4_avx512(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* dy, ptrdiff_t dy_step, float* dw, ptrdiff_t dw_step);

/* AArch64 NEON: 4 channels per vector, 4 pixels per register tile, scalar channel tail. arm64. */
void ng_f32_dwconv2d_fwd_c4x4_neon(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* w, ptrdiff_t w_step, const float* bias, float* y);
void ng_f32_dwconv2d_fwd2_c4x4_neon(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* w, ptrdiff_t w_step, const float* bias, float* y, ptrdiff_t y_step);
void ng_f32_dwconv2d_bwd_data_c4x1_neon(const ng_dwconv2d_row* g, const float* dy, const float* w_row, float* dx);
void ng_f32_dwconv2d_bwd_filter_c4x4_neon(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                  const float* dy, float* dw, ptrdiff_t dw_step);
void ng_f32_dwconv2d_bwd_filter2_c4x4_neon(const ng_dwconv2d_row* g, size_t nrows, const float* x, ptrdiff_t x_step,
                                   const float* dy, ptrdiff_t dy_step, float* dw, ptrdiff_t dw_step);

/*
 * Winograd F(2x2, 3x3) transforms (stride 1, dilation 1; native/runtime/conv_wino.cc runs the 16 GEMMs between
 * them). Tiles are numbered over the batch: tile i is image i / (tiles_h*tiles_w), tile row ty and column tx of
 * it; its 2x2 outputs are rows 2ty, 2ty+1 and columns 2tx, 2tx+1, read from the 4x4 input patch at
 * (2ty - pad_top, 2tx - pad_left). Named ng_f32_wino23_{input,output}_<isa>; the loops are shared by every ISA
 * (native/kernels/wino23_f32.inc).
 */
typedef struct ng_wino23_geom {
  size_t in_h, in_w, in_c;     /* input images [n, in_h, in_w, in_c] */
  ptrdiff_t pad_top, pad_left; /* may be 0..2 */
  size_t out_h, out_w, out_c;  /* output images [n, out_h, out_w, out_c] */
  size_t tiles_h, tiles_w;     /* ceil(out_h / 2), ceil(out_w / 2) */
} ng_wino23_geom;

/* v[xi*count*in_c + t*in_c + c] = (B^T d B)[xi] of tile first + t, channel c; zero_row: in_c zeros (padding). */
typedef void (*ng_f32_wino23_input_fn)(const ng_wino23_geom* g, const float* x, const float* zero_row, size_t first,
                                       size_t count, float* v);
/* The 2x2 outputs act(A^T M A + bias) of tiles first..first+count-1, M[xi] at m + xi*count*out_c + t*out_c; outputs
 * past the image's last row/column go to sink_row (3*out_c floats). bias: out_c values or NULL. relu: nonzero
 * applies v < 0 ? 0 : v (NaN and -0 pass through, as the SGEMM epilogue). */
typedef void (*ng_f32_wino23_output_fn)(const ng_wino23_geom* g, const float* m, const float* bias, int relu,
                                        float* sink_row, size_t first, size_t count, float* y);

/* 1 when none of x[0..n) is Inf or NaN: Winograd's transforms would spread one to outputs that do not read it. */
typedef int (*ng_f32_wino23_finite_fn)(const float* x, size_t n);

#define NG_WINO23_DECLARE(SUFFIX)                                                                              \
  int ng_f32_wino23_finite_##SUFFIX(const float* x, size_t n);                                                  \
  void ng_f32_wino23_input_##SUFFIX(const ng_wino23_geom* g, const float* x, const float* zero_row, size_t first, \
                                    size_t count, float* v);                                                    \
  void ng_f32_wino23_output_##SUFFIX(const ng_wino23_geom* g, const float* m, const float* bias, int relu,      \
                                     float* sink_row, size_t first, size_t count, float* y);
NG_WINO23_DECLARE(ref)
NG_WINO23_DECLARE(avx2)
NG_WINO23_DECLARE(avx512)
NG_WINO23_DECLARE(neon)
#undef NG_WINO23_DECLARE

#ifdef __cplusplus
}
#endif

#endif /* NODEGRAD_CONV_H */
