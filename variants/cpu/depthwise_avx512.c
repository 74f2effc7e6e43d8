/* Depthwise kernels for AVX-512 (zmm, 16 floats); called only when the CPU has avx512f/bw/vl/dq. */
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "depthwise.h"

#define VL 16

static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static inline __mmask16 lanes(int64_t n) { return n >= VL ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

/* Loads and stores of one vector of channels: plain when all 16 lanes are live (full is a constant at every call
 * site, so the test folds away), masked for the last vector of a block. */
static inline __attribute__((always_inline)) __m512 ld(const float *p, __mmask16 m, const bool full)
{
    return full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}

static inline __attribute__((always_inline)) void st(float *p, __m512 v, __mmask16 m, const bool full)
{
    if (full)
        _mm512_storeu_ps(p, v);
    else
        _mm512_mask_storeu_ps(p, m, v);
}

/* Eight output rows `step` floats apart. */
static inline __attribute__((always_inline)) void st_eight(float *yo, int64_t step, __m512 a0, __m512 a1, __m512 a2,
                                                           __m512 a3, __m512 a4, __m512 a5, __m512 a6, __m512 a7,
                                                           __mmask16 m, const bool full)
{
    st(yo, a0, m, full);
    st(yo + step, a1, m, full);
    st(yo + 2 * step, a2, m, full);
    st(yo + 3 * step, a3, m, full);
    st(yo + 4 * step, a4, m, full);
    st(yo + 5 * step, a5, m, full);
    st(yo + 6 * step, a6, m, full);
    st(yo + 7 * step, a7, m, full);
}

/* One output vector from R taps: rows xp + r*xs times weights wc + r*ws, in four chains by r mod 4, so a long
 * kernel is not bound by the latency of one chain of dependent FMAs. */
static inline void taps_one(const float *xp, int64_t xs, const float *wc, int64_t ws, __m512 b, float *yo, int64_t R,
                            __mmask16 m)
{
    __m512 a0 = b, a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t r = 0;
    for (; r + 4 <= R; r += 4, xp += 4 * xs) {
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp), _mm512_maskz_loadu_ps(m, wc + r * ws), a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp + xs), _mm512_maskz_loadu_ps(m, wc + (r + 1) * ws), a1);
        a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp + 2 * xs), _mm512_maskz_loadu_ps(m, wc + (r + 2) * ws), a2);
        a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp + 3 * xs), _mm512_maskz_loadu_ps(m, wc + (r + 3) * ws), a3);
    }
    for (; r < R; r++, xp += xs)
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp), _mm512_maskz_loadu_ps(m, wc + r * ws), a0);
    _mm512_mask_storeu_ps(yo, m, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* One NWC output position, its taps clamped to the input: the edges and the leftovers of the interior. */
static inline void nwc_one(const c1_dw_geom *g, const float *xn, const float *wc, __m512 b, float *yo, int64_t o,
                           __mmask16 m)
{
    const int64_t C = g->in_channels;
    int64_t r0, r1;
    c1_dw_taps(g, o, &r0, &r1);
    const float *xp = xn + (o * g->stride - g->pad_left + r0 * g->dilation) * C;
    taps_one(xp, g->dilation * C, wc + r0 * C, C, b, yo, r1 - r0, m);
}

/* Eight output positions of one vector of channels, all taps inside the input (xp, wc, yo at that vector). Eight
 * positions share each tap's weight load, and eight independent chains hide the FMA latency. */
static inline __attribute__((always_inline)) void nwc_eight(const c1_dw_geom *g, const float *xp, const float *wc,
                                                            __m512 b, float *yo, __mmask16 m, const bool full)
{
    const int64_t C = g->in_channels, step = g->dilation * C, sc = g->stride * C;
    __m512 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
    for (int64_t r = 0; r < g->kernel_size; r++, xp += step) {
        const __m512 wv = ld(wc + r * C, m, full);
        a0 = _mm512_fmadd_ps(ld(xp, m, full), wv, a0);
        a1 = _mm512_fmadd_ps(ld(xp + sc, m, full), wv, a1);
        a2 = _mm512_fmadd_ps(ld(xp + 2 * sc, m, full), wv, a2);
        a3 = _mm512_fmadd_ps(ld(xp + 3 * sc, m, full), wv, a3);
        a4 = _mm512_fmadd_ps(ld(xp + 4 * sc, m, full), wv, a4);
        a5 = _mm512_fmadd_ps(ld(xp + 5 * sc, m, full), wv, a5);
        a6 = _mm512_fmadd_ps(ld(xp + 6 * sc, m, full), wv, a6);
        a7 = _mm512_fmadd_ps(ld(xp + 7 * sc, m, full), wv, a7);
    }
    st_eight(yo, C, a0, a1, a2, a3, a4, a5, a6, a7, m, full);
}

/* nwc_eight for stride 1, over the eight outputs o, o + D, ..., o + 7D of one phase of the dilation D: output
 * o + D*i at tap r reads input row o - pad_left + D*(i + r), so the eight rows of one tap are the previous tap's
 * shifted by one, and each tap loads one new row and its weights for eight FMAs (instead of nine loads), which is
 * what decides the speed once the kernel is long. xp and yo are at rows o - pad_left and o; xs is the window's
 * step (D input rows), ws the weights' row, ys the step between the eight output rows (D output rows), in floats. */
static inline __attribute__((always_inline)) void nwc_eight_slide(const float *xp, int64_t xs, const float *wc,
                                                                  int64_t ws, __m512 b, float *yo, int64_t ys,
                                                                  __mmask16 m, const bool full, const int64_t R)
{
    __m512 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
    __m512 x0 = ld(xp, m, full), x1 = ld(xp + xs, m, full);
    __m512 x2 = ld(xp + 2 * xs, m, full), x3 = ld(xp + 3 * xs, m, full);
    __m512 x4 = ld(xp + 4 * xs, m, full), x5 = ld(xp + 5 * xs, m, full);
    __m512 x6 = ld(xp + 6 * xs, m, full);
    xp += 7 * xs;
#pragma GCC unroll 4
    for (int64_t r = 0; r < R; r++, xp += xs) {
        const __m512 x7 = ld(xp, m, full), wv = ld(wc + r * ws, m, full);
        a0 = _mm512_fmadd_ps(x0, wv, a0);
        a1 = _mm512_fmadd_ps(x1, wv, a1);
        a2 = _mm512_fmadd_ps(x2, wv, a2);
        a3 = _mm512_fmadd_ps(x3, wv, a3);
        a4 = _mm512_fmadd_ps(x4, wv, a4);
        a5 = _mm512_fmadd_ps(x5, wv, a5);
        a6 = _mm512_fmadd_ps(x6, wv, a6);
        a7 = _mm512_fmadd_ps(x7, wv, a7);
        x0 = x1;
        x1 = x2;
        x2 = x3;
        x3 = x4;
        x4 = x5;
        x5 = x6;
        x6 = x7;
    }
    st_eight(yo, ys, a0, a1, a2, a3, a4, a5, a6, a7, m, full);
}

/* Eight outputs by the channels [c0, c1), xo and yo at channel 0 of their first rows, row strides xs (input),
 * ws (weights) and ys (output) for the sliding form (nwc_eight takes the geometry's own): whole vectors in one loop
 * that keeps only pointers live between iterations, then the masked last vector. */
static inline __attribute__((always_inline)) void nwc_group(const c1_dw_geom *g, const float *xo, int64_t xs,
                                                            const float *w, int64_t ws, const float *bias, float *yo,
                                                            int64_t ys, int64_t c0, int64_t c1, const bool slide,
                                                            const int64_t R, const bool ahead)
{
    int64_t c = c0;
    for (; c + VL <= c1; c += VL) {
        if (ahead) c1_dw_prefetch_next(xo, c, xs, R, 8, sizeof *xo);
        const __m512 b = _mm512_loadu_ps(bias + c);
        if (slide)
            nwc_eight_slide(xo + c, xs, w + c, ws, b, yo + c, ys, 0xffff, true, R);
        else
            nwc_eight(g, xo + c, w + c, b, yo + c, 0xffff, true);
    }
    if (c < c1) {
        const __mmask16 m = lanes(c1 - c);
        const __m512 b = _mm512_maskz_loadu_ps(m, bias + c);
        if (slide)
            nwc_eight_slide(xo + c, xs, w + c, ws, b, yo + c, ys, m, false, R);
        else
            nwc_eight(g, xo + c, w + c, b, yo + c, m, false);
    }
}

/* Positions outermost, channels innermost: each input row is read as one contiguous run of the block's
 * channels. Sweeping positions one vector of channels at a time would instead touch a single cache line
 * per row at a stride of C floats, which for large power-of-two-ish C lands every row in the same few L1
 * sets. */
void c1_dw_nwc_avx512(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y, int64_t n,
                      int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    const int64_t C = g->in_channels;
    const float *xn = x + n * g->length * C;
    float *yn = y + n * g->out_length * C;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    int64_t o = o0;
    for (; o < f0; o++)
        for (int64_t c = c0; c < c1; c += VL) {
            const __mmask16 m = lanes(c1 - c);
            nwc_one(g, xn + c, w + c, _mm512_maskz_loadu_ps(m, bias + c), yn + o * C + c, o, m);
        }
    /* At stride 1, blocks of 8 x dilation outputs, each as its dilation's phases of eight sliding outputs. */
    const int64_t D = g->dilation, R = g->kernel_size;
    if (g->stride == 1)
        for (; o + 8 * D <= f1; o += 8 * D)
            for (int64_t p = 0; p < D; p++) {
                const float *xo = xn + (o + p - g->pad_left) * C;
                const bool ahead = o + 16 * D <= f1; /* the next eight positions are interior too */
                if (R == 4) /* Mamba's d_conv: the taps unrolled, the window shifts by renaming */
                    nwc_group(g, xo, D * C, w, C, bias, yn + (o + p) * C, D * C, c0, c1, true, 4, ahead);
                else
                    nwc_group(g, xo, D * C, w, C, bias, yn + (o + p) * C, D * C, c0, c1, true, R, ahead);
            }
    for (; o + 8 <= f1; o += 8)
        nwc_group(g, xn + (o * g->stride - g->pad_left) * C, 0, w, C, bias, yn + o * C, C, c0, c1, false, R, false);
    for (; o < o1; o++)
        for (int64_t c = c0; c < c1; c += VL) {
            const __mmask16 m = lanes(c1 - c);
            nwc_one(g, xn + c, w + c, _mm512_maskz_loadu_ps(m, bias + c), yn + o * C + c, o, m);
        }
}

void c1_dw_nwc_buffered_avx512(const c1_dw_geom *g, const float *x, const float *wb, int64_t bs, const float *bias,
                               float *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1, float *buf)
{
    const int64_t C = g->in_channels, L = g->length, D = g->dilation, R = g->kernel_size, cw = c1 - c0;
    const float *xn = x + n * L * C;
    float *yn = y + n * g->out_length * C;
    /* Buffer row t holds input row i0 + t, channels [c0, c1), or zeros outside the input. */
    const int64_t i0 = o0 - g->pad_left, rows = o1 - o0 + (R - 1) * D;
    for (int64_t t = 0; t < rows; t++) {
        const int64_t i = i0 + t;
        if (i >= 0 && i < L)
            memcpy(buf + t * bs, xn + i * C + c0, (size_t)cw * sizeof(float));
        else
            memset(buf + t * bs, 0, (size_t)cw * sizeof(float));
    }
    const float *bc = bias + c0;
    float *yc = yn + c0;
    int64_t o = o0;
    for (; o + 8 * D <= o1; o += 8 * D)
        for (int64_t p = 0; p < D; p++)
            nwc_group(g, buf + (o + p - o0) * bs, D * bs, wb, bs, bc, yc + (o + p) * C, D * C, 0, cw, true, R, false);
    for (; o < o1; o++)
        for (int64_t c = 0; c < cw; c += VL) {
            const __mmask16 m = lanes(cw - c);
            /* every tap inside the buffer: zero rows stand for the padding */
            taps_one(buf + (o - o0) * bs + c, D * bs, wb + c, bs, _mm512_maskz_loadu_ps(m, bc + c), yc + o * C + c, R,
                     m);
        }
}

/* ---- NWC with a channel multiplier M > 1 (first layers: 1 -> 32, 1 -> 512) ----
 *
 * Output channel k reads input channel k / M, so the vector of output channels [k, k + 16) reads the input
 * channels [k / M, (k + 15) / M], at most 16 of them. When M is a multiple of 16 the vector (16-aligned, as every
 * channel block is) reads one channel, one broadcast per input row; otherwise one load of the channels it spans
 * and a permute that spreads them over the lanes. */
typedef struct mult_src {
    int64_t c;      /* the vector's first input channel, k / M */
    __m512i idx;    /* lane j: (k + j) / M - c */
    __mmask16 load; /* the input channels from c on that exist (at most 16) */
} mult_src;

static inline mult_src mult_source(int64_t k, int64_t M, int64_t C)
{
    int32_t idx[VL];
    const int64_t c = c1_dw_mult_lanes(k, M, VL, idx);
    return (mult_src){.c = c, .idx = _mm512_loadu_si512(idx), .load = lanes(C - c)};
}

/* Input row xr (at channel 0) spread over the vector's lanes; one: the vector reads one channel. */
static inline __attribute__((always_inline)) __m512 expand(const float *xr, const mult_src *s, const bool one)
{
    return one ? _mm512_set1_ps(xr[s->c]) : _mm512_permutexvar_ps(s->idx, _mm512_maskz_loadu_ps(s->load, xr + s->c));
}

/* The eight rows by two vectors of the kernels below, rows K floats apart. */
static inline __attribute__((always_inline)) void mult_store(float *yo, int64_t K, __m512 a[8][2], __mmask16 m0,
                                                             __mmask16 m1, const bool full)
{
    st_eight(yo, K, a[0][0], a[1][0], a[2][0], a[3][0], a[4][0], a[5][0], a[6][0], a[7][0], m0, full);
    st_eight(yo + VL, K, a[0][1], a[1][1], a[2][1], a[3][1], a[4][1], a[5][1], a[6][1], a[7][1], m1, full);
}

/* Eight output positions by two vectors of output channels (the second may be empty: m1 == 0, s1 == s0), all
 * taps inside the input. xr is the first position's tap-0 input row (channel 0), rs the step between positions'
 * rows (stride * C floats), ts between taps (dilation * C); wk and yo at the first vector's channel, the weights
 * of tap r at wk + r*K, output rows K floats apart. shared: both vectors read the same input channel. */
static inline __attribute__((always_inline)) void mult_eight(const float *xr, int64_t rs, int64_t ts,
                                                             const mult_src *s0, const mult_src *s1, const float *wk,
                                                             int64_t K, __m512 b0, __m512 b1, float *yo, __mmask16 m0,
                                                             __mmask16 m1, int64_t R, const bool one,
                                                             const bool shared, const bool full)
{
    __m512 a[8][2];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        a[i][0] = b0;
        a[i][1] = b1;
    }
    for (int64_t r = 0; r < R; r++, xr += ts) {
        const __m512 w0 = ld(wk + r * K, m0, full), w1 = ld(wk + r * K + VL, m1, full);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            const __m512 e0 = expand(xr + i * rs, s0, one), e1 = shared ? e0 : expand(xr + i * rs, s1, one);
            a[i][0] = _mm512_fmadd_ps(e0, w0, a[i][0]);
            a[i][1] = _mm512_fmadd_ps(e1, w1, a[i][1]);
        }
    }
    mult_store(yo, K, a, m0, m1, full);
}

