// What the kernel files share and the Swift side never sees (this header is outside
// include/, so it is not part of the module).
#pragma once

// Each marked kernel is compiled for AVX-512, for AVX2 and for baseline x86-64, and the
// loader picks the best the processor runs.
#if defined(__x86_64__) && defined(__clang__)
#define EDGENAS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EDGENAS_CLONES
#endif

// Marks a loop whose iterations touch each index of their buffers only at that index
// (in-place updates included), so that the compiler vectorises it without the run-time
// overlap checks that send in-place calls down the scalar path.
#if defined(__clang__)
#define ELEMENTWISE_LOOP _Pragma("clang loop vectorize(assume_safety)")
#else
#define ELEMENTWISE_LOOP
#endif

/// Whether the processor has AVX512_BF16 (and AVX-512 itself); 0 on other processors.
int edgenas_cpu_has_avx512_bf16(void);
