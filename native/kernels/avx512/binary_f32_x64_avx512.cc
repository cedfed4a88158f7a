/*
 * Elementwise binary f32 kernels for AVX-512F: 4 x 16 lanes per step (tile x64), then single vectors, then
 * one opmask-predicated vector for the tail (masked lanes are neither read nor written, so no scalar loop).
 * Built only into the nodegrad_avx512 library with AVX-512 flags and called only after dispatch/ proved
 * F+DQ+BW+VL and OS ZMM support. Plain loops, intrinsics and static functions only: no inline or template
 * definitions (std:: included) that the linker could share with baseline code.
 */
#include <immintrin.h>

#include "nodegrad/kernels.h"

// OP is add/sub/mul/div; _mm512_<OP>_ps and _mm512_maskz_<OP>_ps are IEEE-rounded (div is not rcp14).
#define NG_AVX512_BINARY(OP)                                                                  \
  static void OP##_same(const float* a, const float* b, float* out, size_t n) {              \
    size_t i = 0;                                                                             \
    for (; i + 64 <= n; i += 64) {                                                            \
      const __m512 r0 = _mm512_##OP##_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));     \
      const __m512 r1 = _mm512_##OP##_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16)); \
      const __m512 r2 = _mm512_##OP##_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32)); \
      const __m512 r3 = _mm512_##OP##_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48)); \
      _mm512_storeu_ps(out + i, r0);                                                          \
      _mm512_storeu_ps(out + i + 16, r1);                                                     \
      _mm512_storeu_ps(out + i + 32, r2);                                                     \
      _mm512_storeu_ps(out + i + 48, r3);                                                     \
    }                                                                                         \
    for (; i + 16 <= n; i += 16) {                                                            \
      _mm512_storeu_ps(out + i, _mm512_##OP##_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))); \
    }                                                                                         \
    if (i < n) {                                                                              \
      const __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);                                  \
      const __m512 x = _mm512_maskz_loadu_ps(m, a + i), y = _mm512_maskz_loadu_ps(m, b + i);  \
      _mm512_mask_storeu_ps(out + i, m, _mm512_maskz_##OP##_ps(m, x, y));                     \
    }                                                                                         \
  }                                                                                           \
  static void OP##_scalar(const float* a, float s, float* out, size_t n) {                   \
    const __m512 y = _mm512_set1_ps(s);                                                       \
    size_t i = 0;                                                                             \
    for (; i + 64 <= n; i += 64) {                                                            \
      const __m512 r0 = _mm512_##OP##_ps(_mm512_loadu_ps(a + i), y);                          \
      const __m512 r1 = _mm512_##OP##_ps(_mm512_loadu_ps(a + i + 16), y);                     \
      const __m512 r2 = _mm512_##OP##_ps(_mm512_loadu_ps(a + i + 32), y);                     \
      const __m512 r3 = _mm512_##OP##_ps(_mm512_loadu_ps(a + i + 48), y);                     \
      _mm512_storeu_ps(out + i, r0);                                                          \
      _mm512_storeu_ps(out + i + 16, r1);                                                     \
      _mm512_storeu_ps(out + i + 32, r2);                                                     \
      _mm512_storeu_ps(out + i + 48, r3);                                                     \
    }                                                                                         \
    for (; i + 16 <= n; i += 16) {                                                            \
      _mm512_storeu_ps(out + i, _mm512_##OP##_ps(_mm512_loadu_ps(a + i), y));                 \
    }                                                                                         \
    if (i < n) {                                                                              \
      const __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);                                  \
      _mm512_mask_storeu_ps(out + i, m, _mm512_maskz_##OP##_ps(m, _mm512_maskz_loadu_ps(m, a + i), y)); \
    }                                                                                         \
  }

NG_AVX512_BINARY(add)
NG_AVX512_BINARY(sub)
NG_AVX512_BINARY(mul)
NG_AVX512_BINARY(div)

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

extern "C" void ng_f32_binary_x64_avx512(int op, const float* a, const float* b, float* out, size_t n, size_t bn) {
  switch (op) {
    case NG_BINARY_ADD: run_forms(add_same, add_scalar, a, b, out, n, bn); break;
    case NG_BINARY_SUB: run_forms(sub_same, sub_scalar, a, b, out, n, bn); break;
    case NG_BINARY_MUL: run_forms(mul_same, mul_scalar, a, b, out, n, bn); break;
    case NG_BINARY_DIV: run_forms(div_same, div_scalar, a, b, out, n, bn); break;
    default: break;  // the addon rejects other codes before calling
  }
}