/* mult_eight at stride 1 and dilation 1 when both vectors read one input channel (M a multiple of 32, as in
 * 1 -> 32 and 1 -> 512): output i at tap r reads input row i + r, so the eight broadcasts of one tap are the
 * previous tap's shifted by one and each tap broadcasts one new value for its sixteen FMAs. xc is the first
 * output's tap-0 input row at the channel read, C the input's row stride. */
static inline __attribute__((always_inline)) void mult_eight_slide(const float *xc, int64_t C, const float *wk,
                                                                   int64_t K, __m512 b0, __m512 b1, float *yo,
                                                                   __mmask16 m0, __mmask16 m1, int64_t R,
                                                                   const bool full)
{
    __m512 a[8][2], e[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        a[i][0] = b0;
        a[i][1] = b1;
    }
#pragma GCC unroll 7
    for (int i = 0; i < 7; i++) e[i] = _mm512_set1_ps(xc[i * C]);
    xc += 7 * C;
    for (int64_t r = 0; r < R; r++, xc += C) {
        const __m512 w0 = ld(wk + r * K, m0, full), w1 = ld(wk + r * K + VL, m1, full);
        e[7] = _mm512_set1_ps(*xc);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            a[i][0] = _mm512_fmadd_ps(e[i], w0, a[i][0]);
            a[i][1] = _mm512_fmadd_ps(e[i], w1, a[i][1]);
        }
#pragma GCC unroll 7
        for (int i = 0; i < 7; i++) e[i] = e[i + 1];
    }
    mult_store(yo, K, a, m0, m1, full);
}

