#ifndef IMBAL_CPU_GUARD_H
#define IMBAL_CPU_GUARD_H

/// 1 when this build needs the x86-64-v3 level (AVX2, FMA, BMI2), which `CPUGuard.c` checks
/// before `main`; 0 for a portable build.
int imbal_requires_x86_64_v3(void);

#endif
