/*
 * Picks the ISA path once, at the first ng_dispatch_get(), and fills the kernel table. The default is the
 * fastest path that is both compiled into this build (NG_HAVE_*_KERNELS, set by binding.gyp per target
 * arch) and runnable on this CPU/OS. NODEGRAD_ISA=scalar|neon|avx2|avx512 forces a path, which must be
 * one of those runnable ones: asking for more than the CPU has is an error (reported by the addon when it
 * loads), never a silent fallback and never an illegal instruction. NODEGRAD_ISA=auto or empty: default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodegrad/dispatch.h"

static const char* const kIsaNames[NG_ISA_COUNT] = {"scalar", "neon", "avx2", "avx512"};

extern "C" const char* ng_isa_name(ng_isa isa) {
  return (unsigned)isa < NG_ISA_COUNT ? kIsaNames[isa] : "unknown";
}

static unsigned bit(ng_isa isa) { return 1u << (unsigned)isa; }

// Paths whose kernels were compiled into this build.
static unsigned compiled_paths(void) {
  unsigned m = bit(NG_ISA_SCALAR);
#if defined(NG_HAVE_NEON_KERNELS)
  m |= bit(NG_ISA_NEON);
#endif
#if defined(NG_HAVE_AVX2_KERNELS)
  m |= bit(NG_ISA_AVX2);
#endif
#if defined(NG_HAVE_AVX512_KERNELS)
  m |= bit(NG_ISA_AVX512);
#endif
  return m;
}

// Paths this CPU and OS can execute. AVX2 kernels are built with -mfma, so FMA is required with AVX2.
static unsigned runnable_paths(const ng_cpu_features* c) {
  unsigned m = bit(NG_ISA_SCALAR);
  if (c->neon) m |= bit(NG_ISA_NEON);
  const int avx2 = c->avx && c->avx2 && c->fma && c->os_ymm;
  if (avx2) m |= bit(NG_ISA_AVX2);
  if (avx2 && c->avx512f && c->avx512dq && c->avx512bw && c->avx512vl && c->os_zmm) m |= bit(NG_ISA_AVX512);
  return m;
}

static ng_kernel_table table_for(ng_isa isa) {
  ng_kernel_table t;
  t.f32_binary = ng_f32_binary_x1_ref;
  t.f32_binary_name = "ng_f32_binary_x1_ref";
  switch (isa) {
#if defined(NG_HAVE_AVX512_KERNELS)
    case NG_ISA_AVX512:
      t.f32_binary = ng_f32_binary_x64_avx512;
      t.f32_binary_name = "ng_f32_binary_x64_avx512";
      break;
#endif
#if defined(NG_HAVE_AVX2_KERNELS)
    case NG_ISA_AVX2:
      t.f32_binary = ng_f32_binary_x32_avx2;
      t.f32_binary_name = "ng_f32_binary_x32_avx2";
      break;
#endif
#if defined(NG_HAVE_NEON_KERNELS)
    case NG_ISA_NEON:
      t.f32_binary = ng_f32_binary_x16_neon;
      t.f32_binary_name = "ng_f32_binary_x16_neon";
      break;
#endif
    default:
      break;
  }
  return t;
}

// "avx2, scalar": the available paths, fastest first, for error messages.
static void list_paths(unsigned mask, char* buf, size_t size) {
  buf[0] = '\0';
  for (int i = NG_ISA_COUNT - 1; i >= 0; --i) {
    if (!(mask & bit((ng_isa)i))) continue;
    if (buf[0] != '\0') strncat(buf, ", ", size - strlen(buf) - 1);
    strncat(buf, kIsaNames[i], size - strlen(buf) - 1);
  }
}

static char g_error[256];

static ng_dispatch make_dispatch(void) {
  ng_dispatch d;
  memset(&d, 0, sizeof(d));
  ng_detect_cpu(&d.cpu);
  d.available = compiled_paths() & runnable_paths(&d.cpu);
  d.isa = NG_ISA_SCALAR;
  for (int i = NG_ISA_COUNT - 1; i >= 0; --i) {
    if (d.available & bit((ng_isa)i)) {
      d.isa = (ng_isa)i;
      break;
    }
  }

  const char* want = getenv("NODEGRAD_ISA");
  if (want != NULL && want[0] != '\0' && strcmp(want, "auto") != 0) {
    char avail[64];
    list_paths(d.available, avail, sizeof(avail));
    int found = -1;
    for (int i = 0; i < NG_ISA_COUNT; ++i) {
      if (strcmp(want, kIsaNames[i]) == 0) found = i;
    }
    if (found < 0) {
      snprintf(g_error, sizeof(g_error),
               "NODEGRAD_ISA='%.32s' is not an ISA path (use auto, scalar, neon, avx2 or avx512; this CPU runs: %s)",
               want, avail);
      d.error = g_error;
    } else if (!(d.available & bit((ng_isa)found))) {
      snprintf(g_error, sizeof(g_error),
               "NODEGRAD_ISA=%s asks for a path this CPU or build cannot run (this CPU runs: %s)", want, avail);
      d.error = g_error;
    } else {
      d.isa = (ng_isa)found;
      d.forced = 1;
    }
  }
  // On error the table stays at the always-safe scalar path; the addon refuses to load anyway.
  d.kernels = table_for(d.error ? NG_ISA_SCALAR : d.isa);
  if (d.error) d.isa = NG_ISA_SCALAR;
  return d;
}

extern "C" const ng_dispatch* ng_dispatch_get(void) {
  static const ng_dispatch d = make_dispatch();  // C++11 magic static: filled once, thread-safe
  return &d;
}