/* mult_eight_slide on whole vectors, with the tap count a constant up to 12 (a first layer's kernel): the taps
 * unrolled, the window shifts by renaming instead of register moves (1 -> 32 k7 in cache: 1.2-1.6x the loop). The
 * register form below takes over where every pair of a block qualifies and the taps are few enough. */
static void mult_slide_full(const float *xc, int64_t C, const float *wk, int64_t K, __m512 b0, __m512 b1, float *yo,
                            int64_t R)
{
    switch (R) {
#define MULT_SLIDE_R(n)                                                                                                \
    case n: mult_eight_slide(xc, C, wk, K, b0, b1, yo, 0xffff, 0xffff, n, true); return;
        MULT_SLIDE_R(1) MULT_SLIDE_R(2) MULT_SLIDE_R(3) MULT_SLIDE_R(4) MULT_SLIDE_R(5) MULT_SLIDE_R(6)
        MULT_SLIDE_R(7) MULT_SLIDE_R(8) MULT_SLIDE_R(9) MULT_SLIDE_R(10) MULT_SLIDE_R(11) MULT_SLIDE_R(12)
#undef MULT_SLIDE_R
    default: mult_eight_slide(xc, C, wk, K, b0, b1, yo, 0xffff, 0xffff, R, true);
    }
}

