/* Depthwise kernels for AVX2 + FMA (ymm, 8 floats); called only when the CPU has avx2 and fma. */
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "depthwise.h"

#define VL 8
#define INLINE static inline __attribute__((always_inline))

static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The first n lanes set (none for n <= 0, all for n >= VL); AVX2's masked loads and stores read each lane's
 * sign bit. */
static inline __m256i lanes(int64_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Plain loads for whole vectors; masked ones, which never touch the lanes left out, for the channel tail.
 * `full` is a constant at every call, so each kernel is compiled twice, once without any masking. */
INLINE __m256 load(const float *p, bool full, __m256i m)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

INLINE void store(float *p, __m256 v, bool full, __m256i m)
{
    if (full)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, m, v);
}

/* One NWC output position, its taps clamped to the input: the edges and the leftovers of the interior. */
INLINE void nwc_one(const c1_dw_geom *g, const float *xn, const float *wc, __m256 b, float *yo, int64_t o,
                    bool full, __m256i m)
{
    const int64_t C = g->in_channels, step = g->dilation * C;
    int64_t r0, r1;
    c1_dw_taps(g, o, &r0, &r1);
    const float *xp = xn + (o * g->stride - g->pad_left + r0 * g->dilation) * C;
    /* Even and odd taps in two chains, so a long kernel is not one chain of dependent FMAs. */
    __m256 acc = b, odd = _mm256_setzero_ps();
    int64_t r = r0;
    for (; r + 2 <= r1; r += 2, xp += 2 * step) {
        acc = _mm256_fmadd_ps(load(xp, full, m), load(wc + r * C, full, m), acc);
        odd = _mm256_fmadd_ps(load(xp + step, full, m), load(wc + (r + 1) * C, full, m), odd);
    }
    if (r < r1) acc = _mm256_fmadd_ps(load(xp, full, m), load(wc + r * C, full, m), acc);
    store(yo, _mm256_add_ps(acc, odd), full, m);
}

/* Eight output positions of one vector of channels, all taps inside the input (xp, wc, yo at that vector). Eight
 * positions share each tap's weight load, and eight independent chains hide the FMA latency. */
INLINE void nwc_eight(const c1_dw_geom *g, const float *xp, const float *wc, __m256 b, float *yo, bool full,
                      __m256i m)
{
    const int64_t C = g->in_channels, step = g->dilation * C, sc = g->stride * C;
    __m256 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
    for (int64_t r = 0; r < g->kernel_size; r++, xp += step) {
        const __m256 wv = load(wc + r * C, full, m);
        a0 = _mm256_fmadd_ps(load(xp, full, m), wv, a0);
        a1 = _mm256_fmadd_ps(load(xp + sc, full, m), wv, a1);
        a2 = _mm256_fmadd_ps(load(xp + 2 * sc, full, m), wv, a2);
        a3 = _mm256_fmadd_ps(load(xp + 3 * sc, full, m), wv, a3);
        a4 = _mm256_fmadd_ps(load(xp + 4 * sc, full, m), wv, a4);
        a5 = _mm256_fmadd_ps(load(xp + 5 * sc, full, m), wv, a5);
        a6 = _mm256_fmadd_ps(load(xp + 6 * sc, full, m), wv, a6);
        a7 = _mm256_fmadd_ps(load(xp + 7 * sc, full, m), wv, a7);
    }
    store(yo, a0, full, m);
    store(yo + C, a1, full, m);
    store(yo + 2 * C, a2, full, m);
    store(yo + 3 * C, a3, full, m);
    store(yo + 4 * C, a4, full, m);
    store(yo + 5 * C, a5, full, m);
    store(yo + 6 * C, a6, full, m);
    store(yo + 7 * C, a7, full, m);
}

/* Six positions for stride 1 and dilation 1, where position p at tap r reads input row p + r: the six rows of
 * one tap are the previous tap's shifted by one, so each tap loads one new row and its weights for six FMAs.
 * Six, not eight: six accumulators and a window of six rows fit the sixteen ymm registers. */
INLINE void nwc_six_slide(const c1_dw_geom *g, const float *xp, const float *wc, __m256 b, float *yo, bool full,
                          __m256i m)
{
    const int64_t C = g->in_channels;
    __m256 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b;
    __m256 x0 = load(xp, full, m), x1 = load(xp + C, full, m), x2 = load(xp + 2 * C, full, m);
    __m256 x3 = load(xp + 3 * C, full, m), x4 = load(xp + 4 * C, full, m);
    xp += 5 * C;
    for (int64_t r = 0; r < g->kernel_size; r++, xp += C) {
        const __m256 x5 = load(xp, full, m), wv = load(wc + r * C, full, m);
        a0 = _mm256_fmadd_ps(x0, wv, a0);
        a1 = _mm256_fmadd_ps(x1, wv, a1);
        a2 = _mm256_fmadd_ps(x2, wv, a2);
        a3 = _mm256_fmadd_ps(x3, wv, a3);
        a4 = _mm256_fmadd_ps(x4, wv, a4);
        a5 = _mm256_fmadd_ps(x5, wv, a5);
        x0 = x1;
        x1 = x2;
        x2 = x3;
        x3 = x4;
        x4 = x5;
    }
    store(yo, a0, full, m);
    store(yo + C, a1, full, m);
    store(yo + 2 * C, a2, full, m);
    store(yo + 3 * C, a3, full, m);
    store(yo + 4 * C, a4, full, m);
    store(yo + 5 * C, a5, full, m);
}

/* One output position over channels [c0, c1), taps clamped: the edges and the leftovers of the interior. */
INLINE void nwc_row(const c1_dw_geom *g, const float *xn, const float *w, const float *bias, float *yo, int64_t o,
                    int64_t c0, int64_t c1, __m256i tail)
{
    const __m256i all = _mm256_set1_epi32(-1);
    int64_t c = c0;
    for (; c + VL <= c1; c += VL) nwc_one(g, xn + c, w + c, _mm256_loadu_ps(bias + c), yo + c, o, true, all);
    if (c < c1) nwc_one(g, xn + c, w + c, _mm256_maskload_ps(bias + c, tail), yo + c, o, false, tail);
}

/* Positions outermost, channels innermost: each input row is read as one contiguous run of the block's
 * channels. Sweeping positions one vector of channels at a time would instead touch a single cache line
 * per row at a stride of C floats, which for large power-of-two-ish C lands every row in the same few L1
 * sets. */
