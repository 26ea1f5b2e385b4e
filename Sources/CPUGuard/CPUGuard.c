// Stops a binary built for the x86-64-v3 level (Package.swift: the build machine had it) on a CPU
// without it, with one line and exit status 1, before any code built for that level runs: the
// alternative is SIGILL somewhere in the first convolution. Compiled for any x86-64.
#include "CPUGuard.h"

#include <unistd.h>

#if defined(IMBAL_REQUIRES_X86_64_V3) && defined(__x86_64__)
int imbal_requires_x86_64_v3(void) { return 1; }

__attribute__((constructor)) static void imbal_check_cpu(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v3")) return;
  static const char message[] =
      "imbal-dist: this build needs a CPU with AVX2, FMA and BMI2 (x86-64-v3, as the machine that "
      "built it has) and this one lacks them: rebuild on this machine, or with IMBAL_PORTABLE=1 "
      "for any x86-64\n";
  (void)!write(2, message, sizeof message - 1);
  _exit(1);
}
#else
int imbal_requires_x86_64_v3(void) { return 0; }
#endif
