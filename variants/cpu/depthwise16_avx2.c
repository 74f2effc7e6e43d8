/*
 * bf16 and f16 depthwise kernels for AVX2 + FMA + F16C (ymm: 8 floats from 128 bits of 16-bit elements); called only
 * when the CPU has them. depthwise16.c says what each kernel computes and why the tensors stay 16-bit.
 *
 * Conversions, fused into the loads and stores:
 *   bf16 -> fp32  zero-extend to 32 bits and shift left 16 (exact)
 *   fp32 -> bf16  to nearest even in integer operations: add 0x7fff plus the lowest kept bit, keep the top 16 (see
 *                 bf16_round.h for NaN), then pack the halves, two vectors at a time where several are stored
 *   f16 <-> fp32  vcvtph2ps, and vcvtps2ph with round to nearest even
 * Every kernel takes the dtype as a constant (bf), so each is compiled once per dtype.
 */
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bf16_round.h"
#include "depthwise16.h"
#include "half.h"

#define VL 8
#define INLINE static inline __attribute__((always_inline))

static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Eight 16-bit elements from 128 bits, widened. */
INLINE __m256 widen8(__m128i h, const bool bf)
{
    return bf ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)) : _mm256_cvtph_ps(h);
}

INLINE __m256 ld8(const uint16_t *p, const bool bf) { return widen8(_mm_loadu_si128((const __m128i *)p), bf); }


/* Eight floats rounded once to the 16-bit type, into 128 bits. */
INLINE __m128i narrow8(__m256 v, const bool bf)
{
    if (!bf) return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i r = c1_bf16_round8(v);
    return _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
}

INLINE void st8(uint16_t *p, __m256 v, const bool bf) { _mm_storeu_si128((__m128i *)p, narrow8(v, bf)); }

/* n vectors a[i] into y + i*step; bf16 packs two at a time (one vpackusdw and one vpermq for sixteen outputs). */
INLINE void st8_rows(uint16_t *y, int64_t step, const __m256 *a, const int n, const bool bf)
{
    int i = 0;
    if (bf)
#pragma GCC unroll 4
        for (; i + 2 <= n; i += 2) {
            const __m256i h = _mm256_permute4x64_epi64(_mm256_packus_epi32(c1_bf16_round8(a[i]), c1_bf16_round8(a[i + 1])),
                                                       _MM_SHUFFLE(3, 1, 2, 0));
            if (step == VL) {
                _mm256_storeu_si256((__m256i *)(y + i * step), h);
            } else {
                _mm_storeu_si128((__m128i *)(y + i * step), _mm256_castsi256_si128(h));
                _mm_storeu_si128((__m128i *)(y + (i + 1) * step), _mm256_extracti128_si256(h, 1));
            }
        }
#pragma GCC unroll 8
    for (; i < n; i++) st8(y + i * step, a[i], bf);
}

/* One element, scalar, for the ragged ends of a window. */
INLINE float widen1(uint16_t h, const bool bf) { return bf ? c1_bf16_to_f32(h) : _cvtsh_ss(h); }

/* ---- NWC: vectors over channels ---- */

/* One output position of one vector of channels (xn, wc, yo at that vector), its taps clamped to the input: the
 * edges and the leftovers of the interior. Even and odd taps in two chains. */
INLINE void nwc_one(const c1_dw_geom *g, const uint16_t *xn, const float *wc, __m256 b, uint16_t *yo, int64_t o,
                    const bool bf)
{
    const int64_t C = g->in_channels, step = g->dilation * C;
    int64_t r0, r1;
    c1_dw_taps(g, o, &r0, &r1);
    const uint16_t *xp = xn + (o * g->stride - g->pad_left + r0 * g->dilation) * C;
    __m256 acc = b, odd = _mm256_setzero_ps();
    int64_t r = r0;
    for (; r + 2 <= r1; r += 2, xp += 2 * step) {
        acc = _mm256_fmadd_ps(ld8(xp, bf), _mm256_load_ps(wc + r * VL), acc);
        odd = _mm256_fmadd_ps(ld8(xp + step, bf), _mm256_load_ps(wc + (r + 1) * VL), odd);
    }
    if (r < r1) acc = _mm256_fmadd_ps(ld8(xp, bf), _mm256_load_ps(wc + r * VL), acc);
    st8(yo, _mm256_add_ps(acc, odd), bf);
}

/* Eight output positions of one vector of channels, all taps inside the input (xp at the first position's tap 0):
 * eight positions share each tap's weight load, and eight independent chains hide the FMA latency. */
INLINE void nwc_eight(const c1_dw_geom *g, const uint16_t *xp, const float *wc, __m256 b, uint16_t *yo, const bool bf)
{
    const int64_t C = g->in_channels, step = g->dilation * C, sc = g->stride * C;
    __m256 a[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) a[i] = b;
    for (int64_t r = 0; r < g->kernel_size; r++, xp += step) {
        const __m256 wv = _mm256_load_ps(wc + r * VL);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) a[i] = _mm256_fmadd_ps(ld8(xp + i * sc, bf), wv, a[i]);
    }
    st8_rows(yo, C, a, 8, bf);
}

/* Six positions o, o + D, ..., o + 5D of one phase of the dilation D at stride 1: output o + D*i at tap r reads input
 * row o - pad_left + D*(i + r), so the six rows of one tap are the previous tap's shifted by one, and each tap loads
 * (and widens) one new row and its weights for six FMAs. Six, not eight: six accumulators and a window of six rows
 * fit the sixteen ymm registers. xs: D rows of the input, ys: D rows of the output. R is a constant where the caller
 * can make it one (Mamba's 4). */
