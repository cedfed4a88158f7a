/*
 * Global max pooling for AArch64 NEON (tile c16: 4 x 4 channels per step over all rows, single vectors, then
 * a 1-3 lane tail through a padded buffer): per channel, the first maximum (first NaN wins) and its row.
 * Plain loops, intrinsics and static helpers only (see kernels.h).
 */
#include <arm_neon.h>

#include "nodegrad/pool.h"

// Helpers take the vector count nv as a constant: forced inlining lets their vector arrays live in registers.
#if defined(_MSC_VER)
#define NG_FORCE_INLINE static __forceinline
#else
#define NG_FORCE_INLINE static inline __attribute__((always_inline))
#endif

NG_FORCE_INLINE float32x4_t ld(const float* p, int v, int nv, size_t tn) {
  if (tn == 0 || v != nv - 1) return vld1q_f32(p);
  float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (size_t i = 0; i < tn; ++i) t[i] = p[i];
  return vld1q_f32(t);
}
NG_FORCE_INLINE uint32x4_t beats(float32x4_t v, float32x4_t m) {
  return vorrq_u32(vcgtq_f32(v, m), vandq_u32(vmvnq_u32(vceqq_f32(v, v)), vceqq_f32(m, m)));
}

NG_FORCE_INLINE void gmax_block(const float* x, size_t rows, size_t c, float* y, int32_t* arg, int nv, size_t tn) {
  float32x4_t m[4];
  uint32x4_t a[4];
  for (int v = 0; v < nv; ++v) {
    m[v] = ld(x + 4 * v, v, nv, tn);
    a[v] = vdupq_n_u32(0);
  }
  for (size_t r = 1; r < rows; ++r) {
    const float* q = x + r * c;
    const uint32x4_t rv = vdupq_n_u32((uint32_t)r);
    for (int v = 0; v < nv; ++v) {
      const float32x4_t xv = ld(q + 4 * v, v, nv, tn);
      const uint32x4_t b = beats(xv, m[v]);
      m[v] = vbslq_f32(b, xv, m[v]);
      a[v] = vbslq_u32(b, rv, a[v]);
    }
  }
  for (int v = 0; v < nv; ++v) {
    float tm[4];
    uint32_t ta[4];
    vst1q_f32(tm, m[v]);
    vst1q_u32(ta, a[v]);
    const size_t n = (tn == 0 || v != nv - 1) ? 4 : tn;
    for (size_t i = 0; i < n; ++i) {
      y[4 * v + i] = tm[i];
      if (arg) arg[4 * v + i] = (int32_t)ta[i];
    }
  }
}

extern "C" void ng_f32_gmaxpool_c16_neon(const float* x, size_t rows, size_t c, float* y, int32_t* arg) {
  size_t ch = 0;
  for (; ch + 16 <= c; ch += 16) gmax_block(x + ch, rows, c, y + ch, arg ? arg + ch : 0, 4, 0);
  for (; ch + 4 <= c; ch += 4) gmax_block(x + ch, rows, c, y + ch, arg ? arg + ch : 0, 1, 0);
  if (ch < c) gmax_block(x + ch, rows, c, y + ch, arg ? arg + ch : 0, 1, c - ch);
}