/* The rows [0, 4n) from yo by two whole vectors that read one input channel, R a constant up to
 * C1_DW_MULT_REG_TAPS: the 2R weight vectors stay in registers for all the rows, and each step computes four rows
 * (8R FMAs on broadcast inputs, the taps unrolled) and stores eight vectors. Against mult_eight and
 * mult_eight_slide, which load the weights again for every eight rows, this writes 1 -> 32 k7 out of cache at the
 * speed of a copy (results/NOTES.md). xc is the first row's tap-0 input (at the channel read), rs the step between
 * output rows' inputs (stride * C floats), ts between taps (dilation * C), K the output's row stride. */
#define C1_DW_MULT_REG_TAPS 10
static inline __attribute__((always_inline)) void mult_rows_reg(const float *xc, int64_t rs, int64_t ts,
                                                                const float *wk, int64_t K, __m512 b0, __m512 b1,
                                                                float *yo, int64_t n, const int R)
{
    __m512 w0[C1_DW_MULT_REG_TAPS], w1[C1_DW_MULT_REG_TAPS];
#pragma GCC unroll 10
    for (int r = 0; r < R; r++) {
        w0[r] = _mm512_loadu_ps(wk + r * K);
        w1[r] = _mm512_loadu_ps(wk + r * K + VL);
    }
    for (int64_t q = 0; q < n; q++, xc += 4 * rs, yo += 4 * K) {
        __m512 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
#pragma GCC unroll 10
        for (int r = 0; r < R; r++) {
            const float *xr = xc + r * ts;
            const __m512 e0 = _mm512_set1_ps(xr[0]), e1 = _mm512_set1_ps(xr[rs]);
            const __m512 e2 = _mm512_set1_ps(xr[2 * rs]), e3 = _mm512_set1_ps(xr[3 * rs]);
            a00 = _mm512_fmadd_ps(e0, w0[r], a00);
            a01 = _mm512_fmadd_ps(e0, w1[r], a01);
            a10 = _mm512_fmadd_ps(e1, w0[r], a10);
            a11 = _mm512_fmadd_ps(e1, w1[r], a11);
            a20 = _mm512_fmadd_ps(e2, w0[r], a20);
            a21 = _mm512_fmadd_ps(e2, w1[r], a21);
            a30 = _mm512_fmadd_ps(e3, w0[r], a30);
            a31 = _mm512_fmadd_ps(e3, w1[r], a31);
        }
        _mm512_storeu_ps(yo, a00);
        _mm512_storeu_ps(yo + VL, a01);
        _mm512_storeu_ps(yo + K, a10);
        _mm512_storeu_ps(yo + K + VL, a11);
        _mm512_storeu_ps(yo + 2 * K, a20);
        _mm512_storeu_ps(yo + 2 * K + VL, a21);
        _mm512_storeu_ps(yo + 3 * K, a30);
        _mm512_storeu_ps(yo + 3 * K + VL, a31);
    }
}

