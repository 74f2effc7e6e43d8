/*
 * bf16 and f16 depthwise kernels for AVX-512 (F/BW/VL/DQ) + F16C: zmm, 16 floats from 256 bits of 16-bit elements;
 * called only when the CPU has them. depthwise16.c says what each kernel computes and why the tensors stay 16-bit.
 *
 * Conversions, fused into the loads and stores:
 *   bf16 -> fp32  zero-extend to 32 bits and shift left 16 (exact)
 *   fp32 -> bf16  to nearest even in integer operations: add 0x7fff plus the lowest kept bit, keep the top 16 (a NaN
 *                 is kept quiet instead, as c1_f32_to_bf16 does), then vpmovdw
 *   f16 <-> fp32  vcvtph2ps, and vcvtps2ph with round to nearest even
 * AVX512BW's masked 16-bit loads and stores take the last partial vector of channels or positions, so no tail goes
 * through scalar code. Every kernel takes the dtype as a constant (bf), so each is compiled once per dtype.
 */
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "depthwise16.h"
#include "half.h"

#define VL 16
#define INLINE static inline __attribute__((always_inline))

static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static inline __mmask16 lanes(int64_t n) { return n >= VL ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

INLINE __m512 widen16(__m256i h, const bool bf)
{
    return bf ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)) : _mm512_cvtph_ps(h);
}

/* Sixteen elements widened: a plain load when all lanes are live (full is a constant at every call site), masked for
 * the last vector of a block. */
INLINE __m512 ld(const uint16_t *p, __mmask16 m, const bool full, const bool bf)
{
    return widen16(full ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskz_loadu_epi16(m, p), bf);
}

/* Sixteen floats rounded once to the 16-bit type. */
INLINE __m256i narrow16(__m512 v, const bool bf)
{
    if (!bf) return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512i u = _mm512_castps_si512(v);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff)));
    r = _mm512_mask_or_epi32(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), u, _mm512_set1_epi32(0x00400000));
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

INLINE void st(uint16_t *p, __m512 v, __mmask16 m, const bool full, const bool bf)
{
    const __m256i h = narrow16(v, bf);
    if (full)
        _mm256_storeu_si256((__m256i *)p, h);
    else
        _mm256_mask_storeu_epi16(p, m, h);
}

INLINE float widen1(uint16_t h, const bool bf) { return bf ? c1_bf16_to_f32(h) : _cvtsh_ss(h); }

/* ---- NWC: vectors over channels ---- */

/* One output position of one vector of channels (xn, wc, yo at that vector), its taps clamped to the input: the
 * edges and the leftovers of the interior. Four chains by tap mod 4, so a long kernel is not one chain of dependent
 * FMAs. wc: the vector's packed taps (16 floats each). */
INLINE void nwc_one(const c1_dw_geom *g, const uint16_t *xn, const float *wc, __m512 b, uint16_t *yo, int64_t o,
                    __mmask16 m, const bool full, const bool bf)
{
    const int64_t xs = g->dilation * g->in_channels;
    int64_t r0, r1;
    c1_dw_taps(g, o, &r0, &r1);
    const uint16_t *xp = xn + (o * g->stride - g->pad_left + r0 * g->dilation) * g->in_channels;
    __m512 a0 = b, a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4, xp += 4 * xs) {
        a0 = _mm512_fmadd_ps(ld(xp, m, full, bf), _mm512_load_ps(wc + r * VL), a0);
        a1 = _mm512_fmadd_ps(ld(xp + xs, m, full, bf), _mm512_load_ps(wc + (r + 1) * VL), a1);
        a2 = _mm512_fmadd_ps(ld(xp + 2 * xs, m, full, bf), _mm512_load_ps(wc + (r + 2) * VL), a2);
        a3 = _mm512_fmadd_ps(ld(xp + 3 * xs, m, full, bf), _mm512_load_ps(wc + (r + 3) * VL), a3);
    }
    for (; r < r1; r++, xp += xs) a0 = _mm512_fmadd_ps(ld(xp, m, full, bf), _mm512_load_ps(wc + r * VL), a0);
    st(yo, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), m, full, bf);
}

/* Eight output positions of one vector of channels, all taps inside the input (xp at the first position's tap 0):
 * eight positions share each tap's weight load, and eight independent chains hide the FMA latency. */
INLINE void nwc_eight(const c1_dw_geom *g, const uint16_t *xp, const float *wc, __m512 b, uint16_t *yo, __mmask16 m,
                      const bool full, const bool bf)
{
    const int64_t C = g->in_channels, step = g->dilation * C, sc = g->stride * C;
    __m512 a[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) a[i] = b;
    for (int64_t r = 0; r < g->kernel_size; r++, xp += step) {
        const __m512 wv = _mm512_load_ps(wc + r * VL);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) a[i] = _mm512_fmadd_ps(ld(xp + i * sc, m, full, bf), wv, a[i]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) st(yo + i * C, a[i], m, full, bf);
}