INLINE void nwc_six_slide(const uint16_t *xp, int64_t xs, const float *wc, __m256 b, uint16_t *yo, int64_t ys,
                          const int64_t R, const bool bf)
{
    __m256 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b;
    __m256 x0 = ld8(xp, bf), x1 = ld8(xp + xs, bf), x2 = ld8(xp + 2 * xs, bf), x3 = ld8(xp + 3 * xs, bf);
    __m256 x4 = ld8(xp + 4 * xs, bf);
    xp += 5 * xs;
#pragma GCC unroll 4
    for (int64_t r = 0; r < R; r++, xp += xs) {
        const __m256 x5 = ld8(xp, bf), wv = _mm256_load_ps(wc + r * VL);
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
    const __m256 a[6] = {a0, a1, a2, a3, a4, a5};
    st8_rows(yo, ys, a, 6, bf);
}

/* ---- NWC bf16: sixteen channels from 256 bits ----
 *
 * vpunpck[lh]wd against zeros widens 256 bits of bf16 (channels c to c + 15) into two vectors of floats, the low one
 * holding channels {0-3, 8-11} of the sixteen and the high one {4-7, 12-15}, and the rounded sums of those lanes
 * pack back into the channels' order with one vpackusdw (narrow_bf16_split): one load and two shuffles widen sixteen
 * channels and one pack and a 32-byte store narrow them, where ld8 takes a vpmovzxwd and a shift for eight and
 * st8_rows a pack, a permute and an extract per sixteen. The kernel was bound by those operations, not by memory.
 * Whole blocks of sixteen channels have their weights packed in that lane order (depthwise16.h): the low half's
 * vector first, wb at the block's first tap, the high half's R * VL floats on. */

/* Sixteen bf16 outputs of lanes {0-3, 8-11} (lo) and {4-7, 12-15} (hi), rounded, in order. */
INLINE __m256i narrow_bf16_split(__m256 lo, __m256 hi)
{
    return _mm256_packus_epi32(c1_bf16_round8(lo), c1_bf16_round8(hi));
}

/* The low (H = 0) or high (H = 1) half of sixteen bf16 channels, widened. */
INLINE __m256 widen_half(__m256i h, const int H)
{
    const __m256i z = _mm256_setzero_si256();
    return _mm256_castsi256_ps(H ? _mm256_unpackhi_epi16(z, h) : _mm256_unpacklo_epi16(z, h));
}

INLINE __m256i ld16(const uint16_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* The bias of a block of sixteen channels in the halves' lane order. */
INLINE void bias16(const float *b, __m256 *lo, __m256 *hi)
{
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + VL);
    *lo = _mm256_permute2f128_ps(b0, b1, 0x20);
    *hi = _mm256_permute2f128_ps(b0, b1, 0x31);
}

/* nwc_one for a block of sixteen channels. */
INLINE void nwc16_one(const c1_dw_geom *g, const uint16_t *xn, const float *wb, __m256 blo, __m256 bhi, uint16_t *yo,
                      int64_t o)
{
    const int64_t C = g->in_channels, R = g->kernel_size, step = g->dilation * C;
    int64_t r0, r1;
    c1_dw_taps(g, o, &r0, &r1);
    const uint16_t *xp = xn + (o * g->stride - g->pad_left + r0 * g->dilation) * C;
    __m256 lo = blo, hi = bhi;
    for (int64_t r = r0; r < r1; r++, xp += step) {
        const __m256i h = ld16(xp);
        lo = _mm256_fmadd_ps(widen_half(h, 0), _mm256_load_ps(wb + r * VL), lo);
        hi = _mm256_fmadd_ps(widen_half(h, 1), _mm256_load_ps(wb + (R + r) * VL), hi);
    }
    _mm256_storeu_si256((__m256i *)yo, narrow_bf16_split(lo, hi));
}

/* P positions of a block of sixteen channels, one half at a time (2P accumulators would not fit the sixteen ymm
 * registers beside the rows): the low half's sums, rounded, wait in `done` for the high half's pass, which packs
 * and stores each row whole. Sliding (stride 1, P = 6): each tap loads one new row, as nwc_six_slide; otherwise
 * (P = 8) every position loads its own rows, as nwc_eight. */
INLINE void nwc16_pass(const uint16_t *xp, int64_t xs, int64_t sc, const float *wh, __m256 b, int64_t R, const int P,
                       const bool slide, const int H, __m256i *done, uint16_t *yo, int64_t ys)
{
    __m256 a[8];
#pragma GCC unroll 8
    for (int i = 0; i < P; i++) a[i] = b;
    if (slide) {
        __m256 w0 = widen_half(ld16(xp), H), w1 = widen_half(ld16(xp + xs), H), w2 = widen_half(ld16(xp + 2 * xs), H);
        __m256 w3 = widen_half(ld16(xp + 3 * xs), H), w4 = widen_half(ld16(xp + 4 * xs), H);
        xp += 5 * xs;
#pragma GCC unroll 4
        for (int64_t r = 0; r < R; r++, xp += xs) {
            const __m256 w5 = widen_half(ld16(xp), H), wv = _mm256_load_ps(wh + r * VL);
            a[0] = _mm256_fmadd_ps(w0, wv, a[0]);
            a[1] = _mm256_fmadd_ps(w1, wv, a[1]);
            a[2] = _mm256_fmadd_ps(w2, wv, a[2]);
            a[3] = _mm256_fmadd_ps(w3, wv, a[3]);
            a[4] = _mm256_fmadd_ps(w4, wv, a[4]);
            a[5] = _mm256_fmadd_ps(w5, wv, a[5]);
            w0 = w1;
            w1 = w2;
            w2 = w3;
            w3 = w4;
            w4 = w5;
        }
    } else {
        for (int64_t r = 0; r < R; r++, xp += xs) {
            const __m256 wv = _mm256_load_ps(wh + r * VL);
#pragma GCC unroll 8
            for (int i = 0; i < P; i++) a[i] = _mm256_fmadd_ps(widen_half(ld16(xp + i * sc), H), wv, a[i]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < P; i++) {
        const __m256i r = c1_bf16_round8(a[i]);
        if (H)
            _mm256_storeu_si256((__m256i *)(yo + i * ys), _mm256_packus_epi32(done[i], r));
        else
            done[i] = r;
    }
}

/* Six positions of a block of sixteen channels at stride 1 (positions D apart), as nwc_six_slide. */
INLINE void nwc16_six_slide(const uint16_t *xp, int64_t xs, const float *wb, const float *bias, uint16_t *yo, int64_t ys,
                            const int64_t R)
{
    __m256 blo, bhi;
    __m256i done[8];
    bias16(bias, &blo, &bhi);
    nwc16_pass(xp, xs, 0, wb, blo, R, 6, true, 0, done, yo, ys);
    nwc16_pass(xp, xs, 0, wb + R * VL, bhi, R, 6, true, 1, done, yo, ys);
}

/* Eight positions of a block of sixteen channels, all taps inside the input (xp at the first position's tap 0). */
INLINE void nwc16_eight(const c1_dw_geom *g, const uint16_t *xp, const float *wb, const float *bias, uint16_t *yo)
{
    const int64_t C = g->in_channels, R = g->kernel_size;
    __m256 blo, bhi;
    __m256i done[8];
    bias16(bias, &blo, &bhi);
    nwc16_pass(xp, g->dilation * C, g->stride * C, wb, blo, R, 8, false, 0, done, yo, C);
    nwc16_pass(xp, g->dilation * C, g->stride * C, wb + R * VL, bhi, R, 8, false, 1, done, yo, C);
}

/* One output position (yo at its row) over the channels [c0, cfull), taps clamped: bf16's blocks of sixteen [c0, c16)
 * in halves, then vectors of eight. The edges, and what the groups of six or eight leave. */
INLINE void nwc_row(const c1_dw_geom *g, const uint16_t *xn, const float *w, const float *bias, uint16_t *yo, int64_t o,
                    int64_t c0, int64_t c16, int64_t cfull, const bool bf)
{
    const int64_t R = g->kernel_size;
    for (int64_t c = c0; c < c16; c += 16) {
        __m256 blo, bhi;
        bias16(bias + c, &blo, &bhi);
        nwc16_one(g, xn + c, w + c * R, blo, bhi, yo + c, o);
    }
    for (int64_t c = c16; c < cfull; c += VL) nwc_one(g, xn + c, w + c * R, _mm256_loadu_ps(bias + c), yo + c, o, bf);
}

/* Whole vectors of channels [c0, cfull) of batch element n, positions [o0, o1); the tail channels are the portable
 * kernel's (the caller's). Positions outermost, channels innermost: each input row is read as one contiguous run of
 * the block's channels. */
INLINE void nwc_block(const c1_dw_geom *g, const uint16_t *x, const float *w, const float *bias, uint16_t *y,
                      int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t cfull, const bool bf)
{
    const int64_t C = g->in_channels, R = g->kernel_size, D = g->dilation;
    const uint16_t *xn = x + n * g->length * C;
    uint16_t *yn = y + n * g->out_length * C;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    /* bf16: whole blocks of sixteen channels [c0, c16) in the halves' form, a last vector of eight as f16's */
    const int64_t c16 = bf ? c0 + (cfull - c0) / 16 * 16 : c0;
    int64_t o = o0;
    for (; o < f0; o++) nwc_row(g, xn, w, bias, yn + o * C, o, c0, c16, cfull, bf);
    if (g->stride == 1)
        for (; o + 6 * D <= f1; o += 6 * D)
            for (int64_t p = 0; p < D; p++) {
                const uint16_t *xo = xn + (o + p - g->pad_left) * C;
                uint16_t *yo = yn + (o + p) * C;
                const bool ahead = o + 12 * D <= f1; /* the next six positions are interior too */
                for (int64_t c = c0; c < c16; c += 16) {
                    if (ahead) c1_dw_prefetch_next(xo, c, D * C, R, 6, sizeof *xo);
                    if (R == 4) /* Mamba's d_conv: the taps unrolled, the window shifts by renaming */
                        nwc16_six_slide(xo + c, D * C, w + c * R, bias + c, yo + c, D * C, 4);
                    else
                        nwc16_six_slide(xo + c, D * C, w + c * R, bias + c, yo + c, D * C, R);
                }
                for (int64_t c = c16; c < cfull; c += VL) {
                    if (ahead) c1_dw_prefetch_next(xo, c, D * C, R, 6, sizeof *xo);
                    const __m256 b = _mm256_loadu_ps(bias + c);
                    if (R == 4)
                        nwc_six_slide(xo + c, D * C, w + c * R, b, yo + c, D * C, 4, bf);
                    else
                        nwc_six_slide(xo + c, D * C, w + c * R, b, yo + c, D * C, R, bf);
                }
            }
    for (; o + 8 <= f1; o += 8) {
        const uint16_t *xo = xn + (o * g->stride - g->pad_left) * C;
        for (int64_t c = c0; c < c16; c += 16) nwc16_eight(g, xo + c, w + c * R, bias + c, yn + o * C + c);
        for (int64_t c = c16; c < cfull; c += VL)
            nwc_eight(g, xo + c, w + c * R, _mm256_loadu_ps(bias + c), yn + o * C + c, bf);
    }
    for (; o < o1; o++) nwc_row(g, xn, w, bias, yn + o * C, o, c0, c16, cfull, bf);
}

void c1_dw16_nwc_avx2(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias, uint16_t *y,
                      int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    const int64_t cfull = c0 + (c1 - c0) / VL * VL;
    if (bf)
        nwc_block(g, x, w, bias, y, n, o0, o1, c0, cfull, true);
    else
        nwc_block(g, x, w, bias, y, n, o0, o1, c0, cfull, false);
    /* AVX2 has no 16-bit masked loads or stores: the last few channels are the portable kernel's */
    if (cfull < c1) c1_dw16_nwc_c(g, bf, x, w, bias, y, n, o0, o1, cfull, c1);
}

/* ---- NWC with a channel multiplier: broadcasts from the run of one input channel (depthwise16.h) ---- */

/* P positions (xt, xt + S, ... in the run) of NV vectors of output channels (NV 1 or 2; wk their packed weights, the
 * second vector's R*VL floats on), yo at the first position's first channel: P*NV accumulators, each tap two weight
 * loads and P broadcasts for P*NV FMAs. Six by two fills the sixteen ymm registers. */
INLINE void mult_rows(const float *xt, int64_t S, const int64_t D, const int64_t R, const float *wk, __m256 b0,
                      __m256 b1, uint16_t *yo, int64_t K, const int P, const int NV, const bool bf)
{
    const float *xp[6];
    __m256 a[6][2];
#pragma GCC unroll 6
    for (int i = 0; i < P; i++) xp[i] = xt + i * S, a[i][0] = b0, a[i][1] = b1;
#pragma GCC unroll 10
    for (int64_t r = 0; r < R; r++) {
        const __m256 w0 = _mm256_load_ps(wk + r * VL), w1 = NV == 2 ? _mm256_load_ps(wk + (R + r) * VL) : w0;
#pragma GCC unroll 6
        for (int i = 0; i < P; i++) {
            const __m256 xb = _mm256_broadcast_ss(xp[i] + r * D);
            a[i][0] = _mm256_fmadd_ps(xb, w0, a[i][0]);
            if (NV == 2) a[i][1] = _mm256_fmadd_ps(xb, w1, a[i][1]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < P; i++) st8_rows(yo + i * K, VL, a[i], NV, bf);
}

/* nt positions of the output channels [kb, ke) of one input channel (whole vectors) from its run xs. */
INLINE void mult_tile(const float *xs, int64_t nt, int64_t S, const int64_t D, const int64_t R, const float *w,
                      const float *bias, uint16_t *yo, int64_t K, int64_t kb, int64_t ke, const bool bf)
{
    /* one vector pair at a time over all the positions: its weights stay in L1 (all of a 1 -> 512 layer's are 20 KB) */
    for (int64_t k = kb; k < ke; k += 2 * VL) {
        const bool two = ke - k >= 2 * VL;
        const __m256 b0 = _mm256_loadu_ps(bias + k), b1 = two ? _mm256_loadu_ps(bias + k + VL) : b0;
        const float *wk = w + k * R;
        int64_t t = 0;
        if (two) {
            for (; t + 6 <= nt; t += 6) mult_rows(xs + t * S, S, D, R, wk, b0, b1, yo + t * K + k, K, 6, 2, bf);
            for (; t < nt; t++) mult_rows(xs + t * S, S, D, R, wk, b0, b1, yo + t * K + k, K, 1, 2, bf);
        } else {
            for (; t + 6 <= nt; t += 6) mult_rows(xs + t * S, S, D, R, wk, b0, b1, yo + t * K + k, K, 6, 1, bf);
            for (; t < nt; t++) mult_rows(xs + t * S, S, D, R, wk, b0, b1, yo + t * K + k, K, 1, 1, bf);
        }
    }
}

/* mult_tile with the kernel size a constant for 1 to 10 taps (first layers: wav2vec2's 10, EnCodec's 7) and dilation
 * 1 a constant: the taps unrolled, every run offset a displacement. */
static void mult_tile_taps(const float *xs, int64_t nt, const c1_dw_geom *g, const float *w, const float *bias,
                           uint16_t *yo, int64_t kb, int64_t ke, const bool bf)
{
    const int64_t S = g->stride, D = g->dilation, R = g->kernel_size, K = g->out_channels;
#define MULT_TILE_R(t)                                                                                                 \
    case t:                                                                                                            \
        if (D == 1)                                                                                                    \
            mult_tile(xs, nt, S, 1, t, w, bias, yo, K, kb, ke, bf);                                                    \
        else                                                                                                           \
            mult_tile(xs, nt, S, D, t, w, bias, yo, K, kb, ke, bf);                                                    \
        return;
    switch (R) {
        MULT_TILE_R(1) MULT_TILE_R(2) MULT_TILE_R(3) MULT_TILE_R(4) MULT_TILE_R(5) MULT_TILE_R(6) MULT_TILE_R(7)
        MULT_TILE_R(8) MULT_TILE_R(9) MULT_TILE_R(10)
    }
#undef MULT_TILE_R
    mult_tile(xs, nt, S, D, R, w, bias, yo, K, kb, ke, bf);
}

static void nwc_mult(const c1_dw_geom *g, const uint16_t *x, const float *w, const float *bias, uint16_t *y, int64_t n,
                     int64_t o0, int64_t o1, int64_t c0, int64_t c1, const bool bf)
{
    const int64_t C = g->in_channels, K = g->out_channels, M = g->mult;
    const int64_t T = c1_dw16_mult_positions(g);
    const uint16_t *xn = x + n * g->length * C;
    float xs[C1_DW16_MULT_RUN] __attribute__((aligned(32)));
    for (int64_t t0 = o0; t0 < o1; t0 += T) {
        const int64_t nt = min64(T, o1 - t0);
        uint16_t *yo = y + (n * g->out_length + t0) * K;
        for (int64_t ci = c0 / M; ci * M < c1; ci++) {
            c1_dw16_mult_fill(g, bf, xn, ci, t0, nt, xs);
            if (bf)
                mult_tile_taps(xs, nt, g, w, bias, yo, c0 > ci * M ? c0 : ci * M, min64(c1, ci * M + M), true);
            else
                mult_tile_taps(xs, nt, g, w, bias, yo, c0 > ci * M ? c0 : ci * M, min64(c1, ci * M + M), false);
        }
    }
}

void c1_dw16_nwc_mult_avx2(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias,
                           uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    if (g->mult % VL != 0 || c1_dw16_mult_positions(g) == 0)
        c1_dw16_nwc_mult_c(g, bf, VL, x, w, bias, y, n, o0, o1, c0, c1);
    else
        nwc_mult(g, x, w, bias, y, n, o0, o1, c0, c1, bf);
}

/* ---- NCW: vectors over positions, through the window buffer (depthwise16.h) ---- */

/* Phase p, positions [j0, j1) of the window, all inside the row, scalar. */
INLINE void fill_scalar(const uint16_t *x, int64_t i0, int64_t S, int64_t p, float *dst, int64_t j0, int64_t j1,
                        const bool bf)
{
    for (int64_t j = j0; j < j1; j++) dst[j] = widen1(x[i0 + S * j + p], bf);
}

/* Stride 1 and 2 widen whole vectors where the window is inside the row: at stride 2 one 256-bit load holds eight
 * inputs of each phase, which bf16 separates with a shift (the even elements) and a mask (the odd ones), f16 with
 * a pack of the low and high halves. The ragged ends and other strides go element by element, the padding is zeros. */
INLINE void fill(const c1_dw_geom *g, const uint16_t *x, c1_dw16_window win, float *buf, const bool bf)
{
    const int64_t S = g->stride, L = g->length, i0 = win.i0, plen = win.plen, len = win.len;
    /* [ja, jb): whole vectors whose S*VL inputs are all inside the row */
    const int64_t ja = i0 >= 0 ? 0 : min64((-i0 + S - 1) / S, len);
    int64_t nv = 0;
    if (S <= 2 && L - i0 - S * ja > 0) nv = min64((len - ja) / VL, (L - i0 - S * ja) / (S * VL));
    const int64_t jb = ja + nv * VL;
    for (int64_t p = 0; p < S; p++) {
        float *dst = buf + p * plen;
        int64_t jlo, jhi;
        c1_dw16_phase_range(g, win, p, &jlo, &jhi);
        memset(dst, 0, (size_t)jlo * sizeof *dst);
        if (nv > 0) {
            fill_scalar(x, i0, S, p, dst, jlo, ja, bf);
            fill_scalar(x, i0, S, p, dst, jb, jhi, bf);
        } else {
            fill_scalar(x, i0, S, p, dst, jlo, jhi, bf);
        }
        memset(dst + jhi, 0, (size_t)(len - jhi) * sizeof *dst);
    }
    if (nv == 0) return;
    const uint16_t *xp = x + i0 + S * ja;
    if (S == 1) {
        for (int64_t j = ja; j < jb; j += VL, xp += VL) _mm256_storeu_ps(buf + j, ld8(xp, bf));
    } else {
        for (int64_t j = ja; j < jb; j += VL, xp += 2 * VL) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)xp);
            __m256 even, odd;
            if (bf) {
                even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
                odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000u)));
            } else {
                /* [even 0-3, odd 0-3 | even 4-7, odd 4-7], then the 64-bit quarters in the order 0 2 1 3 */
                const __m256i lo = _mm256_and_si256(v, _mm256_set1_epi32(0xffff)), hi = _mm256_srli_epi32(v, 16);
                const __m256i h = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
                even = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
                odd = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
            }
            _mm256_storeu_ps(buf + j, even);
            _mm256_storeu_ps(buf + plen + j, odd);
        }
    }
}

