/*
 * CPU feature detection and the one-time choice of an ISA path (native/dispatch/). The choice is made on
 * first use from cpuid/xgetbv (x86-64) or the build target (arm64), optionally lowered by NODEGRAD_ISA, and
 * never changes afterwards.
 */
#ifndef NODEGRAD_DISPATCH_H
#define NODEGRAD_DISPATCH_H

#include "nodegrad/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ISA paths, slowest first; bit (1u << isa) of ng_dispatch.available says the path can run here. */
typedef enum ng_isa {
  NG_ISA_SCALAR = 0,
  NG_ISA_NEON = 1,
  NG_ISA_AVX2 = 2,
  NG_ISA_AVX512 = 3,
  NG_ISA_COUNT = 4
} ng_isa;

/* What the CPU and OS report (1 = yes). os_ymm / os_zmm: the OS saves YMM / opmask+ZMM state (XCR0). */
typedef struct ng_cpu_features {
  int x86_64, arm64;
  int sse2, sse41, avx, fma, f16c, bmi2, osxsave, os_ymm, os_zmm;
  int avx2, avx512f, avx512dq, avx512bw, avx512vl;
  int neon;
} ng_cpu_features;

typedef struct ng_dispatch {
  ng_cpu_features cpu;
  unsigned available;   /* paths compiled into this build AND runnable on this CPU/OS */
  ng_isa isa;           /* the path the kernel table holds */
  int forced;           /* 1 when NODEGRAD_ISA picked the path */
  const char* error;    /* non-NULL when NODEGRAD_ISA is invalid or names a path not in `available` */
  ng_kernel_table kernels;
} ng_dispatch;

/* Detects the CPU, reads NODEGRAD_ISA and fills the kernel table on the first call; later calls return it. */
const ng_dispatch* ng_dispatch_get(void);

/* "scalar" | "neon" | "avx2" | "avx512". */
const char* ng_isa_name(ng_isa isa);

/* Fills *out from cpuid/xgetbv (x86-64), the build target (arm64) or zeros (elsewhere). */
void ng_detect_cpu(ng_cpu_features* out);

#ifdef __cplusplus
}
#endif

#endif /* NODEGRAD_DISPATCH_H */