static void mult_rows_reg_taps(const float *xc, int64_t rs, int64_t ts, const float *wk, int64_t K, __m512 b0,
                               __m512 b1, float *yo, int64_t n, int64_t R)
{
    switch (R) {
#define MULT_ROWS_R(t)                                                                                                 \
    case t: mult_rows_reg(xc, rs, ts, wk, K, b0, b1, yo, n, t); return;
        MULT_ROWS_R(1) MULT_ROWS_R(2) MULT_ROWS_R(3) MULT_ROWS_R(4) MULT_ROWS_R(5) MULT_ROWS_R(6) MULT_ROWS_R(7)
        MULT_ROWS_R(8) MULT_ROWS_R(9) MULT_ROWS_R(10)
#undef MULT_ROWS_R
    }
}

/* Two vectors of output channels from k: their sources, lanes and bias. */
typedef struct mult_pair {
    int64_t k;
    mult_src s0, s1;
    __m512 b0, b1;
    __mmask16 m0, m1;
    bool shared; /* both read one input channel */
    bool full;   /* both vectors whole */
} mult_pair;

/* One output position (its taps clamped to the input) by a pair: the edges and the leftovers. */
static inline void mult_one(const c1_dw_geom *g, const float *xn, const mult_pair *p, const float *w, float *yo,
                            int64_t o)
{
    const int64_t C = g->in_channels, K = g->out_channels, ts = g->dilation * C;
    const float *wk = w + p->k;
    int64_t r0, r1;
    c1_dw_taps(g, o, &r0, &r1);
    const float *xr = xn + (o * g->stride - g->pad_left + r0 * g->dilation) * C;
    __m512 a0 = p->b0, a1 = p->b1;
    for (int64_t r = r0; r < r1; r++, xr += ts) {
        a0 = _mm512_fmadd_ps(expand(xr, &p->s0, false), _mm512_maskz_loadu_ps(p->m0, wk + r * K), a0);
        a1 = _mm512_fmadd_ps(expand(xr, &p->s1, false), _mm512_maskz_loadu_ps(p->m1, wk + r * K + VL), a1);
    }
    _mm512_mask_storeu_ps(yo, p->m0, a0);
    _mm512_mask_storeu_ps(yo + VL, p->m1, a1);
}

/* C1_DW_NWC_MULT_CHANNELS output channels (pairs of vectors) at a time, their sources worked out once; positions
 * outermost in groups of eight, then the pairs, so the output is written row by row. */
void c1_dw_nwc_mult_avx512(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y,
                           int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    const int64_t C = g->in_channels, K = g->out_channels, M = g->mult, R = g->kernel_size;
    const int64_t rs = g->stride * C, ts = g->dilation * C;
    const float *xn = x + n * g->length * C;
    float *yn = y + n * g->out_length * K;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    const bool one = M % VL == 0, slide = g->stride == 1 && g->dilation == 1;
    mult_pair pairs[C1_DW_NWC_MULT_CHANNELS / (2 * VL)];
    for (int64_t cc = c0; cc < c1; cc += C1_DW_NWC_MULT_CHANNELS) {
        int np = 0;
        bool reg = R <= C1_DW_MULT_REG_TAPS;
        for (int64_t k = cc; k < c1 && k < cc + C1_DW_NWC_MULT_CHANNELS; k += 2 * VL, np++) {
            mult_pair *p = &pairs[np];
            p->k = k;
            p->m0 = lanes(c1 - k);
            p->m1 = k + VL < c1 ? lanes(c1 - k - VL) : 0;
            p->s0 = mult_source(k, M, C);
            p->s1 = p->m1 ? mult_source(k + VL, M, C) : p->s0;
            p->shared = one && p->s0.c == p->s1.c;
            p->full = p->m0 == 0xffff && p->m1 == 0xffff;
            p->b0 = _mm512_maskz_loadu_ps(p->m0, bias + k);
            p->b1 = _mm512_maskz_loadu_ps(p->m1, bias + k + VL);
            reg = reg && p->shared && p->full;
        }
        if (reg) { /* pairs outermost, each over the block's rows with its weights in registers */
            const int64_t n4 = (f1 - f0) / 4, r1 = f0 + 4 * n4;
            for (int i = 0; i < np; i++) {
                const mult_pair *p = &pairs[i];
                const float *wk = w + p->k;
                for (int64_t o = o0; o < f0; o++)
                    mult_one(g, xn, p, w, yn + o * K + p->k, o);
                mult_rows_reg_taps(xn + (f0 * g->stride - g->pad_left) * C + p->s0.c, rs, ts, wk, K, p->b0, p->b1,
                                   yn + f0 * K + p->k, n4, R);
                for (int64_t o = r1; o < o1; o++)
                    mult_one(g, xn, p, w, yn + o * K + p->k, o);
            }
            continue;
        }
        for (int64_t o = o0; o < o1;) {
            const bool eight = o >= f0 && o + 8 <= f1;
            const float *xr = eight ? xn + (o * g->stride - g->pad_left) * C : xn; /* row of tap 0 */
            for (int i = 0; i < np; i++) {
                const mult_pair *p = &pairs[i];
                const float *wk = w + p->k;
                float *yo = yn + o * K + p->k;
#define MULT_EIGHT(one, shared, full)                                                                                  \
    mult_eight(xr, rs, ts, &p->s0, &p->s1, wk, K, p->b0, p->b1, yo, p->m0, p->m1, R, one, shared, full)
                if (!eight)
                    mult_one(g, xn, p, w, yo, o);
                else if (slide && p->shared && p->full)
                    mult_slide_full(xr + p->s0.c, C, wk, K, p->b0, p->b1, yo, R);
                else if (slide && p->shared)
                    mult_eight_slide(xr + p->s0.c, C, wk, K, p->b0, p->b1, yo, p->m0, p->m1, R, false);
                else if (p->shared && p->full)
                    MULT_EIGHT(true, true, true);
                else if (p->shared)
                    MULT_EIGHT(true, true, false);
                else if (one && p->full)
                    MULT_EIGHT(true, false, true);
                else if (one)
                    MULT_EIGHT(true, false, false);
                else
                    MULT_EIGHT(false, false, false);
#undef MULT_EIGHT
            }
            o += eight ? 8 : 1;
        }
    }
}

