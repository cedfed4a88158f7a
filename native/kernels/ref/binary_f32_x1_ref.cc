/*
 * Elementwise binary f32 kernels, plain loops (tile x1): the always-available path and the one
 * NODEGRAD_ISA=scalar forces. Built with the target's baseline flags only; the compiler may vectorise them
 * with baseline SIMD (SSE2 on x86-64), which keeps IEEE results since contraction is off.
 */
#include "nodegrad/kernels.h"

// One static loop per (op, form); a macro rather than a template keeps every symbol internal to this file.
#define NG_REF_BINARY(NAME, EXPR)                                                       \
  static void NAME##_same(const float* a, const float* b, float* out, size_t n) {      \
    for (size_t i = 0; i < n; ++i) {                                                    \
      const float x = a[i], y = b[i];                                                   \
      out[i] = (EXPR);                                                                  \
    }                                                                                   \
  }                                                                                     \
  static void NAME##_scalar(const float* a, float y, float* out, size_t n) {           \
    for (size_t i = 0; i < n; ++i) {                                                    \
      const float x = a[i];                                                             \
      out[i] = (EXPR);                                                                  \
    }                                                                                   \
  }

NG_REF_BINARY(add, x + y)
NG_REF_BINARY(sub, x - y)
NG_REF_BINARY(mul, x * y)
NG_REF_BINARY(div, x / y)

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

extern "C" void ng_f32_binary_x1_ref(int op, const float* a, const float* b, float* out, size_t n, size_t bn) {
  switch (op) {
    case NG_BINARY_ADD: run_forms(add_same, add_scalar, a, b, out, n, bn); break;
    case NG_BINARY_SUB: run_forms(sub_same, sub_scalar, a, b, out, n, bn); break;
    case NG_BINARY_MUL: run_forms(mul_same, mul_scalar, a, b, out, n, bn); break;
    case NG_BINARY_DIV: run_forms(div_same, div_scalar, a, b, out, n, bn); break;
    default: break;  // the addon rejects other codes before calling
  }
}