void c1_dw16_ncw_fill_avx2(const c1_dw_geom *g, bool bf, const uint16_t *x, c1_dw16_window win, float *buf)
{
    if (bf)
        fill(g, x, win, buf, true);
    else
        fill(g, x, win, buf, false);
}

/* Outputs [0, m) of a chunk: passes of eight vectors, each tap broadcast once for the eight (64 outputs), then single
 * vectors; the last partial vector reads the window's slack and stores its live lanes through a buffer. */
INLINE void taps(const float *buf, const int64_t *off, const float *w, int64_t R, float b, uint16_t *y, int64_t m,
                 const bool bf)
{
    const __m256 bv = _mm256_set1_ps(b);
    int64_t t = 0;
    for (; t + 8 * VL <= m; t += 8 * VL) {
        __m256 a[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) a[i] = bv;
        for (int64_t r = 0; r < R; r++) {
            const float *xp = buf + off[r] + t;
            const __m256 wv = _mm256_broadcast_ss(w + r);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) a[i] = _mm256_fmadd_ps(_mm256_loadu_ps(xp + i * VL), wv, a[i]);
        }
        st8_rows(y + t, VL, a, 8, bf);
    }
    for (; t < m; t += VL) {
        __m256 a0 = bv, a1 = _mm256_setzero_ps();
        int64_t r = 0;
        for (; r + 2 <= R; r += 2) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(buf + off[r] + t), _mm256_broadcast_ss(w + r), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(buf + off[r + 1] + t), _mm256_broadcast_ss(w + r + 1), a1);
        }
        if (r < R) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(buf + off[r] + t), _mm256_broadcast_ss(w + r), a0);
        a0 = _mm256_add_ps(a0, a1);
        if (t + VL <= m) {
            st8(y + t, a0, bf);
        } else {
            uint16_t tmp[VL];
            st8(tmp, a0, bf);
            memcpy(y + t, tmp, (size_t)(m - t) * sizeof *tmp);
        }
    }
}

