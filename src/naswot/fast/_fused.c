/* Fused elementwise passes of the fast NASWOT scorers (naswot.fast._native loads this file).
 *
 * Every tensor is in channels_last memory order: rows = N*H*W rows of C contiguous channels.
 * Two element types: f32 (float) and b16 (bfloat16 stored as uint16_t; arithmetic in float,
 * results rounded to nearest even). Compiled without -ffast-math and with -ffp-contract=off, so
 * every float operation rounds as written. Single-threaded: one process per core is the
 * scorer's model (docs/performance.md, "Threads under contention").
 *
 * Codes: a value is > 0 exactly when its bits, read as a signed integer of the same width, are
 * > 0 (+0.0 and -0.0 are not > 0), so the ReLU code and the ReLU output come from one integer
 * compare.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX512BW__) && defined(__AVX512VPOPCNTDQ__)
#include <immintrin.h>
#define NASWOT_POPCOUNT_GRAM 1
#else
#define NASWOT_POPCOUNT_GRAM 0
#endif

typedef uint16_t b16;

static inline float b16_to_f(b16 v) {
    uint32_t u = (uint32_t)v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline b16 f_to_b16(float f) {
    /* Round to nearest even; inputs are finite (the scorers refuse non-finite batches). */
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (b16)(u >> 16);
}

static inline float f32_to_f(float v) { return v; }
static inline float f_to_f32(float f) { return f; }

/* Per-channel batch statistics: mean and 1/sqrt(biased variance + eps). The tensor is read as
 * `rows` image rows of `wc` = W*C values. Shifted sums (each position's value in the first row
 * is subtracted, so a constant channel gives variance 0 and a large mean does not cancel the
 * variance away) run in float per position over blocks of STATS_BLOCK rows (long, full-width
 * vector loops), are folded into double, then combined over the W positions of each channel.
 * Returns 0, or -1 without memory. */
#define STATS_BLOCK 16
#define DEFINE_STATS(T, LOAD)                                                                  \
    int naswot_stats_##T(const T *restrict x, int64_t rows, int64_t wc, int64_t c, double eps, \
                         float *restrict mean, float *restrict invstd) {                       \
        double *sum = calloc((size_t)(2 * wc), sizeof(double));                                \
        float *part = calloc((size_t)(3 * wc), sizeof(float));                                 \
        if (sum == NULL || part == NULL) {                                                     \
            free(sum);                                                                         \
            free(part);                                                                        \
            return -1;                                                                         \
        }                                                                                      \
        double *restrict sq = sum + wc;                                                        \
        float *restrict ps = part, *restrict psq = part + wc, *restrict shift = part + 2 * wc; \
        for (int64_t e = 0; e < wc; ++e) shift[e] = LOAD(x[e]);                                \
        for (int64_t r0 = 0; r0 < rows; r0 += STATS_BLOCK) {                                   \
            int64_t r1 = r0 + STATS_BLOCK < rows ? r0 + STATS_BLOCK : rows;                    \
            for (int64_t e = 0; e < wc; ++e) ps[e] = psq[e] = 0.0f;                            \
            for (int64_t r = r0; r < r1; ++r) {                                                \
                const T *restrict row = x + r * wc;                                            \
                for (int64_t e = 0; e < wc; ++e) {                                             \
                    float v = LOAD(row[e]) - shift[e];                                         \
                    ps[e] += v;                                                                \
                    psq[e] += v * v;                                                           \
                }                                                                              \
            }                                                                                  \
            for (int64_t e = 0; e < wc; ++e) {                                                 \
                sum[e] += (double)ps[e];                                                       \
                sq[e] += (double)psq[e];                                                       \
            }                                                                                  \
        }                                                                                      \
        double count = (double)(rows * (wc / c));                                              \
        for (int64_t k = 0; k < c; ++k) {                                                      \
            double total = 0.0;                                                                \
            for (int64_t e = k; e < wc; e += c) total += sum[e] + (double)rows * shift[e];     \
            double m = total / count, ss = 0.0;                                                \
            for (int64_t e = k; e < wc; e += c) {                                              \
                /* sum over rows of (x - m)^2, from the sums shifted by shift[e] */            \
                double d = (double)shift[e] - m;                                               \
                ss += sq[e] + 2.0 * d * sum[e] + (double)rows * d * d;                         \
            }                                                                                  \
            double var = ss / count;                                                           \
            if (var < 0.0) var = 0.0;                                                          \
            mean[k] = (float)m;                                                                \
            invstd[k] = (float)(1.0 / sqrt(var + eps));                                        \
        }                                                                                      \
        free(sum);                                                                             \
        free(part);                                                                            \
        return 0;                                                                              \
    }

