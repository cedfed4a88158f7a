/*
 * SGEMM building blocks per ISA (C ABI, declarations only): packing routines and register-blocked
 * micro-kernels. The blocked driver (native/runtime/gemm.cc) cuts C = op(A) op(B) into MR x NR tiles and
 * K into kc-long slices, packs the slices, and calls one micro-kernel per tile.
 *
 * Packed layouts (every panel zero-padded, so a micro-kernel always computes a full MR x NR tile):
 *   packed A: ceil(mc / MR) micro-panels one after another; panel q holds rows [q*MR, q*MR + MR) as
 *             kc groups of MR floats (pa[p*MR + r] = op(A)[q*MR + r][p]).
 *   packed B: ceil(nc / NR) micro-panels; panel q holds columns [q*NR, q*NR + NR) as kc groups of NR floats
 *             (pb[p*NR + c] = op(B)[p][q*NR + c]).
 * Packing reads op(A) / op(B) through the transpose flag, so no transposed copy is ever made.
 *
 * Naming: ng_sgemm_ukernel_<MR>x<NR>_<isa>, ng_sgemm_pack_a_<MR>_<isa>, ng_sgemm_pack_b_<NR>_<isa>.
 */
#ifndef NODEGRAD_SGEMM_H
#define NODEGRAD_SGEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What a micro-kernel does with its accumulated tile T (kc-long dot products) when it stores to C:
 *   C = act(alpha * T + beta * C + bias)
 * beta == 0 never reads C (it may hold NaN). bias points at the tile's first column (nr values) or is NULL.
 * relu != 0: v < 0 -> 0, with NaN and -0 passed through (as the reference's `if (v < 0) v = 0`).
 */
typedef struct ng_sgemm_epilogue {
  float alpha;
  float beta;
  const float* bias;
  int relu;
} ng_sgemm_epilogue;

/*
 * One tile: T = packed A panel (kc x MR) times packed B panel (kc x NR), then the epilogue into
 * C[0:mr, 0:nr] (row stride ldc). 1 <= mr <= MR, 1 <= nr <= NR; kc == 0 is allowed (T = 0; pa and pb are
 * not read). pa and pb are 64-byte aligned.
 */
typedef void (*ng_sgemm_ukernel_fn)(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr,
                                    size_t nr, const ng_sgemm_epilogue* ep);

/*
 * One full-height tile from UNPACKED row-major A (no transpose): T = A[0:MR, 0:kc] (element (i, p) at
 * a[i*lda + p]; all MR rows are read, so the driver packs a short last panel and uses the packed kernel) times
 * the packed B panel, then the epilogue into C[0:MR, 0:nr]. Skips the packing pass over A for skinny
 * products (small N, or small K), where packing costs as much as the arithmetic. kc == 0 is allowed.
 * Naming: ng_sgemm_ukernel_direct_<MR>x<NR>_<isa>. Same sums in the same order as the packed kernel.
 */
typedef void (*ng_sgemm_ukernel_direct_fn)(size_t kc, const float* a, size_t lda, const float* pb, float* c,
                                           size_t ldc, size_t nr, const ng_sgemm_epilogue* ep);

/*
 * Packs op(A)[0:mc, 0:kc] into ceil(mc / MR) A micro-panels. a points at op(A)[0][0]; trans == 0: element
 * (i, p) is a[i*lda + p]; trans != 0: a[p*lda + i].
 */
typedef void (*ng_sgemm_pack_a_fn)(size_t mc, size_t kc, const float* a, size_t lda, int trans, float* pa);

/*
 * Packs op(B)[0:kc, 0:nc] into ceil(nc / NR) B micro-panels. b points at op(B)[0][0]; trans == 0: element
 * (p, j) is b[p*ldb + j]; trans != 0: b[j*ldb + p].
 */
typedef void (*ng_sgemm_pack_b_fn)(size_t kc, size_t nc, const float* b, size_t ldb, int trans, float* pb);

/*
 * One tile of a reduction-major product over UNPACKED operands (long K, small output: the backward filter's
 * X^T dY, matmul with transposeA): T[i][j] = sum_{p < kc} a[p*lda + i] * b[p*ldb + j] for i < mr, j < nr, each
 * a sum in increasing p; then C[0:mr, 0:nr] (row stride ldc) = T (accumulate == 0) or C += T. Both operands are
 * K-major and read in place (a's rows broadcast, b's rows loaded as vectors); nothing outside rows [0, kc),
 * columns [0, mr) of a and [0, nr) of b is read, nothing outside C[0:mr, 0:nr] written. skew (< the vector
 * width, skew + nr <= NR) lets the vectors start skew columns before b and c, masked, so that a caller can
 * keep b's loads aligned when b is not. While it runs the kernel prefetches npf cache lines from pf toward L2
 * (the caller's next block; pf need not be a valid address). 1 <= mr <= MR, 1 <= nr, kc >= 1.
 * Naming: ng_sgemm_ukernel_tn_<MR>x<NR>_<isa>. AVX-512 only so far: an AVX2 4x24 (and 6x16, 12x8) version ran
 * 4-16% slower than the packed 6x16 path on most backward-filter shapes on the dev box, the scalar one 50%.
 */
typedef void (*ng_sgemm_ukernel_tn_fn)(size_t kc, const float* a, size_t lda, const float* b, size_t ldb, float* c,
                                       size_t ldc, size_t mr, size_t nr, size_t skew, int accumulate, const char* pf,
                                       size_t npf);

/* Scalar reference path, 4x4 tile: plain loops, any CPU. */
void ng_sgemm_ukernel_4x4_ref(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr, size_t nr,
                              const ng_sgemm_epilogue* ep);
void ng_sgemm_ukernel_direct_4x4_ref(size_t kc, const float* a, size_t lda, const float* pb, float* c, size_t ldc,
                                     size_t nr, const ng_sgemm_epilogue* ep);
void ng_sgemm_pack_a_4_ref(size_t mc, size_t kc, const float* a, size_t lda, int trans, float* pa);
void ng_sgemm_pack_b_4_ref(size_t kc, size_t nc, const float* b, size_t ldb, int trans, float* pb);

/* AVX2 + FMA, 6x16 tile (12 ymm accumulators), 6x8 when the tile's last columns fit one vector. x86-64 only. */
void ng_sgemm_ukernel_6x16_avx2(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr,
                                size_t nr, const ng_sgemm_epilogue* ep);
void ng_sgemm_ukernel_direct_6x16_avx2(size_t kc, const float* a, size_t lda, const float* pb, float* c, size_t ldc,
                                       size_t nr, const ng_sgemm_epilogue* ep);
void ng_sgemm_pack_a_6_avx2(size_t mc, size_t kc, const float* a, size_t lda, int trans, float* pa);
void ng_sgemm_pack_b_16_avx2(size_t kc, size_t nc, const float* b, size_t ldb, int trans, float* pb);

/* AVX-512 F, 14x32 tile (28 zmm accumulators), 14x16 when the tile's columns fit one vector. x86-64 only. */
void ng_sgemm_ukernel_14x32_avx512(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr,
                                   size_t nr, const ng_sgemm_epilogue* ep);
void ng_sgemm_ukernel_direct_14x32_avx512(size_t kc, const float* a, size_t lda, const float* pb, float* c,
                                          size_t ldc, size_t nr, const ng_sgemm_epilogue* ep);
void ng_sgemm_pack_a_14_avx512(size_t mc, size_t kc, const float* a, size_t lda, int trans, float* pa);
void ng_sgemm_pack_b_32_avx512(size_t kc, size_t nc, const float* b, size_t ldb, int trans, float* pb);
/* AVX-512 F reduction-major tile 8x48: 24 zmm accumulators, 3 b vectors, 1 broadcast. */
void ng_sgemm_ukernel_tn_8x48_avx512(size_t kc, const float* a, size_t lda, const float* b, size_t ldb, float* c,
                                     size_t ldc, size_t mr, size_t nr, size_t skew, int accumulate, const char* pf,
                                     size_t npf);

/* AArch64 NEON, 8x12 tile (24 q accumulators, fmla by lane). arm64 only. */
void ng_sgemm_ukernel_8x12_neon(size_t kc, const float* pa, const float* pb, float* c, size_t ldc, size_t mr,
                                size_t nr, const ng_sgemm_epilogue* ep);
void ng_sgemm_pack_a_8_neon(size_t mc, size_t kc, const float* a, size_t lda, int trans, float* pa);
void ng_sgemm_pack_b_12_neon(size_t kc, size_t nc, const float* b, size_t ldb, int trans, float* pb);

#ifdef __cplusplus
}
#endif

#endif /* NODEGRAD_SGEMM_H */
