#include "edgenas_kernels.h"
#include "kernel_support.h"

#include <math.h>
#include <stdlib.h>  // defines __GLIBC__ on glibc systems
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// Outputs are produced in blocks that stay in registers across all taps: one store per
// output instead of one load+store per tap.
enum { BLOCK = 32, LANES = 16 };

EDGENAS_CLONES
void edgenas_tap_correlate(float *out, const float *in, const ptrdiff_t *offsets,
                           const float *weights, int taps, ptrdiff_t count, int accumulate) {
    ptrdiff_t j = 0;
    for (; j + BLOCK <= count; j += BLOCK) {
        float acc[BLOCK];
        for (int l = 0; l < BLOCK; l++) acc[l] = accumulate ? out[j + l] : 0.0f;
        for (int t = 0; t < taps; t++) {
            const float w = weights[t];
            const float *source = in + offsets[t] + j;
            for (int l = 0; l < BLOCK; l++) acc[l] += w * source[l];
        }
        for (int l = 0; l < BLOCK; l++) out[j + l] = acc[l];
    }
    for (; j < count; j++) {
        float acc = accumulate ? out[j] : 0.0f;
        for (int t = 0; t < taps; t++) acc += weights[t] * in[offsets[t] + j];
        out[j] = acc;
    }
}

typedef float edgenas_v8 __attribute__((vector_size(32)));
typedef float edgenas_v8_unaligned __attribute__((vector_size(32), aligned(4)));

// Macros rather than helper functions: 256-bit vectors may not cross a call boundary of a
// function compiled for baseline x86-64 (the ABI would differ between clones).
#define LOAD8(p) (*(const edgenas_v8_unaligned *)(p))
#define HSUM8(v) ((((v)[0] + (v)[1]) + ((v)[2] + (v)[3])) + (((v)[4] + (v)[5]) + ((v)[6] + (v)[7])))

typedef float edgenas_v4 __attribute__((vector_size(16)));
typedef float edgenas_v4_unaligned __attribute__((vector_size(16), aligned(4)));
#define LOAD4(p) (*(const edgenas_v4_unaligned *)(p))
#define STORE8(p, v) (*(edgenas_v8_unaligned *)(p) = (v))
#define STORE4(p, v) (*(edgenas_v4_unaligned *)(p) = (v))

// Copies n floats between distinct buffers. Plane rows are 7–56 floats: a vector loop with
// a scalar tail spends most of its time in the tail, so the last vector is instead placed
// flush with the end of the row, overlapping the one before (it rewrites equal values).
#define COPY_SPAN(to, from, n)                                                                \
    do {                                                                                      \
        float *to_ = (to);                                                                    \
        const float *from_ = (from);                                                          \
        const ptrdiff_t n_ = (n);                                                             \
        if (n_ >= 8) {                                                                        \
            ptrdiff_t j_ = 0;                                                                 \
            for (; j_ + 8 <= n_; j_ += 8) STORE8(to_ + j_, LOAD8(from_ + j_));                \
            if (j_ < n_) STORE8(to_ + n_ - 8, LOAD8(from_ + n_ - 8));                         \
        } else if (n_ >= 4) {                                                                 \
            STORE4(to_, LOAD4(from_));                                                        \
            STORE4(to_ + n_ - 4, LOAD4(from_ + n_ - 4));                                      \
        } else {                                                                              \
            for (ptrdiff_t j_ = 0; j_ < n_; j_++) to_[j_] = from_[j_];                        \
        }                                                                                     \
    } while (0)

// Splits `pairs` column pairs of `source` into even and odd columns (a stride-2 row's two
// column phases), four pairs per vector, the last vector flush with the end as above.
#define DEINTERLEAVE_PAIRS(even, odd, source, pairs)                                          \
    do {                                                                                      \
        float *even_ = (even), *odd_ = (odd);                                                 \
        const float *source_ = (source);                                                      \
        const int pairs_ = (pairs);                                                           \
        if (pairs_ >= 4) {                                                                    \
            for (int m_ = 0;; m_ += 4) {                                                      \
                if (m_ + 4 > pairs_) m_ = pairs_ - 4;                                         \
                const edgenas_v8 v_ = LOAD8(source_ + 2 * m_);                                \
                STORE4(even_ + m_, __builtin_shufflevector(v_, v_, 0, 2, 4, 6));              \
                STORE4(odd_ + m_, __builtin_shufflevector(v_, v_, 1, 3, 5, 7));               \
                if (m_ + 4 >= pairs_) break;                                                  \
            }                                                                                 \
        } else {                                                                              \
            for (int m_ = 0; m_ < pairs_; m_++) {                                             \
                even_[m_] = source_[2 * m_];                                                  \
                odd_[m_] = source_[2 * m_ + 1];                                               \
            }                                                                                 \
        }                                                                                     \
    } while (0)

// The inverse: interleaves even and odd columns back into `pairs` pairs of `target`.
#define INTERLEAVE_PAIRS(target, even, odd, pairs)                                            \
    do {                                                                                      \
        float *target_ = (target);                                                            \
        const float *even_ = (even), *odd_ = (odd);                                           \
        const int pairs_ = (pairs);                                                           \
        if (pairs_ >= 4) {                                                                    \
            for (int m_ = 0;; m_ += 4) {                                                      \
                if (m_ + 4 > pairs_) m_ = pairs_ - 4;                                         \
                const edgenas_v4 e_ = LOAD4(even_ + m_), o_ = LOAD4(odd_ + m_);               \
                STORE8(target_ + 2 * m_, __builtin_shufflevector(e_, o_, 0, 4, 1, 5, 2, 6, 3, 7)); \
                if (m_ + 4 >= pairs_) break;                                                  \
            }                                                                                 \
        } else {                                                                              \
            for (int m_ = 0; m_ < pairs_; m_++) {                                             \
                target_[2 * m_] = even_[m_];                                                  \
                target_[2 * m_ + 1] = odd_[m_];                                               \
            }                                                                                 \
        }                                                                                     \
    } while (0)

