/*
 * nodegrad kernel C ABI: the signatures every per-ISA kernel file implements and the kernel table that
 * dispatch/ fills once at load. Declarations only: a header with inline bodies, included by both a baseline
 * and an AVX translation unit, could be merged by the linker into one AVX copy that then runs on any CPU.
 *
 * Naming: ng_<dtype>_<op family>_<tile>_<isa>, the tile being the elements one main-loop step handles
 * (x64 = 4 x 16 lanes of AVX-512, x32 = 4 x 8 lanes of AVX2, x16 = 4 x 4 lanes of NEON, x1 = plain loop).
 */
#ifndef NODEGRAD_KERNELS_H
#define NODEGRAD_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Elementwise binary op codes; the addon exports them as binaryOpCodes so TypeScript never repeats them. */
typedef enum ng_binary_op {
  NG_BINARY_ADD = 0,
  NG_BINARY_SUB = 1,
  NG_BINARY_MUL = 2,
  NG_BINARY_DIV = 3,
  NG_BINARY_OP_COUNT = 4
} ng_binary_op;

/*
 * out[i] = a[i] op b[i % bn] for 0 <= i < n, in float32 with IEEE rounding (no FMA, no flush to zero).
 * bn == n: same shape; bn == 1: b is a scalar; otherwise n % bn == 0 and b is a row repeated over the
 * last axes. Preconditions (checked by the addon): bn >= 1 unless n == 0; op < NG_BINARY_OP_COUNT;
 * out either does not overlap a or b, or is exactly a, or exactly b with bn == n.
 */
typedef void (*ng_f32_binary_fn)(int op, const float* a, const float* b, float* out, size_t n, size_t bn);

/* Plain-loop reference kernel, built for the baseline ISA of every target: always available. */
void ng_f32_binary_x1_ref(int op, const float* a, const float* b, float* out, size_t n, size_t bn);
/* AVX2 (+FMA build flags), 4 x 8 lanes per step, maskload/maskstore tail. x86-64 builds only. */
void ng_f32_binary_x32_avx2(int op, const float* a, const float* b, float* out, size_t n, size_t bn);
/* AVX-512 F, 4 x 16 lanes per step, opmask tail. x86-64 builds only. */
void ng_f32_binary_x64_avx512(int op, const float* a, const float* b, float* out, size_t n, size_t bn);
/* AArch64 NEON (baseline there), 4 x 4 lanes per step, scalar tail. arm64 builds only. */
void ng_f32_binary_x16_neon(int op, const float* a, const float* b, float* out, size_t n, size_t bn);

/* The kernels one ISA path runs; each entry carries its kernel's name for logs and tests. */
typedef struct ng_kernel_table {
  ng_f32_binary_fn f32_binary;
  const char* f32_binary_name;
} ng_kernel_table;

#ifdef __cplusplus
}
#endif

#endif /* NODEGRAD_KERNELS_H */
