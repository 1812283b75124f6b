#ifndef EDGENAS_KERNELS_H
#define EDGENAS_KERNELS_H
// Vector kernels that Swift cannot compile for AVX2/FMA without raising the whole
// package's target CPU: on x86-64 each has an AVX2+FMA clone chosen at load time
// (target_clones), elsewhere the portable build.

#include <stddef.h>

/// out[j] (= or +=) Σ_t weights[t] · in[offsets[t] + j] for j in [0, count).
/// A "tap correlation": a depthwise convolution over a polyphase buffer is one call per
/// channel. `in` must be readable at every offsets[t] + j.
void edgenas_tap_correlate(float *out, const float *in, const ptrdiff_t *offsets,
                           const float *weights, int taps, ptrdiff_t count, int accumulate);

/// sums[t] += Σ_j gradient[j] · in[offsets[t] + j] for j in [0, count): the weight
/// gradient of a tap correlation.
void edgenas_tap_dot(float *sums, const float *gradient, const float *in,
                     const ptrdiff_t *offsets, int taps, ptrdiff_t count);

/// Scatters one H×W plane into the polyphase layout of its zero-padded version: pixel
/// (row, col) at padded (r, c) = (row + padding, col + padding) goes to
/// phases[((r mod s)·s + c mod s)·phaseSpan + planeOffset + (r / s)·phaseWidth + c / s].
/// Positions no pixel maps to are left untouched (the caller zeroes the scratch once).
void edgenas_polyphase_scatter(const float *plane, int height, int width, int padding, int stride,
                               float *phases, ptrdiff_t phaseSpan, int phaseWidth, ptrdiff_t planeOffset);

/// The adjoint of `edgenas_polyphase_scatter`: plane[row, col] (= or +=) its polyphase value.
void edgenas_polyphase_gather(const float *phases, int height, int width, int padding, int stride,
                              ptrdiff_t phaseSpan, int phaseWidth, ptrdiff_t planeOffset, float *plane,
                              int accumulate);

/// Copies `images` × `rows` rows of `width` floats between two strided layouts of distinct
/// buffers (inline vector copies: rows are often shorter than a memcpy call is worth).
void edgenas_copy_rows(float *destination, ptrdiff_t destinationImageStride, ptrdiff_t destinationRowStride,
                       const float *source, ptrdiff_t sourceImageStride, ptrdiff_t sourceRowStride,
                       int images, int rows, int width);

/// Σ_j values[j], with independent lanes (vectorised, order differs from a serial sum).
float edgenas_sum(const float *values, ptrdiff_t count);

/// Element-wise functions with a known derivative (the codes match Swift's UnaryFunction).
typedef enum {
    EDGENAS_RELU = 0, EDGENAS_RELU6, EDGENAS_HARD_SIGMOID, EDGENAS_HARD_SWISH, EDGENAS_SIGMOID,
    EDGENAS_SILU, EDGENAS_GELU, EDGENAS_SOFTPLUS, EDGENAS_EXP, EDGENAS_LOG
} edgenas_unary;

/// y[j] = f(x[j]).
void edgenas_unary_forward(edgenas_unary function, const float *x, float *y, ptrdiff_t count);

/// dx[j] (+= when `accumulate`, else =) dy[j] · f'(x[j]), given y = f(x).
void edgenas_unary_backward(edgenas_unary function, const float *x, const float *y, const float *dy,
                            float *dx, ptrdiff_t count, int accumulate);

/// y[j] = x[j] · scale + shift.
void edgenas_scale_shift(const float *x, float *y, ptrdiff_t count, float scale, float shift);

/// out[j] (+= when `accumulate`, else =) a · g[j] + b · x[j] + c; `out` may be `g`
/// (then out[j] = a · out[j] + b · x[j] + c, whatever `accumulate`).
void edgenas_affine2(float *out, const float *g, const float *x, float a, float b, float c,
                     ptrdiff_t count, int accumulate);