void c1_dw16_ncw_taps_avx2(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, float b,
                           uint16_t *y, int64_t m)
{
    if (bf)
        taps(buf, off, w, R, b, y, m, true);
    else
        taps(buf, off, w, R, b, y, m, false);
}

/* Four output rows of one window (a channel multiplier): a pass of three vectors of outputs loads each tap's three
 * input vectors once for the four rows and broadcasts each row's weight once for the three, twelve accumulators and
 * seven loads per twelve FMAs (one row at a time is a load per FMA). The rest of the chunk, row by row. */
INLINE void taps4(const float *buf, const int64_t *off, const float *w, int64_t R, const float *b, uint16_t *y,
                  int64_t ys, int64_t m, const bool bf)
{
    int64_t t = 0;
    for (; t + 3 * VL <= m; t += 3 * VL) {
        __m256 a[4][3];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) a[j][0] = a[j][1] = a[j][2] = _mm256_broadcast_ss(b + j);
        for (int64_t r = 0; r < R; r++) {
            const float *xp = buf + off[r] + t;
            const __m256 x0 = _mm256_loadu_ps(xp), x1 = _mm256_loadu_ps(xp + VL), x2 = _mm256_loadu_ps(xp + 2 * VL);
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                const __m256 wv = _mm256_broadcast_ss(w + j * R + r);
                a[j][0] = _mm256_fmadd_ps(x0, wv, a[j][0]);
                a[j][1] = _mm256_fmadd_ps(x1, wv, a[j][1]);
                a[j][2] = _mm256_fmadd_ps(x2, wv, a[j][2]);
            }
        }
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) st8_rows(y + j * ys + t, VL, a[j], 3, bf);
    }
    if (t < m)
        for (int j = 0; j < 4; j++) taps(buf + t, off, w + j * R, R, b[j], y + j * ys + t, m - t, bf);
}