void c1_dw_nwc_avx2(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y, int64_t n,
                    int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    const int64_t C = g->in_channels;
    const float *xn = x + n * g->length * C;
    float *yn = y + n * g->out_length * C;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    const int64_t cfull = c0 + (c1 - c0) / VL * VL;
    const __m256i all = _mm256_set1_epi32(-1), tail = lanes(c1 - cfull);
    int64_t o = o0;
    for (; o < f0; o++) nwc_row(g, xn, w, bias, yn + o * C, o, c0, c1, tail);
    if (g->stride == 1 && g->dilation == 1)
        for (; o + 6 <= f1; o += 6) {
            const float *xo = xn + (o - g->pad_left) * C;
            float *yo = yn + o * C;
            const bool ahead = o + 12 <= f1; /* the next six positions are interior too */
            for (int64_t c = c0; c < cfull; c += VL) {
                if (ahead) c1_dw_prefetch_next(xo, c, C, g->kernel_size, 6, sizeof *xo);
                nwc_six_slide(g, xo + c, w + c, _mm256_loadu_ps(bias + c), yo + c, true, all);
            }
            if (cfull < c1)
                nwc_six_slide(g, xo + cfull, w + cfull, _mm256_maskload_ps(bias + cfull, tail), yo + cfull, false,
                              tail);
        }
    else
        for (; o + 8 <= f1; o += 8) {
            const float *xo = xn + (o * g->stride - g->pad_left) * C;
            float *yo = yn + o * C;
            for (int64_t c = c0; c < cfull; c += VL)
                nwc_eight(g, xo + c, w + c, _mm256_loadu_ps(bias + c), yo + c, true, all);
            if (cfull < c1)
                nwc_eight(g, xo + cfull, w + cfull, _mm256_maskload_ps(bias + cfull, tail), yo + cfull, false, tail);
        }
    for (; o < o1; o++) nwc_row(g, xn, w, bias, yn + o * C, o, c0, c1, tail);
}

/* ---- NWC with a channel multiplier M > 1 (first layers: 1 -> 32, 1 -> 512) ----
 *
 * As in depthwise_avx512.c: output channel k reads input channel k / M, so the vector of output channels
 * [k, k + 8) reads the input channels [k / M, (k + 7) / M]. When M is a multiple of 8 the vector (8-aligned, as
 * every channel block is) reads one channel, a broadcast; otherwise one load of the channels it spans and a
 * permute that spreads them over the lanes. */
typedef struct mult_src {
    int64_t c;    /* the vector's first input channel, k / M */
    __m256i idx;  /* lane j: (k + j) / M - c */
    __m256i load; /* the input channels from c on that exist (at most 8) */
} mult_src;

static inline mult_src mult_source(int64_t k, int64_t M, int64_t C)
{
    int32_t idx[VL];
    const int64_t c = c1_dw_mult_lanes(k, M, VL, idx);
    return (mult_src){.c = c, .idx = _mm256_loadu_si256((const __m256i *)idx), .load = lanes(C - c)};
}

/* Input row xr (at channel 0) spread over the vector's lanes; one: the vector reads one channel. */
INLINE __m256 expand(const float *xr, const mult_src *s, bool one)
{
    return one ? _mm256_broadcast_ss(xr + s->c)
               : _mm256_permutevar8x32_ps(_mm256_maskload_ps(xr + s->c, s->load), s->idx);
}

/* Two vectors of output channels from k (the second may be empty: m1 none, s1 == s0): sources, lanes, bias. */
typedef struct mult_pair {
    int64_t k;
    mult_src s0, s1;
    __m256 b0, b1;
    __m256i m0, m1;
    bool shared; /* both read one input channel */
    bool full;   /* both vectors whole */
} mult_pair;

/* Four output positions by a pair, all taps inside the input: eight accumulators, two weight vectors and two
 * expanded inputs fit the sixteen ymm registers. xr is the first position's tap-0 input row (channel 0), rs the
 * step between positions' rows (stride * C floats), ts between taps (dilation * C); tap r's weights at
 * w + k + r*K, output rows K floats apart from yo (at channel k). */
INLINE void mult_four(const float *xr, int64_t rs, int64_t ts, const mult_pair *p, const float *w, int64_t K,
                      int64_t R, float *yo, bool one, bool shared, bool full)
{
    const float *wk = w + p->k;
    __m256 a00 = p->b0, a01 = p->b1, a10 = p->b0, a11 = p->b1, a20 = p->b0, a21 = p->b1, a30 = p->b0, a31 = p->b1;
    for (int64_t r = 0; r < R; r++, xr += ts) {
        const __m256 w0 = load(wk + r * K, full, p->m0), w1 = load(wk + r * K + VL, full, p->m1);
#define MULT_ROW(i, a0, a1)                                                                                            \
    do {                                                                                                               \
        const __m256 e0 = expand(xr + (i) * rs, &p->s0, one);                                                          \
        const __m256 e1 = shared ? e0 : expand(xr + (i) * rs, &p->s1, one);                                            \
        a0 = _mm256_fmadd_ps(e0, w0, a0);                                                                              \
        a1 = _mm256_fmadd_ps(e1, w1, a1);                                                                              \
    } while (0)
        MULT_ROW(0, a00, a01);
        MULT_ROW(1, a10, a11);
        MULT_ROW(2, a20, a21);
        MULT_ROW(3, a30, a31);
#undef MULT_ROW
    }
    store(yo, a00, full, p->m0);
    store(yo + VL, a01, full, p->m1);
    store(yo + K, a10, full, p->m0);
    store(yo + K + VL, a11, full, p->m1);
    store(yo + 2 * K, a20, full, p->m0);
    store(yo + 2 * K + VL, a21, full, p->m1);
    store(yo + 3 * K, a30, full, p->m0);
    store(yo + 3 * K + VL, a31, full, p->m1);
}

/* One output position (its taps clamped to the input) by a pair: the edges and the leftovers. */
static void mult_one(const c1_dw_geom *g, const float *xn, const mult_pair *p, const float *w, float *yo, int64_t o)
{
    const int64_t C = g->in_channels, K = g->out_channels, ts = g->dilation * C;
    const float *wk = w + p->k;
    int64_t r0, r1;
    c1_dw_taps(g, o, &r0, &r1);
    const float *xr = xn + (o * g->stride - g->pad_left + r0 * g->dilation) * C;
    __m256 a0 = p->b0, a1 = p->b1;
    for (int64_t r = r0; r < r1; r++, xr += ts) {
        a0 = _mm256_fmadd_ps(expand(xr, &p->s0, false), _mm256_maskload_ps(wk + r * K, p->m0), a0);
        a1 = _mm256_fmadd_ps(expand(xr, &p->s1, false), _mm256_maskload_ps(wk + r * K + VL, p->m1), a1);
    }
    _mm256_maskstore_ps(yo, p->m0, a0);
    _mm256_maskstore_ps(yo + VL, p->m1, a1);
}