/* out = (x - mean) * invstd. */
#define DEFINE_BN(T, LOAD, STORE)                                                              \
    void naswot_bn_##T(const T *restrict x, T *restrict out, int64_t rows, int64_t c,          \
                       const float *restrict mean, const float *restrict invstd) {             \
        for (int64_t r = 0; r < rows; ++r)                                                     \
            for (int64_t k = 0; k < c; ++k)                                                    \
                out[r * c + k] = STORE((LOAD(x[r * c + k]) - mean[k]) * invstd[k]);            \
    }

/* codes = bn(x) > 0 and relu = max(bn(x), 0), without writing bn(x). */
#define DEFINE_BN_RELU_CODES(T, LOAD, STORE, I)                                                \
    void naswot_bn_relu_codes_##T(const T *x, T *relu, int8_t *codes, int64_t rows, int64_t c, \
                                  const float *mean, const float *invstd) {                    \
        for (int64_t r = 0; r < rows; ++r) {                                                   \
            const T *row = x + r * c;                                                          \
            I *dst = (I *)(relu + r * c);                                                      \
            int8_t *code = codes + r * c;                                                      \
            for (int64_t k = 0; k < c; ++k) {                                                  \
                T y = STORE((LOAD(row[k]) - mean[k]) * invstd[k]);                             \
                I bits;                                                                        \
                memcpy(&bits, &y, sizeof bits);                                                \
                int8_t on = bits > 0;                                                          \
                code[k] = on;                                                                  \
                dst[k] = on ? bits : 0;                                                        \
            }                                                                                  \
        }                                                                                      \
    }

/* codes = bn(x) > 0 only (the last activation, whose output is not used). */
#define DEFINE_BN_CODES(T, LOAD, STORE, I)                                                     \
    void naswot_bn_codes_##T(const T *x, int8_t *codes, int64_t rows, int64_t c,               \
                             const float *mean, const float *invstd) {                         \
        for (int64_t r = 0; r < rows; ++r) {                                                   \
            const T *row = x + r * c;                                                          \
            int8_t *code = codes + r * c;                                                      \
            for (int64_t k = 0; k < c; ++k) {                                                  \
                T y = STORE((LOAD(row[k]) - mean[k]) * invstd[k]);                             \
                I bits;                                                                        \
                memcpy(&bits, &y, sizeof bits);                                                \
                code[k] = bits > 0;                                                            \
            }                                                                                  \
        }                                                                                      \
    }

/* codes = x > 0 and relu = max(x, 0) in one read of x. */
#define DEFINE_RELU_CODES(T, I)                                                                \
    void naswot_relu_codes_##T(const T *restrict x, T *restrict relu, int8_t *restrict codes,  \
                               int64_t n) {                                                    \
        const I *restrict src = (const I *)x;                                                  \
        I *restrict dst = (I *)relu;                                                           \
        for (int64_t i = 0; i < n; ++i) {                                                      \
            I bits = src[i];                                                                   \
            int8_t on = bits > 0;                                                              \
            codes[i] = on;                                                                     \
            dst[i] = on ? bits : 0;                                                            \
        }                                                                                      \
    }

/* One node of a cell in one pass: node = sum of its parts in order: kind 0 bn(x) (mean/invstd
 * from naswot_stats), kind 1 avg_pool_3x3(x), kind 2 x itself. Works row by row of the image
 * (W*C values in float buffers, in cache): in float32 every part and partial sum is rounded to
 * float, as separate fp32 ops round them (bn itself as (x - mean) * invstd, where PyTorch
 * computes x * a + b); in bf16, parts and partial sums stay in float and only the node is
 * rounded to bf16 (once, where separate bf16 ops would round every part and partial sum).
 * Writes the node (unless `node` is NULL: only its ReLU is read, so each rounded row stays in
 * a row buffer), and when relu/codes are given, max(node, 0) and node > 0 from the stored bits.
 * Returns 0, -1 without memory, -2 if asked to write nothing. */