void c1_dw16_ncw_taps4_avx2(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, const float *b,
                            uint16_t *y, int64_t ys, int64_t m)
{
    if (bf)
        taps4(buf, off, w, R, b, y, ys, m, true);
    else
        taps4(buf, off, w, R, b, y, ys, m, false);
}

/* ---- Short rows (decode steps: input and output lengths up to C1_DW16_SHORT_MAX_LEN, both layouts) ----
 *
 * Blocks of eight channels of one batch element, one vector per position: xq[j] holds input position j - pad_left of
 * the eight channels (zero vectors for the padding, written once per call; each block writes only xq[pad_left,
 * pad_left + L)), so output o at tap r reads xq[o*S + r*D] and every output runs every tap without a clamp. In NCW
 * the block's eight rows are 8 * L contiguous elements, brought into that form by an 8x8 transpose in registers and
 * taken back out the same way. The AVX-512 variant runs this too (its level includes AVX2). */

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

/* Outputs yt[0, OL) of a block from xq: OL accumulators in registers, one weight load per tap. wb: the block's bias,
 * then its taps (depthwise16.h). */
INLINE void short_compute(const c1_dw_geom *g, const __m256 *xq, const float *wb, __m256 *yt, const int OL)
{
    const int64_t S = g->stride, D = g->dilation, R = g->kernel_size;
    __m256 a[C1_DW16_SHORT_MAX_LEN];
    const __m256 b = _mm256_load_ps(wb);
#pragma GCC unroll 8
    for (int o = 0; o < OL; o++) a[o] = b;
    for (int64_t r = 0; r < R; r++) {
        const __m256 wv = _mm256_load_ps(wb + (r + 1) * VL);
        const __m256 *xr = xq + r * D;
#pragma GCC unroll 8
        for (int o = 0; o < OL; o++) a[o] = _mm256_fmadd_ps(xr[o * S], wv, a[o]);
    }
#pragma GCC unroll 8
    for (int o = 0; o < OL; o++) yt[o] = a[o];
}