/* The register form for AVX2 (depthwise_avx512.c's mult_rows_reg, with sixteen registers): when every vector of
 * output channels reads one input channel (M a multiple of 8) and the taps are at most C1_DW_MULT_REG_TAPS, a pair
 * of vectors (16 channels) goes over all of a block's rows, P rows a step with the taps unrolled (R a constant): per
 * tap two weight loads shared by the P rows, one broadcast per row (two when the vectors read different channels),
 * 2P FMAs into 2P accumulators. Holding the R weights in registers instead, as the AVX-512 form does, leaves room
 * for four accumulators at 10 taps, four chains of dependent FMAs: wav2vec2's first layer (1 -> 512, k 10, s 5) ran
 * at 0.47-0.60 ms in cache on one thread against 0.37 for six rows by a pair (86% of the core's FMA peak). P is 6
 * (12 accumulators) for a shared broadcast, 5 with two, 8 for a single vector (the last of a block when K / 8 is
 * odd). xc is the first row's tap-0 input at the channel read, rs the step between rows' inputs (stride * C
 * floats), ts between taps (dilation * C); xd the second vector's channel minus the first's; n steps from yo, rows
 * K floats apart. */
INLINE void mult_rows_reg(const float *xc, int64_t xd, int64_t rs, int64_t ts, const float *wk, int64_t K, __m256 b0,
                          __m256 b1, float *yo, int64_t n, const int R, const int P, const int NV, const bool shared,
                          const bool stream)
{
    for (int64_t q = 0; q < n; q++, xc += P * rs, yo += P * K) {
        __m256 a[8][2];
        /* Each row's inputs from a pointer of its own, so that with ts 1 every tap is a displacement of it (the
         * empty asm hides how the rows relate; gcc would otherwise keep the R*P offsets on the stack). */
        const float *xi[8];
#pragma GCC unroll 8
        for (int i = 0; i < P; i++) {
            a[i][0] = b0;
            a[i][1] = b1;
            xi[i] = xc + i * rs;
            __asm__("" : "+r"(xi[i]));
        }
#pragma GCC unroll 10
        for (int r = 0; r < R; r++) {
            const __m256 w0 = _mm256_loadu_ps(wk + r * K), w1 = NV == 2 ? _mm256_loadu_ps(wk + r * K + VL) : w0;
#pragma GCC unroll 8
            for (int i = 0; i < P; i++) {
                const __m256 e0 = _mm256_broadcast_ss(xi[i] + r * ts);
                a[i][0] = _mm256_fmadd_ps(e0, w0, a[i][0]);
                if (NV == 2) {
                    const __m256 e1 = shared ? e0 : _mm256_broadcast_ss(xi[i] + r * ts + xd);
                    a[i][1] = _mm256_fmadd_ps(e1, w1, a[i][1]);
                }
            }
        }
#pragma GCC unroll 8
        for (int i = 0; i < P; i++) {
            if (stream) { /* one whole cache line per row (c1_dw_nwc_mult_stream_avx2) */
                _mm256_stream_ps(yo + i * K, a[i][0]);
                _mm256_stream_ps(yo + i * K + VL, a[i][1]);
            } else {
                _mm256_storeu_ps(yo + i * K, a[i][0]);
                if (NV == 2) _mm256_storeu_ps(yo + i * K + VL, a[i][1]);
            }
        }
    }
}

/* Rows [0, rows) from yo: whole steps of P rows, then single rows, R a constant. */
INLINE void mult_rows_reg_all(const float *xc, int64_t xd, int64_t rs, int64_t ts, const float *wk, int64_t K,
                              __m256 b0, __m256 b1, float *yo, int64_t rows, const int R, const int NV,
                              const bool shared, const bool stream)
{
    const int P = NV == 1 ? 8 : shared ? 6 : 5;
    const int64_t n = rows / P;
    mult_rows_reg(xc, xd, rs, ts, wk, K, b0, b1, yo, n, R, P, NV, shared, stream);
    mult_rows_reg(xc + n * P * rs, xd, rs, ts, wk, K, b0, b1, yo + n * P * K, rows - n * P, R, 1, NV, shared, stream);
}

/* The tap count, whether the taps are one float apart (one input channel, dilation 1: the first layers), the vectors
 * (NV), their sharing and the streaming stores (whole pairs only) as constants. */
static void mult_rows_reg_taps(const float *xc, int64_t xd, int64_t rs, int64_t ts, const float *wk, int64_t K,
                               __m256 b0, __m256 b1, float *yo, int64_t rows, int64_t R, int NV, bool shared,
                               bool stream)
{
#define MULT_ROWS_TS(t, nv, sh, st)                                                                                    \
    do {                                                                                                               \
        if (ts == 1)                                                                                                   \
            mult_rows_reg_all(xc, xd, rs, 1, wk, K, b0, b1, yo, rows, t, nv, sh, st);                                  \
        else                                                                                                           \
            mult_rows_reg_all(xc, xd, rs, ts, wk, K, b0, b1, yo, rows, t, nv, sh, st);                                 \
    } while (0)
#define MULT_ROWS_R(t)                                                                                                 \
    case t:                                                                                                            \
        if (NV == 1)                                                                                                   \
            MULT_ROWS_TS(t, 1, true, false);                                                                           \
        else if (shared && stream)                                                                                     \
            MULT_ROWS_TS(t, 2, true, true);                                                                            \
        else if (shared)                                                                                               \
            MULT_ROWS_TS(t, 2, true, false);                                                                           \
        else if (stream)                                                                                               \
            MULT_ROWS_TS(t, 2, false, true);                                                                           \
        else                                                                                                           \
            MULT_ROWS_TS(t, 2, false, false);                                                                          \
        return;
    switch (R) {
        MULT_ROWS_R(1) MULT_ROWS_R(2) MULT_ROWS_R(3) MULT_ROWS_R(4) MULT_ROWS_R(5) MULT_ROWS_R(6) MULT_ROWS_R(7)
        MULT_ROWS_R(8) MULT_ROWS_R(9) MULT_ROWS_R(10)
    }
#undef MULT_ROWS_R
#undef MULT_ROWS_TS
}

/* One output position (its taps clamped to the input) of one vector that reads input channel c. */
static void mult_one_reg(const c1_dw_geom *g, const float *xn, int64_t c, const float *wk, __m256 b, float *yo,
                         int64_t o)
{
    const int64_t C = g->in_channels, K = g->out_channels, ts = g->dilation * C;
    int64_t r0, r1;
    c1_dw_taps(g, o, &r0, &r1);
    const float *xr = xn + (o * g->stride - g->pad_left + r0 * g->dilation) * C + c;
    for (int64_t r = r0; r < r1; r++, xr += ts)
        b = _mm256_fmadd_ps(_mm256_broadcast_ss(xr), _mm256_loadu_ps(wk + r * K), b);
    _mm256_storeu_ps(yo, b);
}

/* The register form over channels [c0, c1) and positions [o0, o1): pairs of vectors outermost, each over the rows
 * (every vector whole, as K = C*M; the last may be single), the edges a position at a time. */
