/* Which build of kernels.c this CPU runs: 2 for AVX-512 (F, VL, BW, DQ), 1 for AVX2 with FMA, 0 for neither (the
   engine then computes with numpy). Compiled for the baseline instruction set. */

int nnb_cpu_level(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}
