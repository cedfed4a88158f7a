/*
 * Elementwise binary f32 kernels for AArch64 NEON (baseline on arm64, so no extra flags): 4 x 4 lanes per
 * step (tile x16), then single vectors, then a scalar tail (NEON has no masked loads). vdivq_f32 is the
 * IEEE-rounded AArch64 divide. Plain loops, intrinsics and static functions only, like the x86 kernels.
 */
#include <arm_neon.h>

#include "nodegrad/kernels.h"

// VOP: the NEON intrinsic suffix (vaddq_f32 ...); EXPR: the same op on scalars x, y for the tail.
#define NG_NEON_BINARY(NAME, VOP, EXPR)                                                       \
  static void NAME##_same(const float* a, const float* b, float* out, size_t n) {            \
    size_t i = 0;                                                                             \
    for (; i + 16 <= n; i += 16) {                                                            \
      const float32x4_t r0 = VOP(vld1q_f32(a + i), vld1q_f32(b + i));                         \
      const float32x4_t r1 = VOP(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));                 \
      const float32x4_t r2 = VOP(vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));                 \
      const float32x4_t r3 = VOP(vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));               \
      vst1q_f32(out + i, r0);                                                                 \
      vst1q_f32(out + i + 4, r1);                                                             \
      vst1q_f32(out + i + 8, r2);                                                             \
      vst1q_f32(out + i + 12, r3);                                                            \
    }                                                                                         \
    for (; i + 4 <= n; i += 4) vst1q_f32(out + i, VOP(vld1q_f32(a + i), vld1q_f32(b + i)));   \
    for (; i < n; ++i) {                                                                      \
      const float x = a[i], y = b[i];                                                         \
      out[i] = (EXPR);                                                                        \
    }                                                                                         \
  }                                                                                           \
  static void NAME##_scalar(const float* a, float y, float* out, size_t n) {                 \
    const float32x4_t vy = vdupq_n_f32(y);                                                    \
    size_t i = 0;                                                                             \
    for (; i + 16 <= n; i += 16) {                                                            \
      const float32x4_t r0 = VOP(vld1q_f32(a + i), vy);                                       \
      const float32x4_t r1 = VOP(vld1q_f32(a + i + 4), vy);                                   \
      const float32x4_t r2 = VOP(vld1q_f32(a + i + 8), vy);                                   \
      const float32x4_t r3 = VOP(vld1q_f32(a + i + 12), vy);                                  \
      vst1q_f32(out + i, r0);                                                                 \
      vst1q_f32(out + i + 4, r1);                                                             \
      vst1q_f32(out + i + 8, r2);                                                             \
      vst1q_f32(out + i + 12, r3);                                                            \
    }                                                                                         \
    for (; i + 4 <= n; i += 4) vst1q_f32(out + i, VOP(vld1q_f32(a + i), vy));                 \
    for (; i < n; ++i) {                                                                      \
      const float x = a[i];                                                                   \
      out[i] = (EXPR);                                                                        \
    }                                                                                         \
  }

NG_NEON_BINARY(add, vaddq_f32, x + y)
NG_NEON_BINARY(sub, vsubq_f32, x - y)
NG_NEON_BINARY(mul, vmulq_f32, x * y)
NG_NEON_BINARY(div, vdivq_f32, x / y)

typedef void (*same_fn)(const float*, const float*, float*, size_t);
typedef void (*scalar_fn)(const float*, float, float*, size_t);

// Same shape, scalar b, or b repeated every bn elements (a row over the last axes).
static void run_forms(same_fn same, scalar_fn scalar, const float* a, const float* b, float* out, size_t n, size_t bn) {
  if (n == 0) return;
  if (bn == n) {
    same(a, b, out, n);
  } else if (bn == 1) {
    scalar(a, b[0], out, n);
  } else {
    for (size_t r = 0; r < n; r += bn) same(a + r, b, out + r, bn);
  }
}

extern "C" void ng_f32_binary_x16_neon(int op, const float* a, const float* b, float* out, size_t n, size_t bn) {
  switch (op) {
    case NG_BINARY_ADD: run_forms(add_same, add_scalar, a, b, out, n, bn); break;
    case NG_BINARY_SUB: run_forms(sub_same, sub_scalar, a, b, out, n, bn); break;
    case NG_BINARY_MUL: run_forms(mul_same, mul_scalar, a, b, out, n, bn); break;
    case NG_BINARY_DIV: run_forms(div_same, div_scalar, a, b, out, n, bn); break;
    default: break;  // the addon rejects other codes before calling
  }
}