static void nwc_mult_reg(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y, int64_t n,
                         int64_t o0, int64_t o1, int64_t c0, int64_t c1, bool stream)
{
    const int64_t C = g->in_channels, K = g->out_channels, M = g->mult, R = g->kernel_size;
    const int64_t rs = g->stride * C, ts = g->dilation * C;
    const float *xn = x + n * g->length * C;
    float *yn = y + n * g->out_length * K;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    for (int64_t k = c0; k < c1; k += 2 * VL) {
        const int NV = k + 2 * VL <= c1 ? 2 : 1;
        const int64_t c = k / M, xd = NV == 2 ? (k + VL) / M - c : 0;
        const float *wk = w + k;
        const __m256 b0 = _mm256_loadu_ps(bias + k), b1 = NV == 2 ? _mm256_loadu_ps(bias + k + VL) : b0;
        for (int64_t o = o0; o < f0; o++)
            for (int v = 0; v < NV; v++)
                mult_one_reg(g, xn, c + v * xd, wk + v * VL, v ? b1 : b0, yn + o * K + k + v * VL, o);
        mult_rows_reg_taps(xn + (f0 * g->stride - g->pad_left) * C + c, xd, rs, ts, wk, K, b0, b1, yn + f0 * K + k,
                           f1 - f0, R, NV, xd == 0, stream);
        for (int64_t o = f1; o < o1; o++)
            for (int v = 0; v < NV; v++)
                mult_one_reg(g, xn, c + v * xd, wk + v * VL, v ? b1 : b0, yn + o * K + k + v * VL, o);
    }
}

/* Streaming stores where every row of a pair is one whole cache line: y 64-byte aligned and K a multiple of 16 (the
 * variant's supports() asks for that K, the register form's multiplier and taps); otherwise plain stores. The stores
 * are weakly ordered: fenced before the work item ends, ahead of the team's barrier. */
void c1_dw_nwc_mult_stream_avx2(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y,
                                int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    const bool stream = (uintptr_t)y % 64 == 0 && g->out_channels % (2 * VL) == 0;
    nwc_mult_reg(g, x, w, bias, y, n, o0, o1, c0, c1, stream);
    if (stream) _mm_sfence();
}

/* C1_DW_NWC_MULT_CHANNELS output channels (pairs of vectors) at a time, their sources worked out once; positions
 * outermost in groups of four, then the pairs, so the output is written row by row. */
void c1_dw_nwc_mult_avx2(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y,
                         int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    const int64_t C = g->in_channels, K = g->out_channels, M = g->mult, R = g->kernel_size;
    const int64_t rs = g->stride * C, ts = g->dilation * C;
    const float *xn = x + n * g->length * C;
    float *yn = y + n * g->out_length * K;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    const bool one = M % VL == 0;
    if (one && R <= C1_DW_MULT_REG_TAPS) {
        nwc_mult_reg(g, x, w, bias, y, n, o0, o1, c0, c1, false);
        return;
    }
    mult_pair pairs[C1_DW_NWC_MULT_CHANNELS / (2 * VL)];
    for (int64_t cc = c0; cc < c1; cc += C1_DW_NWC_MULT_CHANNELS) {
        int np = 0;
        for (int64_t k = cc; k < c1 && k < cc + C1_DW_NWC_MULT_CHANNELS; k += 2 * VL, np++) {
            mult_pair *p = &pairs[np];
            p->k = k;
            p->m0 = lanes(c1 - k);
            p->m1 = lanes(c1 - k - VL);
            p->s0 = mult_source(k, M, C);
            p->s1 = k + VL < c1 ? mult_source(k + VL, M, C) : p->s0;
            p->shared = one && p->s0.c == p->s1.c;
            p->full = k + 2 * VL <= c1;
            p->b0 = _mm256_maskload_ps(bias + k, p->m0);
            p->b1 = _mm256_maskload_ps(bias + k + VL, p->m1);
        }
        for (int64_t o = o0; o < o1;) {
            const bool four = o >= f0 && o + 4 <= f1;
            const float *xr = xn + (o * g->stride - g->pad_left) * C; /* row of tap 0, used only when four */
            for (int i = 0; i < np; i++) {
                const mult_pair *p = &pairs[i];
                float *yo = yn + o * K + p->k;
                if (!four)
                    mult_one(g, xn, p, w, yo, o);
                else if (p->shared && p->full)
                    mult_four(xr, rs, ts, p, w, K, R, yo, true, true, true);
                else if (p->shared)
                    mult_four(xr, rs, ts, p, w, K, R, yo, true, true, false);
                else if (one && p->full)
                    mult_four(xr, rs, ts, p, w, K, R, yo, true, false, true);
                else if (one)
                    mult_four(xr, rs, ts, p, w, K, R, yo, true, false, false);
                else if (p->full)
                    mult_four(xr, rs, ts, p, w, K, R, yo, false, false, true);
                else
                    mult_four(xr, rs, ts, p, w, K, R, yo, false, false, false);
            }
            o += four ? 4 : 1;
        }
    }
}

/* n (1..8) outputs at stride 2 from x[0], x[2], ..., x[2n-2]. The second load starts at x[7] so that a whole
 * vector reads nothing past x[14]; the shuffle keeps x[0,2,8,10 | 4,6,12,14] and the lane permute puts them in
 * order. Partial vectors mask their loads. */
INLINE __m256 load_even(const float *x, int64_t n, bool full)
{
    __m256 lo, hi;
    if (full) {
        lo = _mm256_loadu_ps(x);
        hi = _mm256_loadu_ps(x + 7);
    } else {
        const int64_t need = 2 * n - 1;
        lo = _mm256_maskload_ps(x, lanes(need < VL ? need : VL));
        hi = _mm256_maskload_ps(x + 7, lanes(need > 7 ? need - 7 : 0));
    }
    const __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* NCW at stride 2: as stride 1, each vector of inputs assembled from two loads by shuffles (no gathers). */
static void ncw_stride2(const c1_dw_geom *g, const float *x, const float *w, float b, float *y, int64_t o0,
                        int64_t o1)
{
    const int64_t R = g->kernel_size, D = g->dilation;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    const __m256 bv = _mm256_set1_ps(b);
    c1_dw_ncw_row_taps(g, x, w, b, y, o0, f0);
    int64_t o = f0;
    for (; o + 4 * VL <= f1; o += 4 * VL) {
        __m256 a0 = bv, a1 = bv, a2 = bv, a3 = bv;
        const float *xp = x + 2 * o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D) {
            const __m256 wv = _mm256_broadcast_ss(w + r);
            a0 = _mm256_fmadd_ps(load_even(xp, VL, true), wv, a0);
            a1 = _mm256_fmadd_ps(load_even(xp + 2 * VL, VL, true), wv, a1);
            a2 = _mm256_fmadd_ps(load_even(xp + 4 * VL, VL, true), wv, a2);
            a3 = _mm256_fmadd_ps(load_even(xp + 6 * VL, VL, true), wv, a3);
        }
        _mm256_storeu_ps(y + o, a0);
        _mm256_storeu_ps(y + o + VL, a1);
        _mm256_storeu_ps(y + o + 2 * VL, a2);
        _mm256_storeu_ps(y + o + 3 * VL, a3);
    }
    for (; o + VL <= f1; o += VL) {
        __m256 acc = bv;
        const float *xp = x + 2 * o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D)
            acc = _mm256_fmadd_ps(load_even(xp, VL, true), _mm256_broadcast_ss(w + r), acc);
        _mm256_storeu_ps(y + o, acc);
    }
    if (o < f1) {
        const int64_t n = f1 - o;
        __m256 acc = bv;
        const float *xp = x + 2 * o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D)
            acc = _mm256_fmadd_ps(load_even(xp, n, false), _mm256_broadcast_ss(w + r), acc);
        _mm256_maskstore_ps(y + o, lanes(n), acc);
    }
    c1_dw_ncw_row_taps(g, x, w, b, y, f1, o1);
}