/* nwc_eight at stride 1, over the eight outputs o, o + D, ..., o + 7D of one phase of the dilation D: output o + D*i
 * at tap r reads input row o - pad_left + D*(i + r), so the eight rows of one tap are the previous tap's shifted by
 * one, and each tap loads (and widens) one new row and its weights for eight FMAs. xs: D input rows, ys: D output
 * rows. R is a constant where the caller can make it one. */
INLINE void nwc_eight_slide(const uint16_t *xp, int64_t xs, const float *wc, __m512 b, uint16_t *yo, int64_t ys,
                            __mmask16 m, const bool full, const int64_t R, const bool bf)
{
    __m512 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
    __m512 x0 = ld(xp, m, full, bf), x1 = ld(xp + xs, m, full, bf);
    __m512 x2 = ld(xp + 2 * xs, m, full, bf), x3 = ld(xp + 3 * xs, m, full, bf);
    __m512 x4 = ld(xp + 4 * xs, m, full, bf), x5 = ld(xp + 5 * xs, m, full, bf);
    __m512 x6 = ld(xp + 6 * xs, m, full, bf);
    xp += 7 * xs;
#pragma GCC unroll 4
    for (int64_t r = 0; r < R; r++, xp += xs) {
        const __m512 x7 = ld(xp, m, full, bf), wv = _mm512_load_ps(wc + r * VL);
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
    st(yo, a0, m, full, bf);
    st(yo + ys, a1, m, full, bf);
    st(yo + 2 * ys, a2, m, full, bf);
    st(yo + 3 * ys, a3, m, full, bf);
    st(yo + 4 * ys, a4, m, full, bf);
    st(yo + 5 * ys, a5, m, full, bf);
    st(yo + 6 * ys, a6, m, full, bf);
    st(yo + 7 * ys, a7, m, full, bf);
}

/* Eight outputs by the channels [c0, c1): xo and yo at channel 0 of the first output's tap-0 input row and of its
 * output row; xs and ys the steps between the eight (sliding form: D rows; else the geometry's own). Whole vectors
 * first, then the masked last one. */
INLINE void nwc_group(const c1_dw_geom *g, const uint16_t *xo, int64_t xs, const float *w, const float *bias,
                      uint16_t *yo, int64_t ys, int64_t c0, int64_t c1, const bool slide, const int64_t R,
                      const bool bf)
{
    int64_t c = c0;
    for (; c + VL <= c1; c += VL) {
        const __m512 b = _mm512_loadu_ps(bias + c);
        if (slide)
            nwc_eight_slide(xo + c, xs, w + c * R, b, yo + c, ys, 0xffff, true, R, bf);
        else
            nwc_eight(g, xo + c, w + c * R, b, yo + c, 0xffff, true, bf);
    }
    if (c < c1) {
        const __mmask16 m = lanes(c1 - c);
        const __m512 b = _mm512_maskz_loadu_ps(m, bias + c);
        if (slide)
            nwc_eight_slide(xo + c, xs, w + c * R, b, yo + c, ys, m, false, R, bf);
        else
            nwc_eight(g, xo + c, w + c * R, b, yo + c, m, false, bf);
    }
}

/* One output position over the channels [c0, c1), taps clamped. */
INLINE void nwc_row(const c1_dw_geom *g, const uint16_t *xn, const float *w, const float *bias, uint16_t *yo,
                    int64_t o, int64_t c0, int64_t c1, const bool bf)
{
    const int64_t R = g->kernel_size;
    int64_t c = c0;
    for (; c + VL <= c1; c += VL)
        nwc_one(g, xn + c, w + c * R, _mm512_loadu_ps(bias + c), yo + c, o, 0xffff, true, bf);
    if (c < c1) {
        const __mmask16 m = lanes(c1 - c);
        nwc_one(g, xn + c, w + c * R, _mm512_maskz_loadu_ps(m, bias + c), yo + c, o, m, false, bf);
    }
}

/* Positions outermost, channels innermost: each input row is read as one contiguous run of the block's channels. */
INLINE void nwc_block(const c1_dw_geom *g, const uint16_t *x, const float *w, const float *bias, uint16_t *y,
                      int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1, const bool bf)
{
    const int64_t C = g->in_channels, R = g->kernel_size, D = g->dilation;
    const uint16_t *xn = x + n * g->length * C;
    uint16_t *yn = y + n * g->out_length * C;
    const int64_t f0 = clamp64(g->full_lo, o0, o1), f1 = clamp64(g->full_hi, f0, o1);
    int64_t o = o0;
    for (; o < f0; o++) nwc_row(g, xn, w, bias, yn + o * C, o, c0, c1, bf);
    /* At stride 1, blocks of 8 x dilation outputs, each as its dilation's phases of eight sliding outputs. */
    if (g->stride == 1)
        for (; o + 8 * D <= f1; o += 8 * D)
            for (int64_t p = 0; p < D; p++) {
                const uint16_t *xo = xn + (o + p - g->pad_left) * C;
                if (R == 4) /* Mamba's d_conv: the taps unrolled, the window shifts by renaming */
                    nwc_group(g, xo, D * C, w, bias, yn + (o + p) * C, D * C, c0, c1, true, 4, bf);
                else
                    nwc_group(g, xo, D * C, w, bias, yn + (o + p) * C, D * C, c0, c1, true, R, bf);
            }
    for (; o + 8 <= f1; o += 8)
        nwc_group(g, xn + (o * g->stride - g->pad_left) * C, 0, w, bias, yn + o * C, C, c0, c1, false, R, bf);
    for (; o < o1; o++) nwc_row(g, xn, w, bias, yn + o * C, o, c0, c1, bf);
}

void c1_dw16_nwc_avx512(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias,
                        uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    if (bf)
        nwc_block(g, x, w, bias, y, n, o0, o1, c0, c1, true);
    else
        nwc_block(g, x, w, bias, y, n, o0, o1, c0, c1, false);
}

/* ---- NCW: vectors over positions, through the window buffer (depthwise16.h) ---- */

/* Phase p, positions [j0, j1) of the window, scalar, zero outside the row. */
INLINE void fill_scalar(const uint16_t *x, int64_t L, int64_t i0, int64_t S, int64_t p, float *dst, int64_t j0,
                        int64_t j1, const bool bf)
{
    for (int64_t j = j0; j < j1; j++) {
        const int64_t i = i0 + S * j + p;
        dst[j] = i >= 0 && i < L ? widen1(x[i], bf) : 0.0f;
    }
}

/* Stride 1 and 2 widen whole vectors where the window is inside the row: at stride 2 one 512-bit load holds sixteen
 * inputs of each phase, which bf16 separates with a shift (the even elements) and a mask (the odd ones), f16 with
 * vpmovdw of the low and the high halves. The ragged ends and other strides go element by element. */
INLINE void fill(const c1_dw_geom *g, const uint16_t *x, c1_dw16_window win, float *buf, const bool bf)
{
    const int64_t S = g->stride, L = g->length, i0 = win.i0, plen = win.plen;
    const int64_t ja = i0 >= 0 ? 0 : min64((-i0 + S - 1) / S, plen); /* the first j whose inputs are inside */
    int64_t nv = 0;
    if (S <= 2 && L - i0 - S * ja > 0) nv = min64((plen - ja) / VL, (L - i0 - S * ja) / (S * VL));
    const int64_t jb = ja + nv * VL;
    for (int64_t p = 0; p < S; p++) {
        fill_scalar(x, L, i0, S, p, buf + p * plen, 0, ja, bf);
        fill_scalar(x, L, i0, S, p, buf + p * plen, jb, plen, bf);
    }
    if (nv == 0) return;
    const uint16_t *xp = x + i0 + S * ja;
    if (S == 1) {
        for (int64_t j = ja; j < jb; j += VL, xp += VL) _mm512_storeu_ps(buf + j, ld(xp, 0xffff, true, bf));
    } else {
        for (int64_t j = ja; j < jb; j += VL, xp += 2 * VL) {
            const __m512i v = _mm512_loadu_si512(xp);
            __m512 even, odd;
            if (bf) {
                even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
                odd = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int)0xffff0000u)));
            } else {
                even = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
                odd = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16)));
            }
            _mm512_storeu_ps(buf + j, even);
            _mm512_storeu_ps(buf + plen + j, odd);
        }
    }
}