EDGENAS_CLONES
void edgenas_tap_dot(float *sums, const float *gradient, const float *in,
                     const ptrdiff_t *offsets, int taps, ptrdiff_t count) {
    // Chunks keep `gradient` and the shifted windows of `in` in L1 across all taps; four taps
    // share each load of `gradient`.
    enum { CHUNK = 1024 };
    for (ptrdiff_t start = 0; start < count; start += CHUNK) {
        const ptrdiff_t length = count - start < CHUNK ? count - start : CHUNK;
        const ptrdiff_t vectorLength = length & ~(ptrdiff_t)7;
        const float *g = gradient + start;
        int t = 0;
        for (; t + 4 <= taps; t += 4) {
            const float *s0 = in + offsets[t] + start, *s1 = in + offsets[t + 1] + start;
            const float *s2 = in + offsets[t + 2] + start, *s3 = in + offsets[t + 3] + start;
            edgenas_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (ptrdiff_t j = 0; j < vectorLength; j += 8) {
                const edgenas_v8 gv = LOAD8(g + j);
                a0 += gv * LOAD8(s0 + j);
                a1 += gv * LOAD8(s1 + j);
                a2 += gv * LOAD8(s2 + j);
                a3 += gv * LOAD8(s3 + j);
            }
            float r0 = HSUM8(a0), r1 = HSUM8(a1), r2 = HSUM8(a2), r3 = HSUM8(a3);
            for (ptrdiff_t j = vectorLength; j < length; j++) {
                r0 += g[j] * s0[j]; r1 += g[j] * s1[j]; r2 += g[j] * s2[j]; r3 += g[j] * s3[j];
            }
            sums[t] += r0; sums[t + 1] += r1; sums[t + 2] += r2; sums[t + 3] += r3;
        }
        for (; t < taps; t++) {
            const float *source = in + offsets[t] + start;
            edgenas_v8 acc = {0};
            for (ptrdiff_t j = 0; j < vectorLength; j += 8) acc += LOAD8(g + j) * LOAD8(source + j);
            float total = HSUM8(acc);
            for (ptrdiff_t j = vectorLength; j < length; j++) total += g[j] * source[j];
            sums[t] += total;
        }
    }
}

EDGENAS_CLONES
void edgenas_polyphase_scatter(const float *plane, int height, int width, int padding, int stride,
                               float *phases, ptrdiff_t phaseSpan, int phaseWidth, ptrdiff_t planeOffset) {
    if (stride == 1) {
        // One phase: the padded plane itself, row stride phaseWidth.
        float *target = phases + planeOffset + (ptrdiff_t)padding * phaseWidth + padding;
        for (int row = 0; row < height; row++)
            COPY_SPAN(target + (ptrdiff_t)row * phaseWidth, plane + (ptrdiff_t)row * width, width);
        return;
    }
    for (int row = 0; row < height; row++) {
        const int r = row + padding;
        const float *source = plane + (ptrdiff_t)row * width;
        float *rowBase = phases + (ptrdiff_t)((r % stride) * stride) * phaseSpan + planeOffset + (ptrdiff_t)(r / stride) * phaseWidth;
        if (stride == 2) {
            // One pass over the row: column pairs (2m, 2m+1) split into the two column phases.
            float *evenTarget = rowBase + (padding & 1) * phaseSpan + padding / 2;
            float *oddTarget = rowBase + ((padding + 1) & 1) * phaseSpan + (padding + 1) / 2;
            const int pairs = width / 2;
            DEINTERLEAVE_PAIRS(evenTarget, oddTarget, source, pairs);
            if (width & 1) evenTarget[pairs] = source[width - 1];
            continue;
        }
        for (int phase = 0; phase < stride; phase++) {
            const int first = ((phase - padding) % stride + stride) % stride;
            if (first >= width) continue;
            const int count = (width - first + stride - 1) / stride;
            float *target = rowBase + phase * phaseSpan + (first + padding) / stride;
            const float *from = source + first;
            for (int j = 0; j < count; j++) target[j] = from[j * stride];
        }
    }
}