typedef struct {
    const void *x;
    const float *mean;
    const float *invstd;
    int64_t kind;
} naswot_part;

#define DEFINE_NODE(T, LOAD, STORE, I)                                                         \
    int naswot_node_##T(const naswot_part *parts, int64_t n_parts, int64_t n, int64_t h,       \
                        int64_t w, int64_t c, T *node, T *relu, int8_t *codes) {               \
        int64_t wc = w * c;                                                                    \
        if (node == NULL && relu == NULL) return -2; /* nothing to write */                    \
        float *acc = malloc((size_t)((3 + 2 * n_parts) * wc) * sizeof(float));                 \
        T *row_out = node == NULL ? malloc((size_t)wc * sizeof(T)) : NULL;                     \
        if (acc == NULL || (node == NULL && row_out == NULL)) {                                \
            free(acc);                                                                         \
            free(row_out);                                                                     \
            return -1;                                                                         \
        }                                                                                      \
        float *col = acc + wc, *y = acc + 2 * wc;                                              \
        for (int64_t p = 0; p < n_parts; ++p) /* mean, invstd tiled over an image row */       \
            if (parts[p].kind == 0)                                                            \
                for (int64_t e = 0; e < wc; ++e) {                                             \
                    acc[(3 + 2 * p) * wc + e] = parts[p].mean[e % c];                          \
                    acc[(4 + 2 * p) * wc + e] = parts[p].invstd[e % c];                        \
                }                                                                              \
        for (int64_t b = 0; b < n; ++b) {                                                      \
            for (int64_t i = 0; i < h; ++i) {                                                  \
                int64_t offset = (b * h + i) * wc;                                             \
                for (int64_t p = 0; p < n_parts; ++p) {                                        \
                    const T *x = (const T *)parts[p].x;                                        \
                    if (parts[p].kind == 0) {                                                  \
                        const float *restrict mean = acc + (3 + 2 * p) * wc;                   \
                        const float *restrict invstd = mean + wc;                              \
                        const T *restrict row = x + offset;                                    \
                        for (int64_t e = 0; e < wc; ++e)                                       \
                            y[e] = (LOAD(row[e]) - mean[e]) * invstd[e];                       \
                    } else if (parts[p].kind == 1) {                                           \
                        int64_t i0 = i > 0 ? i - 1 : 0, i1 = i + 1 < h ? i + 1 : h - 1;        \
                        const T *first = x + (b * h + i0) * wc;                                \
                        for (int64_t e = 0; e < wc; ++e) col[e] = LOAD(first[e]);              \
                        for (int64_t ii = i0 + 1; ii <= i1; ++ii) {                            \
                            const T *src = x + (b * h + ii) * wc;                              \
                            for (int64_t e = 0; e < wc; ++e) col[e] += LOAD(src[e]);           \
                        }                                                                      \
                        for (int64_t j = 0; j < w; ++j) {                                      \
                            int64_t j0 = j > 0 ? j - 1 : 0, j1 = j + 1 < w ? j + 1 : w - 1;    \
                            float inv = 1.0f / (float)((i1 - i0 + 1) * (j1 - j0 + 1));         \
                            const float *a = col + j0 * c, *m = col + (j0 + 1) * c;            \
                            const float *z = col + j1 * c;                                     \
                            float *dst = y + j * c;                                            \
                            if (j1 - j0 == 2) {                                                \
                                for (int64_t k = 0; k < c; ++k)                                \
                                    dst[k] = ((a[k] + m[k]) + z[k]) * inv;                     \
                            } else if (j1 > j0) {                                              \
                                for (int64_t k = 0; k < c; ++k)                                \
                                    dst[k] = (a[k] + z[k]) * inv;                              \
                            } else {                                                           \
                                for (int64_t k = 0; k < c; ++k)                                \
                                    dst[k] = a[k] * inv;                                       \
                            }                                                                  \
                        }                                                                      \
                    } else {                                                                   \
                        const T *row = x + offset;                                             \
                        for (int64_t e = 0; e < wc; ++e) y[e] = LOAD(row[e]);                  \
                    }                                                                          \
                    if (p == 0) {                                                              \
                        for (int64_t e = 0; e < wc; ++e) acc[e] = y[e];                        \
                    } else {                                                                   \
                        for (int64_t e = 0; e < wc; ++e) acc[e] += y[e];                       \
                    }                                                                          \
                }                                                                              \
                T *out = node == NULL ? row_out : node + offset;                               \
                for (int64_t e = 0; e < wc; ++e) out[e] = STORE(acc[e]);                       \
                if (relu != NULL)                                                              \
                    naswot_relu_codes_##T((const T *)out, relu + offset, codes + offset, wc);  \
            }                                                                                  \
        }                                                                                      \
        free(acc);                                                                             \
        free(row_out);                                                                         \
        return 0;                                                                              \
    }

