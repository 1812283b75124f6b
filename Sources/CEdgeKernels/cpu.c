#include "edgenas_kernels.h"
#include "kernel_support.h"

int edgenas_cpu_vector_level(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd"))
        return 4;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 3;
    if (__builtin_cpu_supports("avx")) return 2;
    if (__builtin_cpu_supports("sse3")) return 1;
#endif
    return 0;
}

int edgenas_cpu_has_avx512_bf16(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && edgenas_cpu_vector_level() >= 4;
#else
    return 0;
#endif
}