EDGENAS_CLONES
void edgenas_polyphase_gather(const float *phases, int height, int width, int padding, int stride,
                              ptrdiff_t phaseSpan, int phaseWidth, ptrdiff_t planeOffset, float *plane,
                              int accumulate) {
    if (stride == 1) {
        const float *source = phases + planeOffset + (ptrdiff_t)padding * phaseWidth + padding;
        if (accumulate) {
            for (int row = 0; row < height; row++)
                for (int j = 0; j < width; j++) plane[(ptrdiff_t)row * width + j] += source[(ptrdiff_t)row * phaseWidth + j];
        } else {
            for (int row = 0; row < height; row++)
                COPY_SPAN(plane + (ptrdiff_t)row * width, source + (ptrdiff_t)row * phaseWidth, width);
        }
        return;
    }
    for (int row = 0; row < height; row++) {
        const int r = row + padding;
        float *target = plane + (ptrdiff_t)row * width;
        const float *rowBase = phases + (ptrdiff_t)((r % stride) * stride) * phaseSpan + planeOffset + (ptrdiff_t)(r / stride) * phaseWidth;
        if (stride == 2) {
            const float *evenSource = rowBase + (padding & 1) * phaseSpan + padding / 2;
            const float *oddSource = rowBase + ((padding + 1) & 1) * phaseSpan + (padding + 1) / 2;
            const int pairs = width / 2;
            if (accumulate) {
                for (int m = 0; m < pairs; m++) {
                    target[2 * m] += evenSource[m];
                    target[2 * m + 1] += oddSource[m];
                }
                if (width & 1) target[width - 1] += evenSource[pairs];
            } else {
                INTERLEAVE_PAIRS(target, evenSource, oddSource, pairs);
                if (width & 1) target[width - 1] = evenSource[pairs];
            }
            continue;
        }
        for (int phase = 0; phase < stride; phase++) {
            const int first = ((phase - padding) % stride + stride) % stride;
            if (first >= width) continue;
            const int count = (width - first + stride - 1) / stride;
            const float *source = rowBase + phase * phaseSpan + (first + padding) / stride;
            float *to = target + first;
            for (int j = 0; j < count; j++) to[j * stride] = (accumulate ? to[j * stride] : 0.0f) + source[j];
        }
    }
}

EDGENAS_CLONES
float edgenas_sum(const float *values, ptrdiff_t count) {
    float lanes[LANES] = {0};
    ptrdiff_t j = 0;
    for (; j + LANES <= count; j += LANES)
        for (int l = 0; l < LANES; l++) lanes[l] += values[j + l];
    float total = 0.0f;
    for (; j < count; j++) total += values[j];
    for (int l = 0; l < LANES; l++) total += lanes[l];
    return total;
}