void c1_dw_ncw_avx2(const c1_dw_geom *g, const float *x, const float *w, float b, float *y, int64_t o0, int64_t o1)
{
    if (g->stride == 2) {
        ncw_stride2(g, x, w, b, y, o0, o1);
        return;
    }
    if (g->stride != 1) {
        c1_dw_ncw_row_taps(g, x, w, b, y, o0, o1);
        return;
    }
    const int64_t R = g->kernel_size, D = g->dilation;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    const __m256 bv = _mm256_set1_ps(b);
    c1_dw_ncw_row_taps(g, x, w, b, y, o0, f0);
    int64_t o = f0;
    /* 64 outputs per pass: each broadcast tap feeds eight vectors (unaligned loads at o + r*D). */
    for (; o + 8 * VL <= f1; o += 8 * VL) {
        __m256 a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv;
        const float *xp = x + o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D) {
            const __m256 wv = _mm256_broadcast_ss(w + r);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xp), wv, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + VL), wv, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 2 * VL), wv, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 3 * VL), wv, a3);
            a4 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 4 * VL), wv, a4);
            a5 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 5 * VL), wv, a5);
            a6 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 6 * VL), wv, a6);
            a7 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 7 * VL), wv, a7);
        }
        _mm256_storeu_ps(y + o, a0);
        _mm256_storeu_ps(y + o + VL, a1);
        _mm256_storeu_ps(y + o + 2 * VL, a2);
        _mm256_storeu_ps(y + o + 3 * VL, a3);
        _mm256_storeu_ps(y + o + 4 * VL, a4);
        _mm256_storeu_ps(y + o + 5 * VL, a5);
        _mm256_storeu_ps(y + o + 6 * VL, a6);
        _mm256_storeu_ps(y + o + 7 * VL, a7);
    }
    for (; o + VL <= f1; o += VL) {
        __m256 acc = bv;
        const float *xp = x + o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(xp), _mm256_broadcast_ss(w + r), acc);
        _mm256_storeu_ps(y + o, acc);
    }
    /* The last partial vector of the interior; masked lanes load nothing. */
    if (o < f1) {
        const __m256i m = lanes(f1 - o);
        __m256 acc = bv;
        const float *xp = x + o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D)
            acc = _mm256_fmadd_ps(_mm256_maskload_ps(xp, m), _mm256_broadcast_ss(w + r), acc);
        _mm256_maskstore_ps(y + o, m, acc);
    }
    c1_dw_ncw_row_taps(g, x, w, b, y, f1, o1);
}

/* Outputs [o0, o1) of four rows that read the same phase-split input (output channels of one input channel under a
 * channel multiplier): a pass of NV vectors of outputs loads each tap's NV input vectors once for the four rows,
 * 4*NV FMAs into 4*NV accumulators; the last partial vector of the row too, with masked loads and stores (it went
 * through the portable form, which on wav2vec2's first layer over 2000 samples took a fifth of the time). Here the
 * four rows' weights are broadcast once per call into wb (tap r, row j at wb[4r + j]): broadcasting from w in a pass
 * with a loop-invariant address per (row, tap), gcc kept the 4R addresses on the stack. R is a constant up to
 * C1_DW_PHASE_REG_TAPS (the taps unrolled) or 0 (a loop over rt). phase_rows_pass3 below is the main pass at
 * constant tap counts; this one takes the rest. In L2, one thread, wav2vec2's first layer over 2000 samples: 0.068
 * ms before (a loop over the taps, the rest of each row in the portable form), 0.050 after, against 0.045 for the
 * NWC register form. */
#define C1_DW_PHASE_REG_TAPS 10
INLINE void phase_rows_pass(const float *const *tap, const __m256 *wb, int64_t rt, const float *b, float *const *y,
                            int64_t o, const int R, const int NV, const int64_t left)
{
    const __m256i m = lanes(left); /* left < VL: the last partial vector (masked loads and stores), else unused */
    const int64_t RR = R ? R : rt;
    __m256 a[4][3];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) a[j][v] = _mm256_set1_ps(b[j]);
#pragma GCC unroll 10
    for (int64_t r = 0; r < RR; r++) {
        const float *xp = tap[r] + o;
        __m256 xv[3];
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) xv[v] = left < VL ? _mm256_maskload_ps(xp, m) : _mm256_loadu_ps(xp + v * VL);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++) a[j][v] = _mm256_fmadd_ps(xv[v], wb[4 * r + j], a[j][v]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) {
            if (left < VL)
                _mm256_maskstore_ps(y[j] + o, m, a[j][v]);
            else
                _mm256_storeu_ps(y[j] + o + v * VL, a[j][v]);
        }
}

/* The main pass at a constant tap count: three vectors of outputs, each tap's three input vectors in registers for
 * the four rows, each row's weight broadcast from w once for the three, through a pointer per row (so the taps are
 * displacements; the empty asm hides how the rows relate): 12 accumulators, 3 inputs and a weight fill the sixteen
 * registers, 7 loads per 12 FMAs. In L2, one thread, wav2vec2's first layer over 2000 samples: 0.063 ms with two
 * vectors and the broadcast weights from wb (10 loads per 8 FMAs), 0.050 with this, 0.045 for the NWC form. */