/* n (1..16) outputs at stride 2 from x[0], x[2], ..., x[2n-2]: two masked loads (never past x[2n-2]) and one
 * two-source permute that keeps the even elements. */
static inline __m512 load_even(const float *x, int64_t n, __m512i even)
{
    const int64_t need = 2 * n - 1;
    const __m512 lo = _mm512_maskz_loadu_ps(lanes(need), x);
    const __m512 hi = _mm512_maskz_loadu_ps(need > VL ? lanes(need - VL) : 0, x + VL);
    return _mm512_permutex2var_ps(lo, even, hi);
}

/* NCW at stride 2: as stride 1, each vector of inputs assembled from two loads by a permute (no gathers). */
static void ncw_stride2(const c1_dw_geom *g, const float *x, const float *w, float b, float *y, int64_t o0,
                        int64_t o1)
{
    const int64_t R = g->kernel_size, D = g->dilation;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512 bv = _mm512_set1_ps(b);
    c1_dw_ncw_row_taps(g, x, w, b, y, o0, f0);
    int64_t o = f0;
    for (; o + 4 * VL <= f1; o += 4 * VL) {
        __m512 a0 = bv, a1 = bv, a2 = bv, a3 = bv;
        const float *xp = x + 2 * o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D) {
            const __m512 wv = _mm512_set1_ps(w[r]);
            a0 = _mm512_fmadd_ps(load_even(xp, VL, even), wv, a0);
            a1 = _mm512_fmadd_ps(load_even(xp + 2 * VL, VL, even), wv, a1);
            a2 = _mm512_fmadd_ps(load_even(xp + 4 * VL, VL, even), wv, a2);
            a3 = _mm512_fmadd_ps(load_even(xp + 6 * VL, VL, even), wv, a3);
        }
        _mm512_storeu_ps(y + o, a0);
        _mm512_storeu_ps(y + o + VL, a1);
        _mm512_storeu_ps(y + o + 2 * VL, a2);
        _mm512_storeu_ps(y + o + 3 * VL, a3);
    }
    for (; o < f1; o += VL) {
        const int64_t n = f1 - o < VL ? f1 - o : VL;
        __m512 acc = bv;
        const float *xp = x + 2 * o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D)
            acc = _mm512_fmadd_ps(load_even(xp, n, even), _mm512_set1_ps(w[r]), acc);
        _mm512_mask_storeu_ps(y + o, lanes(n), acc);
    }
    c1_dw_ncw_row_taps(g, x, w, b, y, f1, o1);
}

/* NCW at stride 1 and dilation 1 for kernels of C1_DW_NCW_ALIGNED_MIN_TAPS..C1_DW_NCW_ALIGNED_MAX_TAPS taps, where
 * the FMAs, not the bytes, decide the time. Loading x[o + r] for every tap r would split a cache line in 15 of
 * 16 loads, which halves the FMA rate; instead the row is copied once into a zero-padded aligned buffer (which
 * also takes the edges), a pass of AL_VEC output vectors loads its AL_VEC + nq aligned vectors A[j] once, and tap
 * r = 16 q + s of output vector i is A[i + q .. i + q + 1] shifted by s lanes (one valignd), shared by every
 * (i, q) with i + q = j. */
#define AL_VEC 8

static inline __attribute__((always_inline)) void aligned_shift(const __m512 *A, __m512 *a, const float *w, int64_t R,
                                                                const int s, const int nq)
{
#pragma GCC unroll 16
    for (int j = 0; j < AL_VEC + nq - 1; j++) {
        const __m512 u = s == 0 ? A[j]
                                : _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(A[j + 1]),
                                                                          _mm512_castps_si512(A[j]), s));
#pragma GCC unroll 8
        for (int q = 0; q < nq; q++) {
            const int i = j - q;
            if (i >= 0 && i < AL_VEC && s + 16 * q < R) a[i] = _mm512_fmadd_ps(u, _mm512_set1_ps(w[s + 16 * q]), a[i]);
        }
    }
}

/* Outputs [0, n) of one row from buf (buf[t] is the input under tap 0 of output t), in passes of AL_VEC vectors; buf
 * holds at least round_up(n, 16 * AL_VEC) + 16 * nq floats. */