/// One channel of a batch: Σ g and Σ g·(x − shift) over `images` planes of `plane` values,
/// plane n at n·imageStride, in one pass with independent lanes (added to *sum and *dot).
/// With the channel's mean as the shift, Σ g·x̂ does not cancel for large means.
void edgenas_channel_sum_and_dot(const float *g, const float *x, ptrdiff_t images, ptrdiff_t imageStride,
                                 ptrdiff_t plane, float shift, double *sum, double *dot);

/// One channel of a batch: Σ (v − shift) and Σ (v − shift)² over `images` planes of `plane`
/// values, plane n at n·imageStride, in one pass with independent lanes (added to *sum and
/// *sumOfSquares); a shift near the mean keeps the squares from cancelling.
void edgenas_channel_shifted_moments(const float *values, ptrdiff_t images, ptrdiff_t imageStride, ptrdiff_t plane,
                                     float shift, double *sum, double *sumOfSquares);

/// Selective scan of one sample (Mamba), state-major: for t in [0, tokens), e < channels, s < states,
///   h[s][e] = exp(delta[t][e] · a[s][e]) · h[s][e] + delta[t][e] · v[t][e] · b[t][s]   (h starts at 0)
///   y[t][e] = Σ_s h[s][e] · c[t][s] + d[e] · v[t][e].
/// `a` is A = −exp(A_log) transposed to [states][channels]. `history`, when not NULL, receives h
/// after every token ([tokens][states][channels]); `scratch` holds `channels` floats.
void edgenas_selective_scan_forward(int tokens, int channels, int states, const float *v, const float *delta,
                                    const float *b, const float *c, const float *a, const float *d,
                                    float *y, float *history, float *scratch);

/// The gradients of the scan above, given dL/dy (`dy`) and the forward's `history`; every
/// gradient is added to (+=). `dA` is dL/dA in the [states][channels] layout of `a`; `carry`
/// holds states · channels floats.
void edgenas_selective_scan_backward(int tokens, int channels, int states, const float *v, const float *delta,
                                     const float *b, const float *c, const float *a, const float *d,
                                     const float *history, const float *dy,
                                     float *dv, float *dDelta, float *dB, float *dC, float *dA, float *dD,
                                     float *carry);

/// The x86-64 vector instruction level of this processor: 4 with AVX-512 (F, CD, BW, DQ,
/// VL), 3 with AVX2 and FMA, 2 with AVX, 1 with SSE3, 0 otherwise or on other processors.
int edgenas_cpu_vector_level(void);

/// Whether matrix products with bfloat16 inputs can run here (``edgenas_bf16_support``).
enum {
    EDGENAS_BF16_NOT_CHECKED = -1,
    EDGENAS_BF16_AVAILABLE = 0,
    /// The processor lacks AVX512_BF16 (oneDNN would run reference code, slower than float32).
    EDGENAS_BF16_NO_PROCESSOR_SUPPORT = 1,
    /// oneDNN (libdnnl.so.2, Debian's libdnnl2, or $EDGENAS_ONEDNN_LIB) did not load or lacks the product.
    EDGENAS_BF16_NO_LIBRARY = 2,
};

/// Checks the processor and loads oneDNN, once per process; returns one of the values above.
int edgenas_bf16_support(void);

/// Row-major C = alpha·op(A)·op(B) + beta·C with A and B rounded to bfloat16 (nearest even)
/// and products summed in float32, single-threaded, as cblas_sgemm's arguments. Returns 1,
/// or 0 when bfloat16 products are unavailable or scratch could not be allocated (C is
/// then untouched).
int edgenas_gemm_bf16(int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                      const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                      ptrdiff_t ldc);

/// Activations and gradients of a training step are freed and re-allocated every step at
/// the same sizes (10–100 MiB). Asks glibc to serve every block from the heap, never
/// mapping and unmapping one (which zero-fills fresh pages every step). No-op elsewhere.
void edgenas_keep_large_blocks_in_heap(void);