/* Max pooling of NAS-Bench-101 (exact: a max does not round). `k` = 3: 3x3 window, stride 1,
 * padding 1 (PyTorch pads with -inf, i.e. windows are clipped at the border); `k` = 2: 2x2
 * window, stride 2, ceil_mode (the last window of an odd size is clipped). The window max is
 * taken over rows first, then over columns; where a window holds both +0.0 and -0.0 the sign
 * of the zero kept can differ from PyTorch's (both are "not > 0" for the codes, and add alike).
 * A NaN would not pass through as in PyTorch; the scorers refuse non-finite batches, and finite
 * inputs give finite activations. Returns 0, or -1 without memory. */
#define DEFINE_MAX_POOL(T, LOAD, STORE)                                                        \
    int naswot_max_pool_##T(const T *restrict x, T *restrict out, int64_t n, int64_t h,        \
                            int64_t w, int64_t c, int64_t k) {                                 \
        int64_t ho = k == 3 ? h : (h + 1) / 2, wo = k == 3 ? w : (w + 1) / 2, wc = w * c;      \
        float *col = malloc((size_t)wc * sizeof(float));                                       \
        if (col == NULL) return -1;                                                            \
        for (int64_t b = 0; b < n; ++b) {                                                      \
            for (int64_t i = 0; i < ho; ++i) {                                                 \
                int64_t i0 = k == 3 ? (i > 0 ? i - 1 : 0) : 2 * i;                             \
                int64_t i1 = k == 3 ? i + 1 : 2 * i + 1;                                       \
                if (i1 > h - 1) i1 = h - 1;                                                    \
                const T *first = x + (b * h + i0) * wc;                                        \
                for (int64_t e = 0; e < wc; ++e) col[e] = LOAD(first[e]);                      \
                for (int64_t ii = i0 + 1; ii <= i1; ++ii) {                                    \
                    const T *src = x + (b * h + ii) * wc;                                      \
                    for (int64_t e = 0; e < wc; ++e) {                                         \
                        float v = LOAD(src[e]);                                                \
                        col[e] = v > col[e] ? v : col[e];                                      \
                    }                                                                          \
                }                                                                              \
                T *dst = out + (b * ho + i) * wo * c;                                          \
                for (int64_t j = 0; j < wo; ++j) {                                             \
                    int64_t j0 = k == 3 ? (j > 0 ? j - 1 : 0) : 2 * j;                         \
                    int64_t j1 = k == 3 ? j + 1 : 2 * j + 1;                                   \
                    if (j1 > w - 1) j1 = w - 1;                                                \
                    const float *a = col + j0 * c;                                             \
                    T *o = dst + j * c;                                                        \
                    if (j1 == j0) {                                                            \
                        for (int64_t q = 0; q < c; ++q) o[q] = STORE(a[q]);                    \
                    } else if (j1 == j0 + 1) {                                                 \
                        const float *m = a + c;                                                \
                        for (int64_t q = 0; q < c; ++q) o[q] = STORE(m[q] > a[q] ? m[q] : a[q]);\
                    } else {                                                                   \
                        const float *m = a + c, *z = a + 2 * c;                                \
                        for (int64_t q = 0; q < c; ++q) {                                      \
                            float v = m[q] > a[q] ? m[q] : a[q];                               \
                            o[q] = STORE(z[q] > v ? z[q] : v);                                 \
                        }                                                                      \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        free(col);                                                                             \
        return 0;                                                                              \
    }

DEFINE_STATS(float, f32_to_f)
DEFINE_STATS(b16, b16_to_f)
DEFINE_BN(float, f32_to_f, f_to_f32)
DEFINE_BN(b16, b16_to_f, f_to_b16)
DEFINE_BN_RELU_CODES(float, f32_to_f, f_to_f32, int32_t)
DEFINE_BN_RELU_CODES(b16, b16_to_f, f_to_b16, int16_t)
DEFINE_BN_CODES(float, f32_to_f, f_to_f32, int32_t)
DEFINE_BN_CODES(b16, b16_to_f, f_to_b16, int16_t)
DEFINE_RELU_CODES(float, int32_t)
DEFINE_RELU_CODES(b16, int16_t)
DEFINE_NODE(float, f32_to_f, f_to_f32, int32_t)
DEFINE_NODE(b16, b16_to_f, f_to_b16, int16_t)
DEFINE_MAX_POOL(float, f32_to_f, f_to_f32)
DEFINE_MAX_POOL(b16, b16_to_f, f_to_b16)

/* The Gram matrix G = c c^T (int64, b x b) of b rows of n one-byte 0/1 codes (nonzero counts as
 * 1): each row is packed into 64-bit words (one AVX-512 byte test per 64 codes), and
 * G[i][j] = sum over words of popcount(a_i & a_j), each pair once. Exact integers, as the int8
 * matrix product: several times faster where there is no AMX, 1.3-1.6x faster than AMX's for
 * rows of 2k-128k codes (the caller picks, naswot.fast._native). Only compiled in with AVX-512
 * BW and VPOPCNTDQ (naswot_gram_available says whether); elsewhere the int8 product serves.
 * Returns 0, -1 without memory, -2 when not compiled in. */
int naswot_gram_available(void) { return NASWOT_POPCOUNT_GRAM; }

int naswot_gram(const uint8_t *restrict codes, int64_t b, int64_t n, int64_t *restrict gram) {
#if NASWOT_POPCOUNT_GRAM
    int64_t words = (n + 63) / 64;
    int64_t stride = (words + 7) / 8 * 8; /* whole 512-bit vectors per row, zero-padded */
    uint64_t *bits = aligned_alloc(64, (size_t)(b * stride) * sizeof(uint64_t));
    if (bits == NULL) return -1;
    for (int64_t i = 0; i < b; ++i) {
        const uint8_t *row = codes + i * n;
        uint64_t *out = bits + i * stride;
        int64_t w = 0;
        for (; w * 64 + 64 <= n; ++w) {
            __m512i v = _mm512_loadu_si512((const void *)(row + w * 64));
            out[w] = (uint64_t)_mm512_test_epi8_mask(v, v);
        }
        for (; w < words; ++w) { /* the last, partial word */
            uint64_t m = 0;
            for (int64_t k = w * 64; k < n; ++k) m |= (uint64_t)(row[k] != 0) << (k - w * 64);
            out[w] = m;
        }
        for (; w < stride; ++w) out[w] = 0;
    }
    for (int64_t i = 0; i < b; ++i) {
        const uint64_t *x = bits + i * stride;
        for (int64_t j = i; j < b; ++j) {
            const uint64_t *y = bits + j * stride;
            __m512i acc = _mm512_setzero_si512();
            for (int64_t w = 0; w < stride; w += 8) {
                __m512i both = _mm512_and_si512(_mm512_load_si512((const void *)(x + w)),
                                                _mm512_load_si512((const void *)(y + w)));
                acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(both));
            }
            int64_t total = _mm512_reduce_add_epi64(acc);
            gram[i * b + j] = total;
            gram[j * b + i] = total;
        }
    }
    free(bits);
    return 0;
#else
    (void)codes;
    (void)b;
    (void)n;
    (void)gram;
    return -2;
#endif
}