/* Eight NCW rows from xb (row c at xb + c*L) into eight rows from yb (row c at yb + c*OL). Every load and store is a
 * whole vector: a row's load reads the next rows' first elements into lanes past L, which are cleared before the
 * transpose (keep), and a row's store writes past its row into the rows after it, which the later stores overwrite;
 * the caller makes sure both stay inside memory it may touch. */
INLINE void short_ncw_block(const c1_dw_geom *g, __m256 *xq, __m256 keep, const uint16_t *xb, const float *wb,
                            uint16_t *yb, const int OL, const bool bf)
{
    const int64_t L = g->length;
    __m256 r[VL], yt[VL];
#pragma GCC unroll 8
    for (int c = 0; c < VL; c++) r[c] = _mm256_and_ps(ld8(xb + c * L, bf), keep);
    transpose8(r);
    __m256 *xl = xq + g->pad_left;
    for (int64_t l = 0; l < L; l++) xl[l] = r[l];
    short_compute(g, xq, wb, yt, OL);
#pragma GCC unroll 8
    for (int o = OL; o < VL; o++) yt[o] = _mm256_setzero_ps(); /* stored past the rows, overwritten later */
    transpose8(yt);
#pragma GCC unroll 8
    for (int c = 0; c < VL; c++) st8(yb + c * OL, yt[c], bf);
}