static inline __attribute__((always_inline)) void aligned_row(const float *buf, const float *w, int64_t R, float b,
                                                              float *y, int64_t n, const float *ahead, const int nq)
{
    for (int64_t o = 0; o < n; o += AL_VEC * VL) {
        __m512 a[AL_VEC], A[AL_VEC + 8];
        if (ahead)
#pragma GCC unroll 8
            for (int i = 0; i < AL_VEC; i++) _mm_prefetch((const char *)(ahead + o + VL * i), _MM_HINT_T0);
#pragma GCC unroll 8
        for (int i = 0; i < AL_VEC; i++) a[i] = _mm512_set1_ps(b);
#pragma GCC unroll 16
        for (int j = 0; j < AL_VEC + nq; j++) A[j] = _mm512_load_ps(buf + o + VL * j);
        aligned_shift(A, a, w, R, 0, nq);
        aligned_shift(A, a, w, R, 1, nq);
        aligned_shift(A, a, w, R, 2, nq);
        aligned_shift(A, a, w, R, 3, nq);
        aligned_shift(A, a, w, R, 4, nq);
        aligned_shift(A, a, w, R, 5, nq);
        aligned_shift(A, a, w, R, 6, nq);
        aligned_shift(A, a, w, R, 7, nq);
        aligned_shift(A, a, w, R, 8, nq);
        aligned_shift(A, a, w, R, 9, nq);
        aligned_shift(A, a, w, R, 10, nq);
        aligned_shift(A, a, w, R, 11, nq);
        aligned_shift(A, a, w, R, 12, nq);
        aligned_shift(A, a, w, R, 13, nq);
        aligned_shift(A, a, w, R, 14, nq);
        aligned_shift(A, a, w, R, 15, nq);
#pragma GCC unroll 8
        for (int i = 0; i < AL_VEC; i++) {
            const int64_t left = n - o - VL * i;
            if (left >= VL)
                _mm512_storeu_ps(y + o + VL * i, a[i]);
            else if (left > 0)
                _mm512_mask_storeu_ps(y + o + VL * i, lanes(left), a[i]);
        }
    }
}

/* Output chunk of at most AL_CHUNK positions per buffer fill: the buffers live on the stack (about 9 KiB each). */
#define AL_CHUNK 2048
#define AL_BUF (AL_CHUNK + AL_VEC * VL + VL * ((C1_DW_NCW_ALIGNED_MAX_TAPS + VL - 1) / VL))

static inline void aligned_rows(const float *buf, const float *w, int64_t R, float b, float *y, int64_t n,
                                const float *ahead, int64_t nq)
{
    _Static_assert(C1_DW_NCW_ALIGNED_MIN_TAPS > VL && C1_DW_NCW_ALIGNED_MAX_TAPS <= 6 * VL,
                   "the aligned path is instantiated for 2 to 6 vectors of taps");
    switch (nq) {
    case 2: aligned_row(buf, w, R, b, y, n, ahead, 2); break;
    case 3: aligned_row(buf, w, R, b, y, n, ahead, 3); break;
    case 4: aligned_row(buf, w, R, b, y, n, ahead, 4); break;
    case 5: aligned_row(buf, w, R, b, y, n, ahead, 5); break;
    default: aligned_row(buf, w, R, b, y, n, ahead, 6); break;
    }
}

/* A dilation D > 1 splits the outputs into D phases: output c0 + p + D*m reads x[c0 + p - pad_left + D*(m + r)], a
 * dilation-1 row over every D-th input, computed into a local row and written back at stride D. */
static void ncw_aligned(const c1_dw_geom *g, const float *x, const float *w, float b, float *y, int64_t o0, int64_t o1)
{
    const int64_t R = g->kernel_size, L = g->length, D = g->dilation, nq = (R + VL - 1) / VL;
    float buf[AL_BUF] __attribute__((aligned(64)));
    float out[D > 1 ? AL_CHUNK : 1] __attribute__((aligned(64)));
    for (int64_t c0 = o0; c0 < o1; c0 += AL_CHUNK) {
        const int64_t n = o1 - c0 < AL_CHUNK ? o1 - c0 : AL_CHUNK;
        for (int64_t p = 0; p < D && p < n; p++) {
            const int64_t np = (n - p + D - 1) / D;
            const int64_t len = (np + AL_VEC * VL - 1) / (AL_VEC * VL) * (AL_VEC * VL) + VL * nq;
            /* buf[t] = x[i0 + D*t], zero outside the row. */
            const int64_t i0 = c0 + p - g->pad_left;
            const int64_t lo = clamp64(i0 >= 0 ? 0 : (-i0 + D - 1) / D, 0, len);
            const int64_t hi = clamp64(L - i0 <= 0 ? 0 : (L - i0 + D - 1) / D, lo, len);
            memset(buf, 0, (size_t)lo * sizeof(float));
            if (D == 1) {
                if (hi > lo) memcpy(buf + lo, x + i0 + lo, (size_t)(hi - lo) * sizeof(float));
            } else {
                for (int64_t t = lo; t < hi; t++) buf[t] = x[i0 + D * t];
            }
            memset(buf + hi, 0, (size_t)(len - hi) * sizeof(float));
            if (D == 1) {
                /* The thread's next work item is most likely the next row: start fetching it. */
                aligned_rows(buf, w, R, b, y + c0, n, x + L + i0, nq);
            } else {
                aligned_rows(buf, w, R, b, out, np, NULL, nq);
                for (int64_t m = 0; m < np; m++) y[c0 + p + D * m] = out[m];
            }
        }
    }
}

