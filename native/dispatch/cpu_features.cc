/*
 * CPU feature detection. x86-64: cpuid leaves 1 and 7 say what the CPU implements, xgetbv(XCR0) says which
 * register state the OS saves on context switch; a feature counts only when both agree. arm64: NEON
 * (Advanced SIMD) is mandatory in AArch64, so it is reported from the build target. Built with baseline
 * flags: this file must run on every CPU the addon loads on.
 */
#include <string.h>

#include "nodegrad/dispatch.h"

#if defined(__x86_64__) || defined(_M_X64)
#define NG_X86_64 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#endif

#if defined(NG_X86_64)

// regs = {eax, ebx, ecx, edx} of cpuid(leaf, subleaf).
static void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
#if defined(_MSC_VER) && !defined(__clang__)
  int r[4];
  __cpuidex(r, (int)leaf, (int)subleaf);
  for (int i = 0; i < 4; ++i) regs[i] = (unsigned)r[i];
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

// XCR0, the OS-enabled state components; only valid to execute when cpuid says OSXSAVE.
static unsigned long long xgetbv0(void) {
#if defined(_MSC_VER) && !defined(__clang__)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((unsigned long long)hi << 32) | lo;
#endif
}

#if defined(__APPLE__)
// macOS enables AVX-512 state lazily on first use, so XCR0 under-reports it; the kernel's sysctl is the truth.
static int apple_sysctl_flag(const char* name) {
  int value = 0;
  size_t len = sizeof(value);
  if (sysctlbyname(name, &value, &len, NULL, 0) != 0) return 0;
  return value != 0;
}
#endif

static void detect_x86(ng_cpu_features* f) {
  unsigned r[4];
  f->x86_64 = 1;
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  if (max_leaf < 1) return;

  cpuid(1, 0, r);
  const unsigned ecx1 = r[2], edx1 = r[3];
  f->sse2 = (edx1 >> 26) & 1;
  f->sse41 = (ecx1 >> 19) & 1;
  f->fma = (ecx1 >> 12) & 1;
  f->osxsave = (ecx1 >> 27) & 1;
  f->avx = (ecx1 >> 28) & 1;
  f->f16c = (ecx1 >> 29) & 1;

  if (f->osxsave) {
    const unsigned long long xcr0 = xgetbv0();
    // Bits 1-2: XMM and YMM state. Bits 5-7: opmask, upper halves of ZMM0-15, ZMM16-31.
    f->os_ymm = (xcr0 & 0x6) == 0x6;
    f->os_zmm = f->os_ymm && (xcr0 & 0xE0) == 0xE0;
  }

  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    const unsigned ebx7 = r[1];
    f->avx2 = (ebx7 >> 5) & 1;
    f->bmi2 = (ebx7 >> 8) & 1;
    f->avx512f = (ebx7 >> 16) & 1;
    f->avx512dq = (ebx7 >> 17) & 1;
    f->avx512bw = (ebx7 >> 30) & 1;
    f->avx512vl = (ebx7 >> 31) & 1;
  }

#if defined(__APPLE__)
  if (f->os_ymm && !f->os_zmm && f->avx512f) f->os_zmm = apple_sysctl_flag("hw.optional.avx512f");
#endif
}

#endif  // NG_X86_64

extern "C" void ng_detect_cpu(ng_cpu_features* out) {
  memset(out, 0, sizeof(*out));
#if defined(NG_X86_64)
  detect_x86(out);
#elif defined(__aarch64__) || defined(_M_ARM64)
  out->arm64 = 1;
  out->neon = 1;  // Advanced SIMD is part of the AArch64 base architecture
#endif
}