/* Channels [c0, c1) of batch elements [n0, n1) in NCW: whole blocks of eight rows straight from x into y, except the
 * last block, whose spilling loads and stores could leave the range (or the tensor), which goes through buffers on
 * the stack, as does a block of fewer than eight rows. Batch elements innermost, so a block's weights come from L1
 * after the first (the spill of a block lands in the next block of its own batch element, which comes later). */
INLINE void short_ncw(const c1_dw_geom *g, __m256 *xq, const uint16_t *x, const float *wp, uint16_t *y, int64_t n0,
                      int64_t n1, int64_t c0, int64_t c1, const int OL, const bool bf)
{
    const int64_t C = g->in_channels, L = g->length, bs = (g->kernel_size + 1) * VL;
    const __m256 keep = _mm256_castsi256_ps(
        _mm256_cmpgt_epi32(_mm256_set1_epi32((int)L), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
    int64_t c = c0;
    for (; c + 2 * VL <= c1; c += VL)
        for (int64_t n = n0; n < n1; n++)
            short_ncw_block(g, xq, keep, x + (n * C + c) * L, wp + c / VL * bs, y + (n * C + c) * OL, OL, bf);
    for (; c < c1; c += VL)
        for (int64_t n = n0; n < n1; n++) {
            const int64_t nr = min64(c1 - c, VL);
            uint16_t bx[VL * C1_DW16_SHORT_MAX_LEN + VL] = {0}, by[VL * C1_DW16_SHORT_MAX_LEN + VL];
            memcpy(bx, x + (n * C + c) * L, (size_t)(nr * L) * sizeof *bx);
            short_ncw_block(g, xq, keep, bx, wp + c / VL * bs, by, OL, bf);
            memcpy(y + (n * C + c) * OL, by, (size_t)(nr * OL) * sizeof *by);
        }
}

/* Channels [c0, c1) of batch element n in NWC: position l of the block is one vector of the input's row l. The last
 * block, when narrower than eight channels, goes through buffers on the stack. */
INLINE void short_nwc(const c1_dw_geom *g, __m256 *xq, const uint16_t *x, const float *wp, uint16_t *y, int64_t n,
                      int64_t c0, int64_t c1, const int OL, const bool bf)
{
    const int64_t C = g->in_channels, L = g->length, bs = (g->kernel_size + 1) * VL;
    const uint16_t *xn = x + n * L * C;
    uint16_t *yn = y + n * OL * C;
    __m256 *xl = xq + g->pad_left, yt[VL];
    for (int64_t c = c0; c < c1; c += VL) {
        const int64_t nr = min64(c1 - c, VL);
        if (nr == VL) {
            for (int64_t l = 0; l < L; l++) xl[l] = ld8(xn + l * C + c, bf);
        } else {
            for (int64_t l = 0; l < L; l++) {
                uint16_t bx[VL] = {0};
                memcpy(bx, xn + l * C + c, (size_t)nr * sizeof *bx);
                xl[l] = ld8(bx, bf);
            }
        }
        short_compute(g, xq, wp + c / VL * bs, yt, OL);
        if (nr == VL) {
#pragma GCC unroll 8
            for (int o = 0; o < OL; o++) st8(yn + o * C + c, yt[o], bf);
        } else {
            for (int o = 0; o < OL; o++) {
                uint16_t by[VL];
                st8(by, yt[o], bf);
                memcpy(yn + o * C + c, by, (size_t)nr * sizeof *by);
            }
        }
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

/* NCW with L = OL = 4 (c1_dw_short_paired, Mamba's decode step): each 128-bit load holds two rows, widened to one
 * vector, so the block's eight rows are four vectors, and the transpose within 128-bit halves gives each position as
 * a vector with the channels in the lane order 0 2 4 6 1 3 5 7, in which the weights and bias were packed at
 * prepare; the same transpose takes the outputs back to pairs of rows, four contiguous 128-bit stores. No load or
 * store spills out of the block, so only a block of fewer than eight rows goes through buffers. As the fp32
 * family's. */
INLINE void short_ncw_paired(const c1_dw_geom *g, __m256 *xq, const uint16_t *x, const float *wp, uint16_t *y,
                             int64_t n0, int64_t n1, int64_t c0, int64_t c1, const bool bf)
{
    const int64_t C = g->in_channels, bs = (g->kernel_size + 1) * VL;
    __m256 *xl = xq + g->pad_left, yt[VL];
    for (int64_t c = c0; c < c1; c += VL)
        for (int64_t n = n0; n < n1; n++) { /* the block's weights from L1 after the first batch element */
            const int64_t nr = min64(c1 - c, VL);
            const uint16_t *xb = x + (n * C + c) * 4;
            uint16_t *yb = y + (n * C + c) * 4, bx[4 * VL], by[4 * VL];
            if (nr < VL) { /* the last block of the channels: through buffers */
                memset(bx, 0, sizeof bx);
                memcpy(bx, xb, (size_t)(nr * 4) * sizeof *bx);
                xb = bx;
            }
            __m256 r[4] = {ld8(xb, bf), ld8(xb + VL, bf), ld8(xb + 2 * VL, bf), ld8(xb + 3 * VL, bf)};
            transpose4x2(r);
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) xl[j] = r[j];
            short_compute(g, xq, wp + c / VL * bs, yt, 4);
            transpose4x2(yt);
            st8_rows(nr < VL ? by : yb, VL, yt, 4, bf);
            if (nr < VL) memcpy(yb, by, (size_t)(nr * 4) * sizeof *by);
        }
}

INLINE void short_rows(const c1_dw_geom *g, bool ncw, __m256 *xq, const uint16_t *x, const float *wp, uint16_t *y,
                       int64_t n0, int64_t n1, int64_t c0, int64_t c1, const int OL, const bool bf)
{
    if (ncw && c1_dw_short_paired(g))
        short_ncw_paired(g, xq, x, wp, y, n0, n1, c0, c1, bf);
    else if (ncw)
        short_ncw(g, xq, x, wp, y, n0, n1, c0, c1, OL, bf);
    else
        for (int64_t n = n0; n < n1; n++) short_nwc(g, xq, x, wp, y, n, c0, c1, OL, bf);
}

void c1_dw16_short_avx2(const c1_dw_geom *g, bool bf, bool ncw, const uint16_t *x, const float *wp, uint16_t *y,
                        int64_t n0, int64_t n1, int64_t c0, int64_t c1)
{
    /* Room for a whole tile written from pad_left (C1_DW16_SHORT_SPAN holds pad_left + L). */
    __m256 xq[C1_DW16_SHORT_SPAN + VL];
    for (int j = 0; j < C1_DW16_SHORT_SPAN + VL; j++) xq[j] = _mm256_setzero_ps();
    /* The output length and the dtype as constants. */
    switch (g->out_length) {
#define SHORT_OL(ol)                                                                                                   \
    case ol:                                                                                                           \
        if (bf)                                                                                                        \
            short_rows(g, ncw, xq, x, wp, y, n0, n1, c0, c1, ol, true);                                                \
        else                                                                                                           \
            short_rows(g, ncw, xq, x, wp, y, n0, n1, c0, c1, ol, false);                                               \
        break;
        SHORT_OL(1) SHORT_OL(2) SHORT_OL(3) SHORT_OL(4) SHORT_OL(5) SHORT_OL(6) SHORT_OL(7) SHORT_OL(8)
#undef SHORT_OL
    default: break; /* c1_dw16_short_fits admits no other length */
    }
}

/* ---- NCW at stride 1 and dilation 1: the interior straight from the row ----
 *
 * Outputs whose taps are all inside the row read x[o + r - pad_left] directly, a 16-bit load per tap and vector of
 * outputs, instead of widening the row into the window and reading that back. bf16 widens sixteen elements with
 * two vpunpck[lh]wd against zeros (the 16 bits land in the top of each float): the low unpack holds the positions
 * 0-3 and 8-11 of the sixteen, the high one 4-7 and 12-15, the two sums of those lanes round and vpackusdw packs them
 * back into the positions' order, so neither a shift per widening nor a permute per store is needed. */

/* Outputs [o, o + 16 nv) from xp = x + o - pad_left. */
INLINE void row_bf16(const uint16_t *xp, const float *w, int64_t R, __m256 bv, uint16_t *y, const int nv)
{
    __m256 lo[4], hi[4];
    const __m256i z = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) lo[v] = bv, hi[v] = bv;
    for (int64_t r = 0; r < R; r++) {
        const __m256 wv = _mm256_broadcast_ss(w + r);
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            const __m256i h = _mm256_loadu_si256((const __m256i *)(xp + r + 16 * v));
            lo[v] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpacklo_epi16(z, h)), wv, lo[v]);
            hi[v] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpackhi_epi16(z, h)), wv, hi[v]);
        }
    }
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) _mm256_storeu_si256((__m256i *)(y + 16 * v), narrow_bf16_split(lo[v], hi[v]));
}

