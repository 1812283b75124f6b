// Matrix products with bfloat16 inputs and float32 accumulation, through oneDNN's
// dnnl_gemm_bf16bf16f32 (Debian's libdnnl2), loaded at run time: the library is optional,
// and only processors with AVX512_BF16 run it at speed (elsewhere oneDNN falls back to
// reference code, slower than OpenBLAS's float32 kernels), so only those may use it.
#include "edgenas_kernels.h"
#include "kernel_support.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

typedef int (*bf16_gemm_function)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha,
                                  const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb, float beta,
                                  float *c, int64_t ldc);
typedef void (*set_threads_function)(int);

static bf16_gemm_function bf16_gemm;
static set_threads_function set_openmp_threads;
static int support = EDGENAS_BF16_NOT_CHECKED;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    if (!edgenas_cpu_has_avx512_bf16()) {
        support = EDGENAS_BF16_NO_PROCESSOR_SUPPORT;
        return;
    }
    // EDGENAS_ONEDNN_LIB names another build of the library, as ORT_LIB does for ONNX Runtime.
    const char *path = getenv("EDGENAS_ONEDNN_LIB");
    void *library = dlopen(path && *path ? path : "libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        support = EDGENAS_BF16_NO_LIBRARY;
        return;
    }
    bf16_gemm = (bf16_gemm_function)dlsym(library, "dnnl_gemm_bf16bf16f32");
    // oneDNN threads its products with OpenMP; the engine splits them over its own workers.
    set_openmp_threads = (set_threads_function)dlsym(library, "omp_set_num_threads");
    support = bf16_gemm && set_openmp_threads ? EDGENAS_BF16_AVAILABLE : EDGENAS_BF16_NO_LIBRARY;
}

int edgenas_bf16_support(void) {
    pthread_once(&load_once, load);
    return support;
}

// Round to nearest even; NaN stays a (quiet) NaN instead of rounding into infinity.
EDGENAS_CLONES
static void to_bfloat16_rows(const float *source, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t stride,
                             uint16_t *target) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const uint32_t *in = (const uint32_t *)(source + r * stride);
        uint16_t *out = target + r * columns;
        for (ptrdiff_t j = 0; j < columns; j++) {
            const uint32_t bits = in[j];
            const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
            out[j] = (bits & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((bits >> 16) | 0x40u) : (uint16_t)rounded;
        }
    }
}

int edgenas_gemm_bf16(int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                      const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                      ptrdiff_t ldc) {
    if (edgenas_bf16_support() != EDGENAS_BF16_AVAILABLE) return 0;
    static __thread int single_threaded;
    if (!single_threaded) {
        set_openmp_threads(1);
        single_threaded = 1;
    }
    // Stored shapes: op(A) is m×k, so A is k×m when transposed; likewise B.
    const ptrdiff_t aRows = transposeA ? k : m, aColumns = transposeA ? m : k;
    const ptrdiff_t bRows = transposeB ? n : k, bColumns = transposeB ? k : n;
    uint16_t *scratch = malloc(sizeof(uint16_t) * (size_t)(aRows * aColumns + bRows * bColumns));
    if (!scratch) return 0;
    uint16_t *a16 = scratch, *b16 = scratch + aRows * aColumns;
    to_bfloat16_rows(a, aRows, aColumns, lda, a16);
    to_bfloat16_rows(b, bRows, bColumns, ldb, b16);
    const int status = bf16_gemm(transposeA ? 'T' : 'N', transposeB ? 'T' : 'N', m, n, k, alpha, a16, aColumns,
                                 b16, bColumns, beta, c, ldc);
    free(scratch);
    return status == 0;
}