INLINE void phase_rows_pass3(const float *const *tap, const float *w, const float *b, float *const *y, int64_t o,
                             const int R, const bool stream)
{
    __m256 a[4][3];
    const float *wj[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        wj[j] = w + j * R;
        __asm__("" : "+r"(wj[j]));
#pragma GCC unroll 3
        for (int v = 0; v < 3; v++) a[j][v] = _mm256_set1_ps(b[j]);
    }
#pragma GCC unroll 10
    for (int r = 0; r < R; r++) {
        const float *xp = tap[r] + o;
        const __m256 x0 = _mm256_loadu_ps(xp), x1 = _mm256_loadu_ps(xp + VL), x2 = _mm256_loadu_ps(xp + 2 * VL);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const __m256 wv = _mm256_broadcast_ss(wj[j] + r);
            a[j][0] = _mm256_fmadd_ps(x0, wv, a[j][0]);
            a[j][1] = _mm256_fmadd_ps(x1, wv, a[j][1]);
            a[j][2] = _mm256_fmadd_ps(x2, wv, a[j][2]);
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
#pragma GCC unroll 3
        for (int v = 0; v < 3; v++) {
            if (stream)
                _mm256_stream_ps(y[j] + o + v * VL, a[j][v]);
            else
                _mm256_storeu_ps(y[j] + o + v * VL, a[j][v]);
        }
}

/* Passes of three vectors at a constant tap count, then of NV vectors from wb, the last partial vector masked. */
INLINE void phase_rows_all(const float *const *tap, const float *w, int64_t rt, const float *b, float *const *y,
                           int64_t o0, int64_t o1, const int R, const int NV)
{
    __m256 wb[4 * C1_DW_PHASE_MAX_TAPS];
    for (int64_t r = 0; r < rt; r++)
        for (int j = 0; j < 4; j++) wb[4 * r + j] = _mm256_broadcast_ss(w + j * rt + r);
    int64_t o = o0;
    if (R)
        for (; o + 3 * VL <= o1; o += 3 * VL) phase_rows_pass3(tap, w, b, y, o, R, false);
    for (; o + NV * VL <= o1; o += NV * VL) phase_rows_pass(tap, wb, rt, b, y, o, R, NV, VL);
    for (; o + VL <= o1; o += VL) phase_rows_pass(tap, wb, rt, b, y, o, R, 1, VL);
    if (o < o1) phase_rows_pass(tap, wb, rt, b, y, o, R, 1, o1 - o);
}

/* Four rows, the tap count a constant up to C1_DW_PHASE_REG_TAPS (passes of three vectors), else passes of two. */
static void phase_four_rows(const float *const *tap, const float *w, int64_t R, const float *b, float *const *y,
                            int64_t o0, int64_t o1)
{
    switch (R) {
#define PHASE_R(t)                                                                                                     \
    case t: phase_rows_all(tap, w, R, b, y, o0, o1, t, 2); return;
        PHASE_R(1) PHASE_R(2) PHASE_R(3) PHASE_R(4) PHASE_R(5) PHASE_R(6) PHASE_R(7) PHASE_R(8) PHASE_R(9) PHASE_R(10)
#undef PHASE_R
    default: phase_rows_all(tap, w, R, b, y, o0, o1, 0, 2); return;
    }
}

void c1_dw_ncw_phase_taps_avx2(const float *const *tap, const float *w, int64_t R, const float *b, float *const *y,
                               int nrows, int64_t o0, int64_t o1)
{
    if (nrows == 4)
        phase_four_rows(tap, w, R, b, y, o0, o1);
    else
        c1_dw_ncw_phase_taps(tap, w, R, b, y, nrows, o0, o1);
}

/* Passes of three vectors with streaming stores over [o0, o1), a whole number of passes from 32-byte aligned rows. */
INLINE void phase_rows_stream(const float *const *tap, const float *w, const float *b, float *const *y, int64_t o0,
                              int64_t o1, const int R)
{
    for (int64_t o = o0; o < o1; o += 3 * VL) phase_rows_pass3(tap, w, b, y, o, R, true);
}

void c1_dw_ncw_phase_taps_stream_avx2(const float *const *tap, const float *w, int64_t R, const float *b,
                                      float *const *y, int nrows, int64_t o0, int64_t o1)
{
    /* Positions before the rows' first 64-byte boundary, then whole passes streamed, then the rest plain. */
    const int64_t head = (int64_t)((64 - (uintptr_t)(y[0] + o0) % 64) % 64 / sizeof(float));
    bool aligned = nrows == 4 && R <= C1_DW_PHASE_REG_TAPS;
    for (int j = 1; j < nrows; j++) aligned = aligned && (uintptr_t)(y[j] + o0) % 64 == (uintptr_t)(y[0] + o0) % 64;
    if (!aligned || o1 - o0 < head + 3 * VL) {
        c1_dw_ncw_phase_taps_avx2(tap, w, R, b, y, nrows, o0, o1);
        return;
    }
    const int64_t s0 = o0 + head, s1 = s0 + (o1 - s0) / (3 * VL) * (3 * VL);
    phase_four_rows(tap, w, R, b, y, o0, s0);
    switch (R) {
#define STREAM_R(t)                                                                                                        case t: phase_rows_stream(tap, w, b, y, s0, s1, t); break;
        STREAM_R(1) STREAM_R(2) STREAM_R(3) STREAM_R(4) STREAM_R(5) STREAM_R(6) STREAM_R(7) STREAM_R(8) STREAM_R(9)
        STREAM_R(10)
#undef STREAM_R
    }
    phase_four_rows(tap, w, R, b, y, s1, o1);
    _mm_sfence();
}

/* ---- Short rows (decode steps: lengths up to C1_DW_SHORT_MAX_LEN in NCW, C1_DW_SHORT_MAX_LEN_NWC in NWC) ----
 *
 * Blocks of eight channels of one batch element, one vector per position: xq[j] (below) holds an input position of
 * the eight channels, yt[o] output position o. In NCW the block's eight rows are 8 * L contiguous floats, brought
 * into that form by 8x8 transposes in registers and taken back out the same way, so no row costs a call, a loop or
 * a clamp of its own. The AVX-512 variant runs this too (its level includes AVX2). Measured on the decode step
 * 64 x 2048 channels x 4 positions, k 4 causal, one thread, against the row kernels: NCW 4.2-12 ms -> 0.34-0.42
 * (copy 0.19-0.24), NWC 0.46-0.52 -> 0.27-0.31 (results/NOTES.md). */

/* r[j] lane i <- r[i] lane j. */
INLINE void transpose8(__m256 r[8])
{
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* The block's input positions as vectors in xq (C1_DW_SHORT_SPAN of them), with the padding as zero vectors: xq[j]
 * holds input position j - pad_left, so output o at tap r reads xq[o*S + r*D] and every output runs every tap (a tap
 * in the padding adds zero), which keeps the loops free of clamps. The zeros are written once per call; each block
 * writes only xq[pad_left, pad_left + L). */

/* Outputs [0, m) from xq (at the first output's window): m accumulators in registers, one weight load per tap. */
INLINE void short_pass(const __m256 *xq, int64_t S, int64_t D, int64_t R, const float *wc, __m256 b, __m256 *yt,
                       const int m)
{
    __m256 a[VL];
#pragma GCC unroll 8
    for (int i = 0; i < m; i++) a[i] = b;
    for (int64_t r = 0; r < R; r++) {
        const __m256 wv = _mm256_loadu_ps(wc + r * VL);
        const __m256 *xr = xq + r * D;
#pragma GCC unroll 8
        for (int i = 0; i < m; i++) a[i] = _mm256_fmadd_ps(xr[i * S], wv, a[i]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < m; i++) yt[i] = a[i];
}

/* yt[o] for o < OL = 8*TO - 8 + M (M 1..8, TO 1..2, both constants): one pass of M outputs, or one of eight and one
 * of M. */
INLINE void short_compute(const c1_dw_geom *g, const __m256 *xq, const float *wc, __m256 b, __m256 *yt, const int M,
                          const int TO)
{
    const int64_t S = g->stride, D = g->dilation, R = g->kernel_size;
    if (TO == 2) {
        short_pass(xq, S, D, R, wc, b, yt, VL);
        short_pass(xq + VL * S, S, D, R, wc, b, yt + VL, M);
    } else {
        short_pass(xq, S, D, R, wc, b, yt, M);
    }
}

/* Eight NCW rows from xb (row c at xb + c*L) into eight rows from yb (row c at yb + c*OL). Every load and store is a
 * whole vector: a row's load reads the next rows' first floats into lanes past L, which are cleared before the
 * transpose (so the positions past L come out as zeros: the right padding), and a row's store writes past its row
 * into the rows after it, which the later stores overwrite; the caller makes sure both stay inside memory it may
 * touch. keep[t]: the lanes of tile t that are inside the row. */
INLINE void short_ncw_block(const c1_dw_geom *g, __m256 *xq, const __m256 *keep, const float *xb, const float *wb,
                            float *yb, const int M, const int TO)
{
    const int64_t L = g->length, OL = 8 * TO - 8 + M;
    __m256 *xl = xq + g->pad_left, yt[2 * VL];
    for (int64_t t = 0; t * VL < L; t++) {
        __m256 r[VL];
#pragma GCC unroll 8
        for (int c = 0; c < VL; c++) r[c] = _mm256_and_ps(_mm256_loadu_ps(xb + c * L + t * VL), keep[t]);
        transpose8(r);
#pragma GCC unroll 8
        for (int j = 0; j < VL; j++) xl[t * VL + j] = r[j];
    }
    short_compute(g, xq, wb + VL, _mm256_loadu_ps(wb), yt, M, TO);
#pragma GCC unroll 8
    for (int o = OL; o < TO * VL; o++) yt[o] = _mm256_setzero_ps(); /* stored past the rows, overwritten later */
#pragma GCC unroll 2
    for (int t = 0; t < TO; t++) transpose8(yt + t * VL);
#pragma GCC unroll 8
    for (int c = 0; c < VL; c++)
#pragma GCC unroll 2
        for (int t = 0; t < TO; t++) _mm256_storeu_ps(yb + c * OL + t * VL, yt[t * VL + c]);
}

/* Channels [c0, c1) of batch elements [n0, n1) in NCW: whole blocks of eight rows straight from x into y, except the
 * last block, whose spilling loads and stores could leave the range (or the tensor), which goes through buffers on
 * the stack as does a block of fewer than eight rows. Batch elements innermost, so that a block's weights come from
 * L1 after the first (the spill of a block lands in the next block of its own batch element, which comes later). */
INLINE void short_ncw(const c1_dw_geom *g, __m256 *xq, const float *x, const float *wp, float *y, int64_t n0,
                      int64_t n1, int64_t c0, int64_t c1, const int M, const int TO)
{
    const int64_t C = g->in_channels, L = g->length, OL = 8 * TO - 8 + M, bs = (g->kernel_size + 1) * VL;
    __m256 keep[C1_DW_SHORT_MAX_LEN / VL];
    for (int t = 0; t < C1_DW_SHORT_MAX_LEN / VL; t++) keep[t] = _mm256_castsi256_ps(lanes(L - t * VL));
    int64_t c = c0;
    for (; c + 2 * VL <= c1; c += VL)
        for (int64_t n = n0; n < n1; n++)
            short_ncw_block(g, xq, keep, x + (n * C + c) * L, wp + c / VL * bs, y + (n * C + c) * OL, M, TO);
    for (; c < c1; c += VL)
        for (int64_t n = n0; n < n1; n++) {
            const int64_t nr = c1 - c < VL ? c1 - c : VL;
            float bx[VL * C1_DW_SHORT_MAX_LEN + VL] = {0}, by[VL * 2 * VL + VL];
            memcpy(bx, x + (n * C + c) * L, (size_t)(nr * L) * sizeof(float));
            short_ncw_block(g, xq, keep, bx, wp + c / VL * bs, by, M, TO);
            memcpy(y + (n * C + c) * OL, by, (size_t)(nr * OL) * sizeof(float));
        }
}

/* NCW rows longer than two tiles (output length 17 to C1_DW_SHORT_MAX_LEN): short_ncw_block with the tile counts at
 * run time, passes of eight outputs and a last one of M (a constant, the output length mod 8, 0 for none). With
 * input lengths up to 32 a block takes up to four tiles in; xq holds pad_left + L positions and a tile past them. */
INLINE void long_ncw_block(const c1_dw_geom *g, __m256 *xq, const __m256 *keep, const float *xb, const float *wb,
                           float *yb, const int M)
{
    const int64_t L = g->length, OL = g->out_length, S = g->stride, D = g->dilation, R = g->kernel_size;
    const int64_t TO = (OL + VL - 1) / VL;
    __m256 *xl = xq + g->pad_left, yt[C1_DW_SHORT_MAX_LEN];
    for (int64_t t = 0; t * VL < L; t++) {
        __m256 r[VL];
#pragma GCC unroll 8
        for (int c = 0; c < VL; c++) r[c] = _mm256_and_ps(_mm256_loadu_ps(xb + c * L + t * VL), keep[t]);
        transpose8(r);
#pragma GCC unroll 8
        for (int j = 0; j < VL; j++) xl[t * VL + j] = r[j];
    }
    const __m256 b = _mm256_loadu_ps(wb);
    int64_t o = 0;
    for (; o + VL <= OL; o += VL) short_pass(xq + o * S, S, D, R, wb + VL, b, yt + o, VL);
    if (M) {
        short_pass(xq + o * S, S, D, R, wb + VL, b, yt + o, M);
#pragma GCC unroll 8
        for (int i = M; i < VL; i++) yt[o + i] = _mm256_setzero_ps(); /* stored past the rows, overwritten later */
    }
    for (int64_t t = 0; t < TO; t++) transpose8(yt + t * VL);
    for (int c = 0; c < VL; c++)
        for (int64_t t = 0; t < TO; t++) _mm256_storeu_ps(yb + c * OL + t * VL, yt[t * VL + c]);
}

INLINE void long_ncw(const c1_dw_geom *g, __m256 *xq, const float *x, const float *wp, float *y, int64_t n0,
                     int64_t n1, int64_t c0, int64_t c1, const int M)
{
    const int64_t C = g->in_channels, L = g->length, OL = g->out_length, bs = (g->kernel_size + 1) * VL;
    __m256 keep[C1_DW_SHORT_MAX_LEN / VL];
    for (int t = 0; t < C1_DW_SHORT_MAX_LEN / VL; t++) keep[t] = _mm256_castsi256_ps(lanes(L - t * VL));
    int64_t c = c0;
    for (; c + 2 * VL <= c1; c += VL)
        for (int64_t n = n0; n < n1; n++)
            long_ncw_block(g, xq, keep, x + (n * C + c) * L, wp + c / VL * bs, y + (n * C + c) * OL, M);
    for (; c < c1; c += VL)
        for (int64_t n = n0; n < n1; n++) {
            const int64_t nr = c1 - c < VL ? c1 - c : VL;
            float bx[VL * C1_DW_SHORT_MAX_LEN + VL] = {0}, by[VL * C1_DW_SHORT_MAX_LEN + VL];
            memcpy(bx, x + (n * C + c) * L, (size_t)(nr * L) * sizeof(float));
            long_ncw_block(g, xq, keep, bx, wp + c / VL * bs, by, M);
            memcpy(y + (n * C + c) * OL, by, (size_t)(nr * OL) * sizeof(float));
        }
}

/* r[l] lane 4h + i <- r[i] lane 4h + l for l, i < 4: the 4x4 transpose within each 128-bit half (an involution). */
INLINE void transpose4x2(__m256 r[4])
{
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    r[0] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    r[1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    r[2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    r[3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
}

/* NCW with L = OL = 4 (c1_dw_short_paired): the eight rows are four vectors of two rows each, and the transpose
 * within 128-bit halves gives each position as a vector with the channels in the lane order 0 2 4 6 1 3 5 7, in which
 * the weights and bias were laid out at prepare; the same transpose takes the outputs back to pairs of rows. Four
 * whole loads and stores per block, none spilling, so the last block needs no buffers. */
INLINE void short_ncw_paired(const c1_dw_geom *g, __m256 *xq, const float *x, const float *wp, float *y, int64_t n0,
                             int64_t n1, int64_t c0, int64_t c1)
{
    const int64_t C = g->in_channels, bs = (g->kernel_size + 1) * VL;
    __m256 *xl = xq + g->pad_left, yt[VL];
    float bx[4 * VL], by[4 * VL];
    for (int64_t c = c0; c < c1; c += VL)
        for (int64_t n = n0; n < n1; n++) { /* the block's weights from L1 after the first batch element */
            const int64_t nr = c1 - c < VL ? c1 - c : VL;
            const float *wb = wp + c / VL * bs;
            const float *xb = x + (n * C + c) * 4;
            float *yb = y + (n * C + c) * 4;
            if (nr < VL) { /* the last block of the channels: through buffers */
                memset(bx, 0, sizeof bx);
                memcpy(bx, xb, (size_t)(nr * 4) * sizeof(float));
                xb = bx;
            }
            __m256 r[4] = {_mm256_loadu_ps(xb), _mm256_loadu_ps(xb + VL), _mm256_loadu_ps(xb + 2 * VL),
                           _mm256_loadu_ps(xb + 3 * VL)};
            transpose4x2(r);
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) xl[j] = r[j];
            short_compute(g, xq, wb + VL, _mm256_loadu_ps(wb), yt, 4, 1);
            transpose4x2(yt);
            float *yo = nr < VL ? by : yb;
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) _mm256_storeu_ps(yo + j * VL, yt[j]);
            if (nr < VL) memcpy(yb, by, (size_t)(nr * 4) * sizeof(float));
        }
}

/* Channels [c0, c1) of batch element n in NWC: position l of the block is one vector of the input's row l. The last
 * block, when narrower than eight channels, goes through buffers on the stack. */
INLINE void short_nwc(const c1_dw_geom *g, __m256 *xq, const float *x, const float *wp, float *y, int64_t n, int64_t c0,
                      int64_t c1, const int M, const int TO)
{
    const int64_t C = g->in_channels, L = g->length, OL = 8 * TO - 8 + M, bs = (g->kernel_size + 1) * VL;
    const float *xn = x + n * L * C;
    float *yn = y + n * OL * C;
    __m256 *xl = xq + g->pad_left, yt[2 * VL];
    for (int64_t c = c0; c < c1; c += VL) {
        const int64_t nr = c1 - c < VL ? c1 - c : VL;
        if (nr == VL) {
            for (int64_t l = 0; l < L; l++) xl[l] = _mm256_loadu_ps(xn + l * C + c);
        } else {
            float bx[VL] = {0};
            for (int64_t l = 0; l < L; l++) {
                memcpy(bx, xn + l * C + c, (size_t)nr * sizeof(float));
                xl[l] = _mm256_loadu_ps(bx);
            }
        }
        const float *wb = wp + c / VL * bs;
        short_compute(g, xq, wb + VL, _mm256_loadu_ps(wb), yt, M, TO);
        if (nr == VL) {
#pragma GCC unroll 16
            for (int o = 0; o < OL; o++) _mm256_storeu_ps(yn + o * C + c, yt[o]);
        } else {
            float by[VL];
            for (int64_t o = 0; o < OL; o++) {
                _mm256_storeu_ps(by, yt[o]);
                memcpy(yn + o * C + c, by, (size_t)nr * sizeof(float));
            }
        }
    }
}

void c1_dw_short_avx2(const c1_dw_geom *g, bool ncw, const float *x, const float *wp, float *y, int64_t n0, int64_t n1,
                      int64_t c0, int64_t c1)
{
    /* Room for a whole last tile written from pad_left (C1_DW_SHORT_SPAN holds pad_left + L). */
    __m256 xq[C1_DW_SHORT_SPAN + VL];
    for (int j = 0; j < C1_DW_SHORT_SPAN + VL; j++) xq[j] = _mm256_setzero_ps();
    if (ncw && c1_dw_short_paired(g)) {
        short_ncw_paired(g, xq, x, wp, y, n0, n1, c0, c1);
        return;
    }
    /* The output length as constants: M outputs in the last pass, TO passes (tiles) of eight. */
    switch (g->out_length) {
#define SHORT_OL(ol)                                                                                                   \
    case ol:                                                                                                           \
        if (ncw)                                                                                                       \
            short_ncw(g, xq, x, wp, y, n0, n1, c0, c1, (ol - 1) % VL + 1, (ol + VL - 1) / VL);                         \
        else if (ol <= C1_DW_SHORT_MAX_LEN_NWC)                                                                      \
            for (int64_t n = n0; n < n1; n++)                                                                          \
                short_nwc(g, xq, x, wp, y, n, c0, c1, (ol - 1) % VL + 1, (ol + VL - 1) / VL);                          \
        break;
        SHORT_OL(1) SHORT_OL(2) SHORT_OL(3) SHORT_OL(4) SHORT_OL(5) SHORT_OL(6) SHORT_OL(7) SHORT_OL(8)
        SHORT_OL(9) SHORT_OL(10) SHORT_OL(11) SHORT_OL(12) SHORT_OL(13) SHORT_OL(14) SHORT_OL(15) SHORT_OL(16)
#undef SHORT_OL
    default: /* NCW past two tiles: the output length mod 8 as the constant */
        switch (g->out_length % VL) {
#define LONG_M(m)                                                                                                      \
    case m: long_ncw(g, xq, x, wp, y, n0, n1, c0, c1, m); break;
            LONG_M(0) LONG_M(1) LONG_M(2) LONG_M(3) LONG_M(4) LONG_M(5) LONG_M(6) LONG_M(7)
#undef LONG_M
        }
    }
}