/* Outputs [o, o + 8 nv) from xp = x + o - pad_left, f16: vcvtph2ps of eight elements per load. */
INLINE void row_f16(const uint16_t *xp, const float *w, int64_t R, __m256 bv, uint16_t *y, const int nv)
{
    __m256 a[8];
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) a[v] = bv;
    for (int64_t r = 0; r < R; r++) {
        const __m256 wv = _mm256_broadcast_ss(w + r);
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++) a[v] = _mm256_fmadd_ps(ld8(xp + r + 8 * v, false), wv, a[v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) st8(y + 8 * v, a[v], false);
}

int64_t c1_dw16_ncw_interior_avx2(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, float b,
                                  uint16_t *y, int64_t o0, int64_t o1)
{
    const __m256 bv = _mm256_set1_ps(b);
    const int64_t R = g->kernel_size;
    int64_t o = o0;
    if (bf) {
        for (; o + 64 <= o1; o += 64) row_bf16(x + o - g->pad_left, w, R, bv, y + o, 4);
        for (; o + 16 <= o1; o += 16) row_bf16(x + o - g->pad_left, w, R, bv, y + o, 1);
    } else {
        for (; o + 64 <= o1; o += 64) row_f16(x + o - g->pad_left, w, R, bv, y + o, 8);
        for (; o + 8 <= o1; o += 8) row_f16(x + o - g->pad_left, w, R, bv, y + o, 1);
    }
    return o;
}
