/*
 * Elementwise binary f32 kernels for AVX2: 4 x 8 lanes per step (tile x32), then single vectors, then one
 * maskload/maskstore vector for the tail (masked-off lanes are not accessed, so reading past the end
 * cannot fault). Built only into the nodegrad_avx2 library with -mavx2 -mfma and called only after
 * dispatch/ proved AVX2+FMA and OS YMM support. Plain loops, intrinsics and static functions only: no
 * inline or template definitions (std:: included) that the linker could share with baseline code.
 */
#include <immintrin.h>

#include "nodegrad/kernels.h"

// Lanes [0, rem) set, for rem in [1, 7]: the tail mask of maskload/maskstore.
static __m256i tail_mask(size_t rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// OP is add/sub/mul/div; _mm256_<OP>_ps is IEEE-rounded (div is not rcp). Masked-off tail lanes compute
// 0 op 0 (a NaN for div) in registers only; they are never stored.
#define NG_AVX2_BINARY(OP)                                                                    \
  static void OP##_same(const float* a, const float* b, float* out, size_t n) {              \
    size_t i = 0;                                                                             \
    for (; i + 32 <= n; i += 32) {                                                            \
      const __m256 r0 = _mm256_##OP##_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));     \
      const __m256 r1 = _mm256_##OP##_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)); \
      const __m256 r2 = _mm256_##OP##_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16)); \
      const __m256 r3 = _mm256_##OP##_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24)); \
      _mm256_storeu_ps(out + i, r0);                                                          \
      _mm256_storeu_ps(out + i + 8, r1);                                                      \
      _mm256_storeu_ps(out + i + 16, r2);                                                     \
      _mm256_storeu_ps(out + i + 24, r3);                                                     \
    }                                                                                         \
    for (; i + 8 <= n; i += 8) {                                                              \
      _mm256_storeu_ps(out + i, _mm256_##OP##_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))); \
    }                                                                                         \
    if (i < n) {                                                                              \
      const __m256i m = tail_mask(n - i);                                                     \
      const __m256 x = _mm256_maskload_ps(a + i, m), y = _mm256_maskload_ps(b + i, m);        \
      _mm256_maskstore_ps(out + i, m, _mm256_##OP##_ps(x, y));                                \
    }                                                                                         \
  }                                                                                           \
  static void OP##_scalar(const float* a, float s, float* out, size_t n) {                   \
    const __m256 y = _mm256_set1_ps(s);                                                       \
    size_t i = 0;                                                                             \
    for (; i + 32 <= n; i += 32) {                                                            \
      const __m256 r0 = _mm256_##OP##_ps(_mm256_loadu_ps(a + i), y);                          \
      const __m256 r1 = _mm256_##OP##_ps(_mm256_loadu_ps(a + i + 8), y);                     \
      const __m256 r2 = _mm256_##OP##_ps(_mm256_loadu_ps(a + i + 16), y);                     \
      const __m256 r3 = _mm256_##OP##_ps(_mm256_loadu_ps(a + i + 24), y);                     \
      _mm256_storeu_ps(out + i, r0);                                                          \
      _mm256_storeu_ps(out + i + 8, r1);                                                      \
      _mm256_storeu_ps(out + i + 16, r2);                                                     \
      _mm256_storeu_ps(out + i + 24, r3);                                                     \
    }                                                                                         \
    for (; i + 8 <= n; i += 8) {                                                              \
      _mm256_storeu_ps(out + i, _mm256_##OP##_ps(_mm256_loadu_ps(a + i), y));                 \
    }                                                                                         \
    if (i < n) {                                                                              \
      const __m256i m = tail_mask(n - i);                                                     \
      _mm256_maskstore_ps(out + i, m, _mm256_##OP##_ps(_mm256_maskload_ps(a + i, m), y));     \
    }                                                                                         \
  }

NG_AVX2_BINARY(add)
NG_AVX2_BINARY(sub)
NG_AVX2_BINARY(mul)
NG_AVX2_BINARY(div)

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

extern "C" void ng_f32_binary_x32_avx2(int op, const float* a, const float* b, float* out, size_t n, size_t bn) {
  switch (op) {
    case NG_BINARY_ADD: run_forms(add_same, add_scalar, a, b, out, n, bn); break;
    case NG_BINARY_SUB: run_forms(sub_same, sub_scalar, a, b, out, n, bn); break;
    case NG_BINARY_MUL: run_forms(mul_same, mul_scalar, a, b, out, n, bn); break;
    case NG_BINARY_DIV: run_forms(div_same, div_scalar, a, b, out, n, bn); break;
    default: break;  // the addon rejects other codes before calling
  }
}