void c1_dw_ncw_avx512(const c1_dw_geom *g, const float *x, const float *w, float b, float *y, int64_t o0, int64_t o1)
{
    if (g->stride == 1 && g->dilation <= C1_DW_NCW_ALIGNED_MAX_DILATION &&
        g->kernel_size >= C1_DW_NCW_ALIGNED_MIN_TAPS && g->kernel_size <= C1_DW_NCW_ALIGNED_MAX_TAPS) {
        ncw_aligned(g, x, w, b, y, o0, o1);
        return;
    }
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
    const __m512 bv = _mm512_set1_ps(b);
    c1_dw_ncw_row_taps(g, x, w, b, y, o0, f0);
    int64_t o = f0;
    /* 128 outputs per pass: each broadcast tap feeds eight vectors (unaligned loads at o + r*D). */
    for (; o + 8 * VL <= f1; o += 8 * VL) {
        __m512 a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv;
        const float *xp = x + o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D) {
            const __m512 wv = _mm512_set1_ps(w[r]);
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(xp), wv, a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + VL), wv, a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 2 * VL), wv, a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 3 * VL), wv, a3);
            a4 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 4 * VL), wv, a4);
            a5 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 5 * VL), wv, a5);
            a6 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 6 * VL), wv, a6);
            a7 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 7 * VL), wv, a7);
        }
        _mm512_storeu_ps(y + o, a0);
        _mm512_storeu_ps(y + o + VL, a1);
        _mm512_storeu_ps(y + o + 2 * VL, a2);
        _mm512_storeu_ps(y + o + 3 * VL, a3);
        _mm512_storeu_ps(y + o + 4 * VL, a4);
        _mm512_storeu_ps(y + o + 5 * VL, a5);
        _mm512_storeu_ps(y + o + 6 * VL, a6);
        _mm512_storeu_ps(y + o + 7 * VL, a7);
    }
    /* The rest of the interior a vector at a time; masked lanes load nothing, so the last may be partial. */
    for (; o < f1; o += VL) {
        const __mmask16 m = lanes(f1 - o);
        __m512 acc = bv;
        const float *xp = x + o - g->pad_left;
        for (int64_t r = 0; r < R; r++, xp += D)
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp), _mm512_set1_ps(w[r]), acc);
        _mm512_mask_storeu_ps(y + o, m, acc);
    }
    c1_dw_ncw_row_taps(g, x, w, b, y, f1, o1);
}

/* Outputs [o0, o1) of NR rows that read the same input row (output channels of one input channel under a
 * channel multiplier), from its phase-split taps: row j is y[j] = b[j] + sum_r w[j*R + r] * tap[r][o]. Each
 * vector of inputs is loaded once for the NR rows, so a pass of 4 vectors x NR rows does NR FMAs per load. */
static inline __attribute__((always_inline)) void phase_rows(const float *const *tap, const float *w, int64_t R,
                                                             const float *b, float *const *y, int64_t o0, int64_t o1,
                                                             const int NR)
{
    int64_t o = o0;
    for (; o + 4 * VL <= o1; o += 4 * VL) {
        __m512 a[4][4];
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++)
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) a[j][i] = _mm512_set1_ps(b[j]);
        for (int64_t r = 0; r < R; r++) {
            const float *xp = tap[r] + o;
            const __m512 x0 = _mm512_loadu_ps(xp), x1 = _mm512_loadu_ps(xp + VL);
            const __m512 x2 = _mm512_loadu_ps(xp + 2 * VL), x3 = _mm512_loadu_ps(xp + 3 * VL);
#pragma GCC unroll 4
            for (int j = 0; j < NR; j++) {
                const __m512 wv = _mm512_set1_ps(w[j * R + r]);
                a[j][0] = _mm512_fmadd_ps(x0, wv, a[j][0]);
                a[j][1] = _mm512_fmadd_ps(x1, wv, a[j][1]);
                a[j][2] = _mm512_fmadd_ps(x2, wv, a[j][2]);
                a[j][3] = _mm512_fmadd_ps(x3, wv, a[j][3]);
            }
        }
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++)
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) _mm512_storeu_ps(y[j] + o + i * VL, a[j][i]);
    }
    for (; o < o1; o += VL) {
        const __mmask16 m = lanes(o1 - o);
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++) {
            __m512 acc = _mm512_set1_ps(b[j]);
            for (int64_t r = 0; r < R; r++)
                acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, tap[r] + o), _mm512_set1_ps(w[j * R + r]), acc);
            _mm512_mask_storeu_ps(y[j] + o, m, acc);
        }
    }
}

void c1_dw_ncw_phase_taps_avx512(const float *const *tap, const float *w, int64_t R, const float *b, float *const *y,
                                 int nrows, int64_t o0, int64_t o1)
{
    if (nrows == 4)
        phase_rows(tap, w, R, b, y, o0, o1, 4);
    else
        for (int j = 0; j < nrows; j++) phase_rows(tap, w + j * R, R, b + j, y + j, o0, o1, 1);
}