void edgenas_keep_large_blocks_in_heap(void) {
#if defined(__GLIBC__)
    // No mapped blocks at all, rather than a higher threshold: glibc caps the threshold at
    // 32 MiB, and blocks above it were still mapped afresh every step (a third of a
    // batch-256 step went to the kernel zeroing their pages).
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

static inline float clamp_unit(float x, float low, float high) { return x < low ? low : (x > high ? high : x); }

// e^x for x in about [-87, 88], relative error ~2e-7, written with plain arithmetic so that
// loops calling it vectorise (libm's expf is a scalar call): x = n·ln2 + r, e^r by a
// degree-6 polynomial, 2^n through the exponent bits.
static inline float vector_exp(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int bits = ((int)n + 127) << 23;
    float scale;
    __builtin_memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// 1/(1 + e^{−x}) from e^{−|x|}, which never overflows; plain arithmetic, so that loops of
// it vectorise (libm's expf made SiLU and softplus gradients scalar calls).
static inline float stable_sigmoid(float x) {
    const float e = vector_exp(x < 0 ? x : -x);
    const float r = 1.0f / (1.0f + e);
    return x >= 0 ? r : e * r;
}

// log(1 + e^x) = max(x, 0) + log1p(u) with u = e^{−|x|} ≤ 1, and log1p(u) = 2·atanh(s) with
// s = u / (2 + u) ≤ 1/3: the atanh series in s² ≤ 1/9 reaches float precision in seven
// terms and, unlike log(1 + u), stays exact for tiny u. Vectorises (log1pf and expf do not).
static inline float vector_softplus(float x) {
    const float u = vector_exp(x < 0 ? x : -x);
    const float t = u / (2.0f + u), t2 = t * t;
    float series = 1.0f / 13;
    series = series * t2 + 1.0f / 11;
    series = series * t2 + 1.0f / 9;
    series = series * t2 + 1.0f / 7;
    series = series * t2 + 1.0f / 5;
    series = series * t2 + 1.0f / 3;
    series = series * t2 + 1.0f;
    return (x > 0 ? x : 0.0f) + 2.0f * t * series;
}

// erf(x/√2) given e^{-x²/2} (shared with the GELU derivative): Abramowitz & Stegun 7.1.26,
// absolute error below 1.5e-7.
static inline float erf_of_scaled(float x, float gaussian) {
    const float z = x * 0.70710678118654752f;
    const float magnitude = z < 0 ? -z : z;
    const float t = 1.0f / (1.0f + 0.3275911f * magnitude);
    const float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t
                        + 0.254829592f) * t;
    const float value = 1.0f - poly * gaussian;
    return z < 0 ? -value : value;
}

// The switch sits outside the loops so that each loop is a plain vectorisable kernel.
EDGENAS_CLONES
void edgenas_unary_forward(edgenas_unary function, const float *x, float *y, ptrdiff_t count) {
    switch (function) {
    case EDGENAS_RELU: for (ptrdiff_t j = 0; j < count; j++) y[j] = x[j] > 0 ? x[j] : 0.0f; break;
    case EDGENAS_RELU6: for (ptrdiff_t j = 0; j < count; j++) y[j] = clamp_unit(x[j], 0.0f, 6.0f); break;
    case EDGENAS_HARD_SIGMOID:
        for (ptrdiff_t j = 0; j < count; j++) y[j] = clamp_unit(x[j] + 3.0f, 0.0f, 6.0f) * (1.0f / 6.0f);
        break;
    case EDGENAS_HARD_SWISH:
        for (ptrdiff_t j = 0; j < count; j++) y[j] = x[j] * clamp_unit(x[j] + 3.0f, 0.0f, 6.0f) * (1.0f / 6.0f);
        break;
    case EDGENAS_SIGMOID: for (ptrdiff_t j = 0; j < count; j++) y[j] = stable_sigmoid(x[j]); break;
    case EDGENAS_SILU: for (ptrdiff_t j = 0; j < count; j++) y[j] = x[j] * stable_sigmoid(x[j]); break;
    case EDGENAS_GELU:
        for (ptrdiff_t j = 0; j < count; j++) {
            const float gaussian = vector_exp(-0.5f * x[j] * x[j]);
            y[j] = 0.5f * x[j] * (1.0f + erf_of_scaled(x[j], gaussian));
        }
        break;
    case EDGENAS_SOFTPLUS:
        for (ptrdiff_t j = 0; j < count; j++) y[j] = vector_softplus(x[j]);
        break;
    case EDGENAS_EXP: for (ptrdiff_t j = 0; j < count; j++) y[j] = expf(x[j]); break;
    case EDGENAS_LOG: for (ptrdiff_t j = 0; j < count; j++) y[j] = logf(x[j]); break;
    }
}

// Derivative factors f'(x) times dy, one loop per function; ASSIGN is `=` or `+=`.
#define EDGENAS_UNARY_BACKWARD_LOOPS(ASSIGN)                                                              \
    switch (function) {                                                                                   \
    case EDGENAS_RELU: for (ptrdiff_t j = 0; j < count; j++) dx[j] ASSIGN x[j] > 0 ? dy[j] : 0.0f; break;  \
    case EDGENAS_RELU6:                                                                                   \
        for (ptrdiff_t j = 0; j < count; j++) dx[j] ASSIGN (x[j] > 0 && x[j] < 6.0f) ? dy[j] : 0.0f;      \
        break;                                                                                            \
    case EDGENAS_HARD_SIGMOID:                                                                            \
        for (ptrdiff_t j = 0; j < count; j++)                                                             \
            dx[j] ASSIGN (x[j] > -3.0f && x[j] < 3.0f) ? dy[j] * (1.0f / 6.0f) : 0.0f;                    \
        break;                                                                                            \
    case EDGENAS_HARD_SWISH:                                                                              \
        for (ptrdiff_t j = 0; j < count; j++) {                                                           \
            const float slope = x[j] <= -3.0f ? 0.0f : (x[j] >= 3.0f ? 1.0f : (2.0f * x[j] + 3.0f) * (1.0f / 6.0f)); \
            dx[j] ASSIGN dy[j] * slope;                                                                   \
        }                                                                                                 \
        break;                                                                                            \
    case EDGENAS_SIGMOID: for (ptrdiff_t j = 0; j < count; j++) dx[j] ASSIGN dy[j] * y[j] * (1.0f - y[j]); break; \
    case EDGENAS_SILU:                                                                                    \
        for (ptrdiff_t j = 0; j < count; j++) {                                                           \
            const float s = stable_sigmoid(x[j]);                                                         \
            dx[j] ASSIGN dy[j] * s * (1.0f + x[j] * (1.0f - s));                                          \
        }                                                                                                 \
        break;                                                                                            \
    case EDGENAS_GELU:                                                                                    \
        for (ptrdiff_t j = 0; j < count; j++) {                                                           \
            const float gaussian = vector_exp(-0.5f * x[j] * x[j]);                                       \
            const float cdf = 0.5f * (1.0f + erf_of_scaled(x[j], gaussian));                              \
            dx[j] ASSIGN dy[j] * (cdf + x[j] * 0.39894228040143268f * gaussian);                          \
        }                                                                                                 \
        break;                                                                                            \
    case EDGENAS_SOFTPLUS: for (ptrdiff_t j = 0; j < count; j++) dx[j] ASSIGN dy[j] * stable_sigmoid(x[j]); break; \
    case EDGENAS_EXP: for (ptrdiff_t j = 0; j < count; j++) dx[j] ASSIGN dy[j] * y[j]; break;              \
    case EDGENAS_LOG: for (ptrdiff_t j = 0; j < count; j++) dx[j] ASSIGN dy[j] / x[j]; break;              \
    }

EDGENAS_CLONES
void edgenas_unary_backward(edgenas_unary function, const float *x, const float *y, const float *dy,
                            float *dx, ptrdiff_t count, int accumulate) {
    if (accumulate) {
        EDGENAS_UNARY_BACKWARD_LOOPS(+=)
    } else {
        EDGENAS_UNARY_BACKWARD_LOOPS(=)
    }
}

EDGENAS_CLONES
void edgenas_scale_shift(const float *x, float *y, ptrdiff_t count, float scale, float shift) {
    for (ptrdiff_t j = 0; j < count; j++) y[j] = x[j] * scale + shift;
}

EDGENAS_CLONES
void edgenas_affine2(float *out, const float *g, const float *x, float a, float b, float c,
                     ptrdiff_t count, int accumulate) {
    if (out == g) {
        // In place (a fused normalisation's last pass): the same pointer in both roles keeps
        // the loop vectorised, where distinct overlapping pointers would run scalar.
        for (ptrdiff_t j = 0; j < count; j++) out[j] = a * out[j] + b * x[j] + c;
    } else if (accumulate) {
        for (ptrdiff_t j = 0; j < count; j++) out[j] += a * g[j] + b * x[j] + c;
    } else {
        for (ptrdiff_t j = 0; j < count; j++) out[j] = a * g[j] + b * x[j] + c;
    }
}

EDGENAS_CLONES
void edgenas_copy_rows(float *destination, ptrdiff_t destinationImageStride, ptrdiff_t destinationRowStride,
                       const float *source, ptrdiff_t sourceImageStride, ptrdiff_t sourceRowStride,
                       int images, int rows, int width) {
    for (int image = 0; image < images; image++) {
        for (int row = 0; row < rows; row++) {
            COPY_SPAN(destination + image * destinationImageStride + row * destinationRowStride,
                      source + image * sourceImageStride + row * sourceRowStride, width);
        }
    }
}

// The selective scan loops run over channels innermost (the state is stored state-major), so
// that they vectorise for the 32–192 channels of a Mamba layer rather than the 4–16 states.
EDGENAS_CLONES
void edgenas_selective_scan_forward(int tokens, int channels, int states, const float *v, const float *delta,
                                    const float *b, const float *c, const float *a, const float *d,
                                    float *y, float *history, float *scratch) {
    const ptrdiff_t E = channels, S = states;
    float *h = history;
    float *state = history ? history : scratch + E;  // without history: a single running state
    if (!history) for (ptrdiff_t j = 0; j < S * E; j++) state[j] = 0.0f;
    float *input = scratch;
    for (int t = 0; t < tokens; t++) {
        const float *dt = delta + t * E, *vt = v + t * E, *bt = b + t * S, *ct = c + t * S;
        float *yt = y + t * E;
        const float *previous = history ? (t > 0 ? h + (t - 1) * S * E : NULL) : state;
        float *current = history ? h + t * S * E : state;
        for (ptrdiff_t e = 0; e < E; e++) {
            input[e] = dt[e] * vt[e];
            yt[e] = d[e] * vt[e];
        }
        for (ptrdiff_t s = 0; s < S; s++) {
            const float bs = bt[s], cs = ct[s];
            const float *as = a + s * E;
            const float *hp = previous ? previous + s * E : NULL;
            float *hs = current + s * E;
            // Without a history hp is hs: the state is updated in place.
            if (hp) {
                ELEMENTWISE_LOOP
                for (ptrdiff_t e = 0; e < E; e++) {
                    const float value = vector_exp(dt[e] * as[e]) * hp[e] + input[e] * bs;
                    hs[e] = value;
                    yt[e] += value * cs;
                }
            } else {
                ELEMENTWISE_LOOP
                for (ptrdiff_t e = 0; e < E; e++) {
                    const float value = input[e] * bs;
                    hs[e] = value;
                    yt[e] += value * cs;
                }
            }
        }
    }
}

// One channel e of the backward scan at token t and state s: dL/dh_t from the later token
// and the output, then its shares of ΔA, Δ and v, and of the dC and dB sums DC and DB.
#define SCAN_GRADIENT_STEP(e, DC, DB)                                                           \
    do {                                                                                        \
        const float decay = vector_exp(dt[e] * as[e]);                                          \
        const float gradient = gh[e] + gy[e] * cs;             /* dL/dh_t */                    \
        const float decayGradient = gradient * hps[e] * decay; /* dL/d(Δ·A) */                  \
        DC += gy[e] * hts[e];                                                                   \
        ddt[e] += decayGradient * as[e] + gradient * vt[e] * bs;                                \
        das[e] += decayGradient * dt[e];                                                        \
        dvt[e] += gradient * dt[e] * bs;                                                        \
        DB += gradient * dt[e] * vt[e];                                                         \
        gh[e] = gradient * decay;                                                               \
    } while (0)
// The same at the first token, where h_0 = 0 and nothing flows through the decay.
#define FIRST_SCAN_GRADIENT_STEP(e, DC, DB)                                                     \
    do {                                                                                        \
        const float gradient = gh[e] + gy[e] * cs;                                              \
        DC += gy[e] * hts[e];                                                                   \
        ddt[e] += gradient * vt[e] * bs;                                                        \
        dvt[e] += gradient * dt[e] * bs;                                                        \
        DB += gradient * dt[e] * vt[e];                                                         \
    } while (0)

EDGENAS_CLONES
void edgenas_selective_scan_backward(int tokens, int channels, int states, const float *v, const float *delta,
                                     const float *b, const float *c, const float *a, const float *d,
                                     const float *history, const float *dy,
                                     float *dv, float *dDelta, float *dB, float *dC, float *dA, float *dD,
                                     float *carry) {
    const ptrdiff_t E = channels, S = states;
    for (ptrdiff_t j = 0; j < S * E; j++) carry[j] = 0.0f;  // dL/dh of the token after t
    for (int t = tokens - 1; t >= 0; t--) {
        const float *dt = delta + t * E, *vt = v + t * E, *bt = b + t * S, *ct = c + t * S, *gy = dy + t * E;
        const float *ht = history + t * S * E;
        const float *hp = t > 0 ? history + (t - 1) * S * E : NULL;
        float *dvt = dv + t * E, *ddt = dDelta + t * E;
        for (ptrdiff_t e = 0; e < E; e++) {
            dD[e] += gy[e] * vt[e];
            dvt[e] += gy[e] * d[e];
        }
        for (ptrdiff_t s = 0; s < S; s++) {
            const float bs = bt[s], cs = ct[s];
            const float *as = a + s * E, *hts = ht + s * E;
            const float *hps = hp ? hp + s * E : NULL;
            float *gh = carry + s * E, *das = dA + s * E;
            // The sums over channels for dC and dB run in lanes (serial float sums kept the
            // whole loop scalar), the remainder channels one by one.
            float dcs[LANES] = {0}, dbs[LANES] = {0};
            float dc = 0.0f, db = 0.0f;
            const ptrdiff_t vectorLength = E - E % LANES;
            if (hps) {
                for (ptrdiff_t e0 = 0; e0 < vectorLength; e0 += LANES)
                    ELEMENTWISE_LOOP
                    for (int l = 0; l < LANES; l++) SCAN_GRADIENT_STEP(e0 + l, dcs[l], dbs[l]);
                for (ptrdiff_t e = vectorLength; e < E; e++) SCAN_GRADIENT_STEP(e, dc, db);
            } else {  // the first token: h_0 = 0, so nothing flows through the decay
                for (ptrdiff_t e0 = 0; e0 < vectorLength; e0 += LANES)
                    ELEMENTWISE_LOOP
                    for (int l = 0; l < LANES; l++) FIRST_SCAN_GRADIENT_STEP(e0 + l, dcs[l], dbs[l]);
                for (ptrdiff_t e = vectorLength; e < E; e++) FIRST_SCAN_GRADIENT_STEP(e, dc, db);
            }
            for (int l = 0; l < LANES; l++) {
                dc += dcs[l];
                db += dbs[l];
            }
            dC[t * S + s] += dc;
            dB[t * S + s] += db;
        }
    }
}

// The per-channel reductions of batch normalisation walk a whole channel (every image's
// plane) in one call: with planes of 7×7 or 14×14 values, per-plane calls spent as long on
// folding their 16 lanes as on the values. The float lanes are folded into double sums
// every FLUSH values per lane, so that long channels lose no precision.
enum { FLUSH = 64 * LANES };

EDGENAS_CLONES
void edgenas_channel_sum_and_dot(const float *g, const float *x, ptrdiff_t images, ptrdiff_t imageStride,
                                 ptrdiff_t plane, float shift, double *sum, double *dot) {
    float sums[LANES] = {0}, dots[LANES] = {0};
    double totalSum = 0, totalDot = 0;
    ptrdiff_t sinceFlush = 0;
    const ptrdiff_t vectorLength = plane - plane % LANES;
    for (ptrdiff_t n = 0; n < images; n++) {
        const float *gp = g + n * imageStride, *xp = x + n * imageStride;
        for (ptrdiff_t j = 0; j < vectorLength; j += LANES)
            for (int l = 0; l < LANES; l++) {
                sums[l] += gp[j + l];
                dots[l] += gp[j + l] * (xp[j + l] - shift);
            }
        for (ptrdiff_t j = vectorLength; j < plane; j++) {
            totalSum += gp[j];
            totalDot += (double)gp[j] * (xp[j] - shift);
        }
        sinceFlush += vectorLength;
        if (sinceFlush >= FLUSH || n == images - 1) {
            for (int l = 0; l < LANES; l++) {
                totalSum += sums[l];
                totalDot += dots[l];
                sums[l] = 0;
                dots[l] = 0;
            }
            sinceFlush = 0;
        }
    }
    *sum += totalSum;
    *dot += totalDot;
}

EDGENAS_CLONES
void edgenas_channel_shifted_moments(const float *values, ptrdiff_t images, ptrdiff_t imageStride, ptrdiff_t plane,
                                     float shift, double *sum, double *sumOfSquares) {
    float sums[LANES] = {0}, squares[LANES] = {0};
    double totalSum = 0, totalSquares = 0;
    ptrdiff_t sinceFlush = 0;
    const ptrdiff_t vectorLength = plane - plane % LANES;
    for (ptrdiff_t n = 0; n < images; n++) {
        const float *p = values + n * imageStride;
        for (ptrdiff_t j = 0; j < vectorLength; j += LANES)
            for (int l = 0; l < LANES; l++) {
                const float d = p[j + l] - shift;
                sums[l] += d;
                squares[l] += d * d;
            }
        for (ptrdiff_t j = vectorLength; j < plane; j++) {
            const float d = p[j] - shift;
            totalSum += d;
            totalSquares += (double)d * d;
        }
        sinceFlush += vectorLength;
        if (sinceFlush >= FLUSH || n == images - 1) {
            for (int l = 0; l < LANES; l++) {
                totalSum += sums[l];
                totalSquares += squares[l];
                sums[l] = 0;
                squares[l] = 0;
            }
            sinceFlush = 0;
        }
    }
    *sum += totalSum;
    *sumOfSquares += totalSquares;
}

// Layer normalisation, row by row. Mean and variance take two passes over the row (the
// variance of deviations, which does not cancel for large means); lanes keep the sums
// vectorised.
EDGENAS_CLONES
void edgenas_layer_norm_forward(const float *x, const float *weight, const float *bias, float *y,
                                ptrdiff_t rows, ptrdiff_t width, float epsilon, float *means, float *inverses) {
    for (ptrdiff_t row = 0; row < rows; row++) {
        const float *source = x + row * width;
        float *out = y + row * width;
        float sums[LANES] = {0};
        const ptrdiff_t vectorLength = width - width % LANES;
        for (ptrdiff_t j = 0; j < vectorLength; j += LANES)
            for (int l = 0; l < LANES; l++) sums[l] += source[j + l];
        float total = 0;
        for (int l = 0; l < LANES; l++) total += sums[l];
        for (ptrdiff_t j = vectorLength; j < width; j++) total += source[j];
        const float mean = total / (float)width;
        float squares[LANES] = {0};
        for (ptrdiff_t j = 0; j < vectorLength; j += LANES)
            for (int l = 0; l < LANES; l++) {
                const float d = source[j + l] - mean;
                squares[l] += d * d;
            }
        float squareTotal = 0;
        for (int l = 0; l < LANES; l++) squareTotal += squares[l];
        for (ptrdiff_t j = vectorLength; j < width; j++) {
            const float d = source[j] - mean;
            squareTotal += d * d;
        }
        const float inverse = 1.0f / sqrtf(squareTotal / (float)width + epsilon);
        means[row] = mean;
        inverses[row] = inverse;
        for (ptrdiff_t j = 0; j < width; j++) out[j] = (source[j] - mean) * inverse * weight[j] + bias[j];
    }
}

// The two row sums run in lanes: a serial float reduction does not vectorise, and at the
// 64–192 features of a ViT row its add latency made this the slowest pass of the layer.
EDGENAS_CLONES
void edgenas_layer_norm_backward(const float *x, const float *dy, const float *weight, const float *means,
                                 const float *inverses, ptrdiff_t rows, ptrdiff_t width, float *weightGradient,
                                 float *biasGradient, float *dx, int accumulate) {
    const ptrdiff_t vectorLength = width - width % LANES;
    for (ptrdiff_t row = 0; row < rows; row++) {
        const float *source = x + row * width, *gradient = dy + row * width;
        const float mean = means[row], inverse = inverses[row];
        float sums[LANES] = {0}, dots[LANES] = {0};
        for (ptrdiff_t j = 0; j < vectorLength; j += LANES)
            for (int l = 0; l < LANES; l++) {
                const float normalized = (source[j + l] - mean) * inverse;
                const float normalizedGradient = gradient[j + l] * weight[j + l];
                weightGradient[j + l] += gradient[j + l] * normalized;
                biasGradient[j + l] += gradient[j + l];
                sums[l] += normalizedGradient;
                dots[l] += normalizedGradient * normalized;
            }
        float gradientSum = 0, gradientDot = 0;
        for (int l = 0; l < LANES; l++) {
            gradientSum += sums[l];
            gradientDot += dots[l];
        }
        for (ptrdiff_t j = vectorLength; j < width; j++) {
            const float normalized = (source[j] - mean) * inverse;
            const float normalizedGradient = gradient[j] * weight[j];
            weightGradient[j] += gradient[j] * normalized;
            biasGradient[j] += gradient[j];
            gradientSum += normalizedGradient;
            gradientDot += normalizedGradient * normalized;
        }
        if (!dx) continue;
        const float meanGradient = gradientSum / (float)width, meanGradientDot = gradientDot / (float)width;
        float *target = dx + row * width;
        for (ptrdiff_t j = 0; j < width; j++) {
            const float normalized = (source[j] - mean) * inverse;
            const float value = inverse * (gradient[j] * weight[j] - meanGradient - normalized * meanGradientDot);
            target[j] = accumulate ? target[j] + value : value;
        }
    }
}

// Lanes make the maximum and the sum vectorise (a serial float reduction does not).
EDGENAS_CLONES
void edgenas_softmax_rows(const float *x, float *y, ptrdiff_t rows, ptrdiff_t width) {
    const ptrdiff_t vectorLength = width - width % LANES;
    for (ptrdiff_t row = 0; row < rows; row++) {
        const float *source = x + row * width;
        float *out = y + row * width;
        float maxima[LANES];
        for (int l = 0; l < LANES; l++) maxima[l] = -INFINITY;
        for (ptrdiff_t j = 0; j < vectorLength; j += LANES)
            for (int l = 0; l < LANES; l++) maxima[l] = source[j + l] > maxima[l] ? source[j + l] : maxima[l];
        float maximum = -INFINITY;
        for (int l = 0; l < LANES; l++) maximum = maxima[l] > maximum ? maxima[l] : maximum;
        for (ptrdiff_t j = vectorLength; j < width; j++) maximum = source[j] > maximum ? source[j] : maximum;
        // Often in place (attention's scores).
        ELEMENTWISE_LOOP
        for (ptrdiff_t j = 0; j < width; j++) out[j] = vector_exp(source[j] - maximum);
        float sums[LANES] = {0};
        for (ptrdiff_t j = 0; j < vectorLength; j += LANES)
            for (int l = 0; l < LANES; l++) sums[l] += out[j + l];
        float total = 0;
        for (int l = 0; l < LANES; l++) total += sums[l];
        for (ptrdiff_t j = vectorLength; j < width; j++) total += out[j];
        const float inverse = 1.0f / total;
        for (ptrdiff_t j = 0; j < width; j++) out[j] *= inverse;
    }
}

// dx = scale · y ⊙ (dy − Σ_j dy_j·y_j) per row; the dot product in lanes.
EDGENAS_CLONES
void edgenas_softmax_backward_rows(const float *y, const float *dy, float *dx, ptrdiff_t rows, ptrdiff_t width,
                                   float scale, int accumulate) {
    const ptrdiff_t vectorLength = width - width % LANES;
    for (ptrdiff_t row = 0; row < rows; row++) {
        const float *p = y + row * width, *g = dy + row * width;
        float *out = dx + row * width;
        float dots[LANES] = {0};
        for (ptrdiff_t j = 0; j < vectorLength; j += LANES)
            for (int l = 0; l < LANES; l++) dots[l] += p[j + l] * g[j + l];
        float dot = 0;
        for (int l = 0; l < LANES; l++) dot += dots[l];
        for (ptrdiff_t j = vectorLength; j < width; j++) dot += p[j] * g[j];
        if (accumulate) {
            ELEMENTWISE_LOOP
            for (ptrdiff_t j = 0; j < width; j++) out[j] += p[j] * (g[j] - dot) * scale;
        } else {
            ELEMENTWISE_LOOP  // often in place (attention)
            for (ptrdiff_t j = 0; j < width; j++) out[j] = p[j] * (g[j] - dot) * scale;
        }
    }
}

// No reduction and no reassociation: the same values as the scalar loop, 16 at a time.
EDGENAS_CLONES
void edgenas_adamw_update(float *w, const float *g, float *m, float *v, ptrdiff_t count, float learningRate,
                          float beta1, float beta2, float epsilon, float correction1, float correction2,
                          float decayFactor) {
    ELEMENTWISE_LOOP
    for (ptrdiff_t j = 0; j < count; j++) {
        m[j] = beta1 * m[j] + (1 - beta1) * g[j];
        v[j] = beta2 * v[j] + (1 - beta2) * g[j] * g[j];
        const float update = (m[j] / correction1) / (sqrtf(v[j] / correction2) + epsilon);
        w[j] = w[j] * decayFactor - learningRate * update;
    }
}

EDGENAS_CLONES
void edgenas_causal_conv1d_forward(const float *x, const float *weights, const float *bias, float *y, int tokens,
                                   int channels, int k) {
    for (int t = 0; t < tokens; t++) {
        float *out = y + (ptrdiff_t)t * channels;
        for (int e = 0; e < channels; e++) out[e] = bias[e];
        for (int j = 0; j < k; j++) {
            const int source = t + j - (k - 1);
            if (source < 0) continue;
            const float *in = x + (ptrdiff_t)source * channels, *w = weights + (ptrdiff_t)j * channels;
            for (int e = 0; e < channels; e++) out[e] += w[e] * in[e];
        }
    }
}

EDGENAS_CLONES
void edgenas_causal_conv1d_backward(const float *x, const float *weights, const float *dy, float *dx,
                                    float *weightGradient, float *biasGradient, int tokens, int channels, int k) {
    for (int t = 0; t < tokens; t++) {
        const float *gradient = dy + (ptrdiff_t)t * channels;
        if (biasGradient)
            for (int e = 0; e < channels; e++) biasGradient[e] += gradient[e];
        for (int j = 0; j < k; j++) {
            const int source = t + j - (k - 1);
            if (source < 0) continue;
            if (dx) {
                float *target = dx + (ptrdiff_t)source * channels;
                const float *w = weights + (ptrdiff_t)j * channels;
                for (int e = 0; e < channels; e++) target[e] += w[e] * gradient[e];
            }
            if (weightGradient) {
                float *target = weightGradient + (ptrdiff_t)j * channels;
                const float *in = x + (ptrdiff_t)source * channels;
                for (int e = 0; e < channels; e++) target[e] += gradient[e] * in[e];
            }
        }
    }
}

EDGENAS_CLONES
void edgenas_add_column_sums(const float *values, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t rowStride,
                             float *sums) {
    for (ptrdiff_t row = 0; row < rows; row++) {
        const float *source = values + row * rowStride;
        for (ptrdiff_t j = 0; j < columns; j++) sums[j] += source[j];
    }
}

EDGENAS_CLONES
void edgenas_scale_shift_activate(const float *x, float *y, ptrdiff_t count, float scale, float shift,
                                  edgenas_unary function) {
    // Through a stack piece: an in-place call (y == x) would fail the vectoriser's
    // run-time overlap check and run scalar.
    enum { PIECE = 1024 };
    float pre[PIECE];
    for (ptrdiff_t start = 0; start < count; start += PIECE) {
        const ptrdiff_t length = count - start < PIECE ? count - start : PIECE;
        for (ptrdiff_t j = 0; j < length; j++) pre[j] = x[start + j] * scale + shift;
        edgenas_unary_forward(function, pre, y + start, length);
    }
}

// The pre-activation is recomputed from x in L1-sized pieces instead of being stored by the
// forward pass: one tensor less to allocate, write and read back per normalisation.
EDGENAS_CLONES
void edgenas_channel_activation_backward(edgenas_unary function, const float *x, const float *y, const float *dy,
                                         float *dpre, ptrdiff_t images, ptrdiff_t imageStride, ptrdiff_t plane,
                                         float scale, float shift, float mean, double *sum, double *dot) {
    enum { PIECE = 1024 };
    float pre[PIECE];
    for (ptrdiff_t n = 0; n < images; n++) {
        const ptrdiff_t base = n * imageStride;
        for (ptrdiff_t start = 0; start < plane; start += PIECE) {
            const ptrdiff_t length = plane - start < PIECE ? plane - start : PIECE;
            const ptrdiff_t offset = base + start;
            for (ptrdiff_t j = 0; j < length; j++) pre[j] = x[offset + j] * scale + shift;
            edgenas_unary_backward(function, pre, y + offset, dy + offset, dpre + offset, length, 0);
        }
        edgenas_channel_sum_and_dot(dpre + base, x + base, 1, 0, plane, mean, sum, dot);
    }
}