/// Layer normalisation of `rows` rows of `width`: y = (x − μ)·inv·weight + bias with the
/// row mean μ and inv = 1/√(biased variance + ε); writes μ and inv of each row.
void edgenas_layer_norm_forward(const float *x, const float *weight, const float *bias, float *y,
                                ptrdiff_t rows, ptrdiff_t width, float epsilon, float *means, float *inverses);

/// The backward of `edgenas_layer_norm_forward` for `rows` rows: adds into weightGradient
/// and biasGradient [width]; dx (+= when `accumulate`, else =) unless `dx` is NULL.
void edgenas_layer_norm_backward(const float *x, const float *dy, const float *weight, const float *means,
                                 const float *inverses, ptrdiff_t rows, ptrdiff_t width, float *weightGradient,
                                 float *biasGradient, float *dx, int accumulate);

/// Softmax of each of `rows` rows of `width` (y may be x): e^{x − max} / Σ e^{x − max}.
void edgenas_softmax_rows(const float *x, float *y, ptrdiff_t rows, ptrdiff_t width);

/// Softmax's backward pass over `rows` rows of `width`, from the probabilities `y` and the
/// output gradient `dy`: dx = scale · y ⊙ (dy − Σ_j dy_j·y_j), added to dx when `accumulate`
/// is non-zero. `dx` may be `dy` (in place) when `accumulate` is 0.
void edgenas_softmax_backward_rows(const float *y, const float *dy, float *dx, ptrdiff_t rows, ptrdiff_t width,
                                   float scale, int accumulate);

/// One AdamW step of `count` parameters: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// w ← w·decayFactor − lr · (m / correction1) / (√(v / correction2) + ε).
void edgenas_adamw_update(float *w, const float *g, float *m, float *v, ptrdiff_t count, float learningRate,
                          float beta1, float beta2, float epsilon, float correction1, float correction2,
                          float decayFactor);

/// One sample's depthwise causal convolution over tokens: y[t, e] = bias[e] +
/// Σ_{j<k} weights[j, e] · x[t + j − (k − 1), e], rows of `channels` values (weights stored
/// tap-major, [k, channels]).
void edgenas_causal_conv1d_forward(const float *x, const float *weights, const float *bias, float *y, int tokens,
                                   int channels, int k);

/// Its backward pass for one sample, adding to whichever of dx (needs `weights`), the
/// tap-major weight gradient and the bias gradient (both need `x`) is not NULL.
void edgenas_causal_conv1d_backward(const float *x, const float *weights, const float *dy, float *dx,
                                    float *weightGradient, float *biasGradient, int tokens, int channels, int k);

/// sums[j] += Σ_row values[row · rowStride + j] for j in [0, columns).
void edgenas_add_column_sums(const float *values, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t rowStride,
                             float *sums);

/// y[j] = f(x[j] · scale + shift): a normalisation's per-channel affine map and its
/// activation in one pass over a cache-resident plane.
void edgenas_scale_shift_activate(const float *x, float *y, ptrdiff_t count, float scale, float shift,
                                  edgenas_unary function);

/// The activation's backward inside a fused normalisation, for one channel over `images`
/// planes (image stride `imageStride`): dpre = dy · f'(x · scale + shift) given y = f(…),
/// and sum += Σ dpre, dot += Σ dpre · (x − mean) (the batch-norm sums).
void edgenas_channel_activation_backward(edgenas_unary function, const float *x, const float *y, const float *dy,
                                         float *dpre, ptrdiff_t images, ptrdiff_t imageStride, ptrdiff_t plane,
                                         float scale, float shift, float mean, double *sum, double *dot);

/// One iteration of a pool job: `index` in [0, iterations).
typedef void (*edgenas_pool_body)(void *context, long index);

/// Runs body(context, i) for every i in [0, iterations) on the calling thread and the
/// kernel worker pool (one thread per further processor, spinning briefly between jobs
/// instead of sleeping), and returns 1 when all have finished. Returns 0 without running
/// anything when the pool is busy with another caller's job or the machine has one
/// processor: the caller then runs the iterations another way.
int edgenas_pool_run(long iterations, edgenas_pool_body body, void *context);

#endif