void c1_dw16_ncw_fill_avx512(const c1_dw_geom *g, bool bf, const uint16_t *x, c1_dw16_window win, float *buf)
{
    if (bf)
        fill(g, x, win, buf, true);
    else
        fill(g, x, win, buf, false);
}

/* Outputs [0, m) of a chunk: passes of eight vectors, each tap broadcast once for the eight (128 outputs), then single
 * vectors, the last one masked. */
INLINE void taps(const float *buf, const int64_t *off, const float *w, int64_t R, float b, uint16_t *y, int64_t m,
                 const bool bf)
{
    const __m512 bv = _mm512_set1_ps(b);
    int64_t t = 0;
    for (; t + 8 * VL <= m; t += 8 * VL) {
        __m512 a[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) a[i] = bv;
        for (int64_t r = 0; r < R; r++) {
            const float *xp = buf + off[r] + t;
            const __m512 wv = _mm512_set1_ps(w[r]);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) a[i] = _mm512_fmadd_ps(_mm512_loadu_ps(xp + i * VL), wv, a[i]);
        }
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) st(y + t + i * VL, a[i], 0xffff, true, bf);
    }
    for (; t < m; t += VL) {
        /* the window's slack keeps a whole vector's loads inside it; only the store is masked */
        __m512 a0 = bv, a1 = _mm512_setzero_ps();
        int64_t r = 0;
        for (; r + 2 <= R; r += 2) {
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(buf + off[r] + t), _mm512_set1_ps(w[r]), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(buf + off[r + 1] + t), _mm512_set1_ps(w[r + 1]), a1);
        }
        if (r < R) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(buf + off[r] + t), _mm512_set1_ps(w[r]), a0);
        st(y + t, _mm512_add_ps(a0, a1), lanes(m - t), false, bf);
    }
}

void c1_dw16_ncw_taps_avx512(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, float b,
                             uint16_t *y, int64_t m)
{
    if (bf)
        taps(buf, off, w, R, b, y, m, true);
    else
        taps(buf, off, w, R, b, y, m, false);
}
