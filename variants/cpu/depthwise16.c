/*
 * Depthwise convolutions on bf16 and f16 tensors (num_groups == in_channels, out_channels a multiple of it), one
 * variant per ISA and dtype, each for both layouts:
 *
 *   depthwise_bf16__avx512bf16                     depthwise16_avx512bf16.c: vdpbf16ps, two taps per instruction, at
 *                                                  stride 1, and vcvtneps2bf16 stores; the AVX-512 kernels elsewhere
 *   depthwise_bf16__avx512, depthwise_f16__avx512  depthwise16_avx512.inc (16 channels or positions per vector, from
 *                                                  256 bits of 16-bit elements)
 *   depthwise_bf16__avx2, depthwise_f16__avx2      depthwise16_avx2.c (F16C for f16)
 *   depthwise_bf16__c, depthwise_f16__c            portable C, here
 *
 * Memory-bound layers are the point: a 16-bit tensor moves half the bytes of an fp32 one, so x is read and y written
 * in 16 bits directly. Each kernel widens its loads to fp32 in registers (bf16: the 16 bits shifted into the top of a
 * float, exact; f16: vcvtph2ps, exact), multiplies by weights widened to fp32 at prepare, accumulates in fp32 (the
 * bias added in fp32 too) and rounds once, to nearest even, at the store (bf16 with integer operations or
 * vcvtneps2bf16, f16 with vcvtps2ph). No pass widens a tensor into a copy. The vdpbf16ps kernels multiply bf16 pairs
 * exactly and accumulate in fp32 as well.
 *
 * NWC vectorises over channels, as the fp32 family (depthwise.c): positions in blocks of C1_DW_NWC_POS_BLOCK by
 * channel blocks sized so the block's weights stay in L1, interior positions [full_lo, full_hi) without clamps (eight
 * outputs sliding along the rows at stride 1), the edges with their taps clamped. The weights are packed per vector of
 * channels (depthwise16.h) so a long kernel's taps are one contiguous run instead of R rows C floats apart.
 *
 * NCW vectorises over positions along a row. At stride 1 and dilation 1 the AVX-512 kernels read the row directly
 * (each tap a lane shift of widened input vectors, masked loads for the padding), the AVX2 ones the row's interior;
 * otherwise each chunk of a row's outputs first widens the inputs it reads into a window buffer on the stack (L1),
 * zero where the taps fall into the padding and split into the stride's phases, and then every tap of every vector of
 * outputs is one unit-stride fp32 load with the tap's weight broadcast: no edge cases, any stride and dilation, and x
 * is still read once, in 16 bits (the window is a tile in L1, not a widened tensor). A window too large for the
 * buffer (a span of thousands of positions) falls back to a per-output loop.
 *
 * Short rows (decode steps: lengths up to 8, both layouts) take c1_dw16_short_avx2 in every SIMD variant: eight
 * channels at a time, every position a vector, NCW's rows transposed in registers (depthwise16.h).
 *
 * A channel multiplier (out_channels = M * in_channels: first layers such as 1 -> 512) reads each input once for its
 * M output channels: in NWC the run of one input channel's inputs, widened once, is broadcast against vectors of
 * its output channels; in NCW one window of an input row feeds the taps of up to 64 of its output rows
 * (depthwise16.h).
 *
 * Threads: one OpenMP loop over independent work items, NWC (batch, position block, channel block), NCW (batch,
 * channel, position block; with a multiplier: batch, input channel, group of output rows, position block), short rows
 * (batch elements, channel block). The state is read-only after prepare and run's buffers are on the stack, so
 * concurrent runs are safe.
 */
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basics.h"
#include "depthwise16.h"
#include "error.h"
#include "half.h"
#include "variant.h"

/* Below this many multiply-adds a run stays on the calling thread (tens of microseconds of work). */
#define C1_DW16_MIN_PARALLEL_FMAS 65536.0

typedef void (*nwc_kernel)(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias,
                           uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
typedef void (*fill_kernel)(const c1_dw_geom *g, bool bf, const uint16_t *x, c1_dw16_window win, float *buf);
typedef void (*taps_kernel)(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, float b,
                            uint16_t *y, int64_t m);
typedef void (*taps4_kernel)(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, const float *b,
                             uint16_t *y, int64_t ys, int64_t m);

typedef struct dw16_state {
    c1_dw_geom g;
    int64_t batch;
    conv1d_layout layout;
    bool bf;
    int64_t nwc_channel_block;
    int64_t ncw_chunk; /* outputs per window (c1_dw16_ncw_chunk); 0: the per-output form */
    int64_t plen;      /* the windows' phase length (c1_dw16_phase_len) */
    int64_t *tap_off;  /* tap r's offset into a window (c1_dw16_tap_offset) */
    nwc_kernel nwc;
    /* NCW rows at stride 1 and dilation 1 straight from the row (AVX-512, up to C1_DW16_NCW_ROW_MAX_TAPS), or NULL */
    void (*ncw_direct)(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, float b, uint16_t *y,
                       int64_t o0, int64_t o1);
    /* NCW rows at stride 1 and dilation 1, AVX2: the interior straight from the row, or NULL */
    int64_t (*ncw_interior)(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, float b, uint16_t *y,
                            int64_t o0, int64_t o1);
    fill_kernel fill;
    taps_kernel taps;
    taps4_kernel taps4; /* NCW with a channel multiplier: four rows of one window */
    float *w, *bias; /* packed as depthwise16.h says */
    bool short_rows;
    float *wp; /* short rows: bias and weights per block of eight channels */
    /* depthwise_bf16__avx512bf16 at stride 1 (NCW: and dilation 1): the vdpbf16ps kernels, on the taps' pairs
     * (depthwise16.h), NWC per block of 32 channels, NCW per row */
    bool dot;
    uint32_t *wdot;
    /* A channel multiplier at AVX512_BF16, in pairs of taps (R2 = ceil(R / 2) pairs): NCW from the window
     * (c1_dw16_ncw_mult_dot_avx512bf16) in chunks of pair_chunk outputs (0: not used), each row's pairs at
     * wpair + k*R2; NWC (pair_nwc) c1_dw16_nwc_mult_dot_avx512bf16, wpair packed per vector of 16 channels */
    int64_t pair_chunk;
    bool pair_nwc;
    uint32_t *wpair;
} dw16_state;

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static inline float widen(bool bf, uint16_t h) { return bf ? c1_bf16_to_f32(h) : c1_f16_to_f32(h); }
static inline uint16_t narrow(bool bf, float f) { return bf ? c1_f32_to_bf16(f) : c1_f32_to_f16(f); }

/* --- portable kernels ------------------------------------------------------------------------------------ */

/* Channels per accumulator row of the portable NWC kernel. */
#define ACC_CHANNELS 256

/* y[j] = acc[j] rounded once, j < n. */
static inline void narrow_row(bool bf, const float *restrict acc, uint16_t *restrict y, int64_t n)
{
    if (bf) {
#pragma omp simd
        for (int64_t j = 0; j < n; j++) y[j] = c1_f32_to_bf16(acc[j]);
    } else {
#pragma omp simd
        for (int64_t j = 0; j < n; j++) y[j] = c1_dw16_f16_narrow(acc[j]);
    }
}

/* acc[j] += widen(x[j]) * w[j] for j < n: one run of up to 8 channels with their packed taps. */
static inline void axpy8(bool bf, float *restrict acc, const uint16_t *restrict x, const float *restrict w, int64_t n)
{
    /* omp simd: -O2's cost model would not vectorise a loop of unknown trip count at all */
    if (bf) {
#pragma omp simd
        for (int64_t j = 0; j < n; j++) acc[j] += c1_bf16_to_f32(x[j]) * w[j];
    } else {
#pragma omp simd
        for (int64_t j = 0; j < n; j++) acc[j] += c1_dw16_f16_widen(x[j]) * w[j];
    }
}

/* NWC: output position by position, the channels in runs of ACC_CHANNELS accumulated in an fp32 row on the stack
 * (the output row is 16 bits and cannot be the accumulator), weights packed in vectors of 8 channels (c0 is a
 * multiple of 8), so each tap's run of 8 channels reads 8 contiguous weights. */
void c1_dw16_nwc_c(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias, uint16_t *y,
                   int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    const int64_t C = g->in_channels, R = g->kernel_size;
    const uint16_t *xn = x + n * g->length * C;
    float acc[ACC_CHANNELS];
    for (int64_t o = o0; o < o1; o++) {
        uint16_t *yo = y + (n * g->out_length + o) * C;
        int64_t r0, r1;
        c1_dw_taps(g, o, &r0, &r1);
        for (int64_t cc = c0; cc < c1; cc += ACC_CHANNELS) {
            const int64_t ce = min64(c1, cc + ACC_CHANNELS);
            for (int64_t k = cc; k < ce; k++) acc[k - cc] = bias[k];
            for (int64_t r = r0; r < r1; r++) {
                const uint16_t *xr = xn + (o * g->stride - g->pad_left + r * g->dilation) * C;
                for (int64_t k = cc; k < ce; k += 8)
                    axpy8(bf, acc + (k - cc), xr + k, w + (k / 8 * R + r) * 8, min64(8, ce - k));
            }
            narrow_row(bf, acc, yo + cc, ce - cc);
        }
    }
}

/* acc[j] += a * w[j] for j < n. */
static inline void axpy_scalar(float *restrict acc, float a, const float *restrict w, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) acc[j] += a * w[j];
}

/* NWC with a channel multiplier, any M and any kernel size: position by position through the run (depthwise16.h),
 * the output channels of each input channel in runs of ACC_CHANNELS accumulated in an fp32 row; a kernel too long
 * for one position's run clamps its taps instead. */
void c1_dw16_nwc_mult_c(const c1_dw_geom *g, bool bf, int vl, const uint16_t *x, const float *w, const float *bias,
                        uint16_t *y, int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    const int64_t C = g->in_channels, K = g->out_channels, M = g->mult, R = g->kernel_size;
    const int64_t T = c1_dw16_mult_positions(g), S = g->stride, D = g->dilation;
    const uint16_t *xn = x + n * g->length * C;
    float xs[C1_DW16_MULT_RUN], acc[ACC_CHANNELS];
    for (int64_t t0 = o0; t0 < o1; t0 += T > 0 ? T : 1) {
        const int64_t nt = T > 0 ? min64(T, o1 - t0) : 1;
        for (int64_t ci = c0 / M; ci * M < c1; ci++) {
            int64_t r0 = 0, r1 = R;
            if (T > 0)
                c1_dw16_mult_fill(g, bf, xn, ci, t0, nt, xs);
            else
                c1_dw_taps(g, t0, &r0, &r1);
            const int64_t kb = c0 > ci * M ? c0 : ci * M, ke = min64(c1, ci * M + M);
            for (int64_t t = 0; t < nt; t++) {
                uint16_t *yo = y + (n * g->out_length + t0 + t) * K;
                for (int64_t cc = kb; cc < ke; cc += ACC_CHANNELS) {
                    const int64_t ce = min64(ke, cc + ACC_CHANNELS);
                    for (int64_t k = cc; k < ce; k++) acc[k - cc] = bias[k];
                    const int64_t i0 = (t0 + t) * S - g->pad_left; /* the input of tap 0 */
                    for (int64_t r = r0; r < r1; r++) {
                        const float xv = T > 0 ? xs[t * S + r * D] : widen(bf, xn[(i0 + r * D) * C + ci]);
                        for (int64_t k = cc; k < ce;) { /* runs within one packed vector: contiguous weights */
                            const int64_t e = min64(ce, (k / vl + 1) * vl);
                            axpy_scalar(acc + (k - cc), xv, w + (k / vl * R + r) * vl + k % vl, e - k);
                            k = e;
                        }
                    }
                    narrow_row(bf, acc, yo + cc, ce - cc);
                }
            }
        }
    }
}

void c1_dw16_ncw_fill_c(const c1_dw_geom *g, bool bf, const uint16_t *x, c1_dw16_window win, float *buf)
{
    const int64_t S = g->stride;
    for (int64_t p = 0; p < S; p++) {
        float *restrict dst = buf + p * win.plen;
        int64_t jlo, jhi;
        c1_dw16_phase_range(g, win, p, &jlo, &jhi);
        const uint16_t *restrict xp = x + win.i0 + p; /* element j of the phase at xp[S*j], j in [jlo, jhi) */
        for (int64_t j = 0; j < jlo; j++) dst[j] = 0.0f;
        if (bf) {
#pragma omp simd
            for (int64_t j = jlo; j < jhi; j++) dst[j] = c1_bf16_to_f32(xp[S * j]);
        } else {
#pragma omp simd
            for (int64_t j = jlo; j < jhi; j++) dst[j] = c1_dw16_f16_widen(xp[S * j]);
        }
        for (int64_t j = jhi; j < win.len; j++) dst[j] = 0.0f;
    }
}

/* Tap by tap over an fp32 accumulator row, so the inner loop is an axpy the compiler vectorises. */
void c1_dw16_ncw_taps_c(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, float b, uint16_t *y,
                        int64_t m)
{
    float acc[ACC_CHANNELS];
    for (int64_t t0 = 0; t0 < m; t0 += ACC_CHANNELS) {
        const int64_t nt = min64(m - t0, ACC_CHANNELS);
        for (int64_t t = 0; t < nt; t++) acc[t] = b;
        for (int64_t r = 0; r < R; r++) {
            const float *restrict xr = buf + off[r] + t0;
            const float wr = w[r];
            /* omp simd: -O2's cost model would not vectorise a loop of unknown trip count at all */
#pragma omp simd
            for (int64_t t = 0; t < nt; t++) acc[t] += xr[t] * wr;
        }
        narrow_row(bf, acc, y + t0, nt);
    }
}

void c1_dw16_ncw_taps4_c(bool bf, const float *buf, const int64_t *off, const float *w, int64_t R, const float *b,
                         uint16_t *y, int64_t ys, int64_t m)
{
    for (int64_t j = 0; j < 4; j++) c1_dw16_ncw_taps_c(bf, buf, off, w + j * R, R, b[j], y + j * ys, m);
}

/* Outputs [o0, o1) of one NCW row whose window does not fit the buffer: each output on its own, taps clamped. */
static void ncw_row_direct(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, float b, uint16_t *y,
                           int64_t o0, int64_t o1)
{
    for (int64_t o = o0; o < o1; o++) {
        int64_t r0, r1;
        c1_dw_taps(g, o, &r0, &r1);
        float acc = b;
        for (int64_t r = r0; r < r1; r++) acc += widen(bf, x[o * g->stride - g->pad_left + r * g->dilation]) * w[r];
        y[o] = narrow(bf, acc);
    }
}

static void ncw_window(const dw16_state *s, const uint16_t *x, const float *w, float b, uint16_t *y, int64_t o0,
                       int64_t o1, float *buf);

/* The window of the m outputs from output o (c1_dw16_window). */
static inline c1_dw16_window window_at(const dw16_state *s, int64_t o, int64_t m)
{
    return (c1_dw16_window){.i0 = o * s->g.stride - s->g.pad_left, .plen = s->plen, .len = c1_dw16_phase_len(&s->g, m),
                            .m = m};
}

/* Outputs [o0, o1) of NCW row k (x, y at that row): chunk by chunk through the window buffer. */
static void ncw_row(const dw16_state *s, int64_t k, const uint16_t *x, uint16_t *y, int64_t o0, int64_t o1)
{
    const c1_dw_geom *g = &s->g;
    const int64_t R = g->kernel_size;
    const float *w = s->w + k * R, b = s->bias[k];
    if (s->ncw_direct) {
        s->ncw_direct(g, s->bf, x, w, b, y, o0, o1);
        return;
    }
    if (s->ncw_chunk == 0) {
        ncw_row_direct(g, s->bf, x, w, b, y, o0, o1);
        return;
    }
    float buf[C1_DW16_NCW_BUF] __attribute__((aligned(64)));
    if (s->dot) {
        c1_dw16_ncw_dot_avx512bf16(g, x, s->wdot + k * 2 * (R / 2 + 1), b, y, o0, o1, s->ncw_chunk, buf);
        return;
    }
    if (s->ncw_interior) { /* the interior from the row, the edges (and what it leaves) through the window */
        const int64_t f0 = o0 > g->full_lo ? o0 : g->full_lo < o1 ? g->full_lo : o1;
        const int64_t f1 = g->full_hi < f0 ? f0 : g->full_hi > o1 ? o1 : g->full_hi;
        ncw_window(s, x, w, b, y, o0, f0, buf);
        const int64_t e = s->ncw_interior(g, s->bf, x, w, b, y, f0, f1);
        ncw_window(s, x, w, b, y, e, o1, buf);
        return;
    }
    ncw_window(s, x, w, b, y, o0, o1, buf);
}

/* Outputs [o0, o1) of one NCW row through the window, chunk by chunk. */
static void ncw_window(const dw16_state *s, const uint16_t *x, const float *w, float b, uint16_t *y, int64_t o0,
                       int64_t o1, float *buf)
{
    const c1_dw_geom *g = &s->g;
    for (int64_t o = o0; o < o1; o += s->ncw_chunk) {
        const c1_dw16_window win = window_at(s, o, min64(o1 - o, s->ncw_chunk));
        s->fill(g, s->bf, x, win, buf);
        s->taps(s->bf, buf, s->tap_off, w, g->kernel_size, b, y + o, win.m);
    }
}

/* Outputs [o0, o1) of NCW output rows [k0, k0 + nk) of one input channel (x at its row, y at row k0; a channel
 * multiplier): each chunk of the input row widened into the window once, for the taps of all nk rows. */
static void ncw_mult_rows(const dw16_state *s, int64_t k0, int64_t nk, const uint16_t *x, uint16_t *y, int64_t o0,
                          int64_t o1)
{
    const c1_dw_geom *g = &s->g;
    const int64_t R = g->kernel_size, OL = g->out_length;
    if (s->ncw_chunk == 0) {
        for (int64_t j = 0; j < nk; j++)
            ncw_row_direct(g, s->bf, x, s->w + (k0 + j) * R, s->bias[k0 + j], y + j * OL, o0, o1);
        return;
    }
    float buf[C1_DW16_NCW_BUF] __attribute__((aligned(64)));
    uint32_t P[C1_DW16_PAIR_BUF] __attribute__((aligned(64))); /* the pairs of taps, at AVX512_BF16 */
    const int64_t chunk = s->pair_chunk > 0 ? s->pair_chunk : s->ncw_chunk;
    for (int64_t o = o0; o < o1; o += chunk) {
        const c1_dw16_window win = window_at(s, o, min64(o1 - o, chunk));
        s->fill(g, s->bf, x, win, buf);
        if (s->pair_chunk > 0) {
            c1_dw16_ncw_mult_dot_avx512bf16(buf, s->tap_off, R, s->wpair + k0 * ((R + 1) / 2), s->bias + k0, y + o,
                                            OL, nk, win.m, P);
            continue;
        }
        int64_t j = 0;
        for (; j + 4 <= nk; j += 4)
            s->taps4(s->bf, buf, s->tap_off, s->w + (k0 + j) * R, R, s->bias + k0 + j, y + j * OL + o, OL, win.m);
        for (; j < nk; j++)
            s->taps(s->bf, buf, s->tap_off, s->w + (k0 + j) * R, R, s->bias[k0 + j], y + j * OL + o, win.m);
    }
}

/* The portable variants' multiplier kernel (weights packed by 8). */
static void nwc_mult_c8(const c1_dw_geom *g, bool bf, const uint16_t *x, const float *w, const float *bias, uint16_t *y,
                        int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1)
{
    c1_dw16_nwc_mult_c(g, bf, 8, x, w, bias, y, n, o0, o1, c0, c1);
}

/* --- variant ops ------------------------------------------------------------------------------------------ */

static conv1d_status dw16_supports(const c1_variant *v, const conv1d_desc *d)
{
    const conv1d_dtype want = v->precision == C1_PREC_BF16 ? CONV1D_BF16 : CONV1D_F16;
    if (d->dtype != want)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s computes %s tensors, got dtype %s.", v->name,
                       conv1d_dtype_name(want), conv1d_dtype_name(d->dtype) ? conv1d_dtype_name(d->dtype) : "unknown");
    if (d->num_groups != d->in_channels)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s needs num_groups == in_channels, got %lld group%s for %lld "
                       "channels.", v->name, (long long)d->num_groups, d->num_groups == 1 ? "" : "s",
                       (long long)d->in_channels);
    return CONV1D_OK;
}

static void dw16_release(void *state)
{
    dw16_state *s = state;
    if (!s) return;
    free(s->w);
    free(s->bias);
    free(s->wp);
    free(s->tap_off);
    free(s->wdot);
    free(s->wpair);
    free(s);
}

static conv1d_status dw16_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                  const void *w_arg, const void *bias_arg, void **state)
{
    (void)ctx; /* the blocking follows the fp32 family's constants (depthwise.h), not the cache sizes */
    const conv1d_status st = dw16_supports(v, d);
    if (st != CONV1D_OK) return st;
    const uint16_t *w16 = w_arg, *b16 = bias_arg;
    dw16_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the state of variant %s.", v->name);
    const int64_t L = d->length, OL = conv1d_output_length(d), R = d->kernel_size, S = d->stride;
    const int64_t D = d->dilation, PL = d->pad_left, K = d->out_channels, M = K / d->in_channels;
    const bool ncw = d->layout == CONV1D_LAYOUT_NCW;
    c1_dw_geom *g = &s->g;
    *g = (c1_dw_geom){.length = L, .out_length = OL, .in_channels = d->in_channels, .out_channels = K, .mult = M,
                      .kernel_size = R, .stride = S, .dilation = D, .pad_left = PL};
    const int64_t last = L - 1 + PL - (R - 1) * D; /* the largest o*S whose last tap is still inside */
    g->full_hi = last < 0 ? 0 : min64(OL, last / S + 1);
    g->full_lo = min64((PL + S - 1) / S, g->full_hi);
    s->batch = d->batch;
    s->layout = d->layout;
    s->bf = d->dtype == CONV1D_BF16;
    /* The NWC weights' vector length: the kernel's (depthwise16.h). */
    const int64_t VL = v->isa >= C1_ISA_LEVEL_AVX512 ? 16 : 8;
    s->dot = v->isa == C1_ISA_LEVEL_AVX512BF16 && M == 1 && R >= 2 && S == 1 && (!ncw || D == 1);
    /* the dot kernel's blocks are 32 channels */
    s->nwc_channel_block = c1_dw_nwc_channel_block(K, R, s->dot ? 32 : 16);
    switch (v->isa) {
    case C1_ISA_LEVEL_AVX512BF16:
        s->nwc = c1_dw16_nwc_avx512bf16, s->fill = c1_dw16_ncw_fill_avx512bf16, s->taps = c1_dw16_ncw_taps_avx512bf16;
        break;
    case C1_ISA_LEVEL_AVX512:
        s->nwc = c1_dw16_nwc_avx512, s->fill = c1_dw16_ncw_fill_avx512, s->taps = c1_dw16_ncw_taps_avx512;
        if (S == 1 && D == 1 && R <= C1_DW16_NCW_ROW_MAX_TAPS) s->ncw_direct = c1_dw16_ncw_row_avx512;
        break;
    case C1_ISA_LEVEL_AVX2:
        s->nwc = c1_dw16_nwc_avx2, s->fill = c1_dw16_ncw_fill_avx2, s->taps = c1_dw16_ncw_taps_avx2;
        if (S == 1 && D == 1) s->ncw_interior = c1_dw16_ncw_interior_avx2;
        break;
    default: s->nwc = c1_dw16_nwc_c, s->fill = c1_dw16_ncw_fill_c, s->taps = c1_dw16_ncw_taps_c; break;
    }
    s->taps4 = v->isa == C1_ISA_LEVEL_AVX512BF16 ? c1_dw16_ncw_taps4_avx512bf16
               : v->isa == C1_ISA_LEVEL_AVX512   ? c1_dw16_ncw_taps4_avx512
               : v->isa == C1_ISA_LEVEL_AVX2     ? c1_dw16_ncw_taps4_avx2
                                                 : c1_dw16_ncw_taps4_c;
    if (M > 1) { /* the multiplier's NWC kernels; NCW rows go through the window, one fill for several rows */
        s->nwc = v->isa == C1_ISA_LEVEL_AVX512BF16 ? c1_dw16_nwc_mult_avx512bf16
                 : v->isa == C1_ISA_LEVEL_AVX512   ? c1_dw16_nwc_mult_avx512
                 : v->isa == C1_ISA_LEVEL_AVX2     ? c1_dw16_nwc_mult_avx2
                                                   : nwc_mult_c8;
        s->ncw_direct = NULL;
        s->ncw_interior = NULL;
    }
    const int64_t nvec = (K + VL - 1) / VL;
    s->w = c1_alloc_floats((size_t)(ncw ? K * R : nvec * VL * R)); /* zeroed: lanes past K stay zero */
    s->bias = c1_alloc_floats((size_t)K);
    if (!s->w || !s->bias) {
        dw16_release(s);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the fp32 weights of variant %s.", v->name);
    }
    /* AVX2 bf16 NWC without a multiplier: whole blocks of sixteen channels in the lane order of vpunpck[lh]wd */
    const bool halves = !ncw && s->bf && M == 1 && v->isa == C1_ISA_LEVEL_AVX2;
    for (int64_t k = 0; k < K; k++) {
        if (d->has_bias) s->bias[k] = widen(s->bf, b16[k]);
        const int64_t j = k % 16, kk = halves && k / 16 < K / 16 ? k - j + j % 8 / 4 * 8 + j / 8 * 4 + j % 4 : k;
        for (int64_t r = 0; r < R; r++) {
            if (ncw)
                s->w[k * R + r] = widen(s->bf, w16[k * R + r]);
            else /* the tensor's (kernel_size, 1, out_channels): tap r of channel k at r*K + k */
                s->w[(kk / VL * R + r) * VL + kk % VL] = widen(s->bf, w16[r * K + k]);
        }
    }
    if (s->dot) {
        /* NWC: block b's pair s at (b*P2 + s)*32, lanes in the order of vpunpck[lh]wd, tap 2s low, tap 2s + 1 high;
         * NCW: row k's S even pairs (w[2s], w[2s + 1]) then its S odd pairs (w[2s - 1], w[2s]) from k*2S
         * (depthwise16.h); zero for taps outside [0, R). */
        const int64_t P2 = (R + 1) / 2, S2 = R / 2 + 1, n = ncw ? K * 2 * S2 : (K + 31) / 32 * P2 * 32;
        s->wdot = aligned_alloc(64, ((size_t)n * sizeof *s->wdot + 63) / 64 * 64);
        if (!s->wdot) {
            dw16_release(s);
            return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the paired weights of variant %s.", v->name);
        }
        for (int64_t k = 0; k < K; k++) {
            /* tap r of channel k, zero outside the kernel */
#define TAP(r) ((r) < 0 || (r) >= R ? 0u : (uint32_t)(ncw ? w16[k * R + (r)] : w16[(r) * K + k]))
            if (ncw) {
                for (int64_t p = 0; p < S2; p++) {
                    s->wdot[k * 2 * S2 + p] = TAP(2 * p) | TAP(2 * p + 1) << 16;
                    s->wdot[k * 2 * S2 + S2 + p] = TAP(2 * p - 1) | TAP(2 * p) << 16;
                }
            } else {
                const int64_t cc = k % 32, lane = cc / 8 * 4 + cc % 4 + cc % 8 / 4 * 16;
                for (int64_t p = 0; p < P2; p++) s->wdot[(k / 32 * P2 + p) * 32 + lane] = TAP(2 * p) | TAP(2 * p + 1) << 16;
            }
#undef TAP
        }
        if (!ncw) /* the lanes past the last channel */
            for (int64_t k = K; k < (K + 31) / 32 * 32; k++)
                for (int64_t p = 0; p < P2; p++) {
                    const int64_t cc = k % 32, lane = cc / 8 * 4 + cc % 4 + cc % 8 / 4 * 16;
                    s->wdot[(k / 32 * P2 + p) * 32 + lane] = 0;
                }
    }
    /* NWC pairs from M = 64 on: the pairs of a tile are gathered with scalar code, one per position and pair for
     * M/16 dot products (at EnCodec's M = 32 the plain AVX-512 kernel was faster: 0.089 ms against 0.104) */
    if (v->isa == C1_ISA_LEVEL_AVX512BF16 && !ncw && M >= 64 && M % 16 == 0 && R >= 2 &&
        c1_dw16_pair_positions(R) > 0) {
        const int64_t R2 = (R + 1) / 2;
        s->wpair = aligned_alloc(64, ((size_t)(K * R2) * sizeof *s->wpair + 63) / 64 * 64); /* aligned vector loads */
        if (!s->wpair) {
            dw16_release(s);
            return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the paired weights of variant %s.", v->name);
        }
        for (int64_t k = 0; k < K; k++) /* the tensor's (kernel_size, 1, out_channels): tap r of k at r*K + k */
            for (int64_t p = 0; p < R2; p++) {
                const uint32_t odd = 2 * p + 1 < R ? w16[(2 * p + 1) * K + k] : 0u;
                s->wpair[(k / 16 * R2 + p) * 16 + k % 16] = (uint32_t)w16[2 * p * K + k] | odd << 16;
            }
        s->pair_nwc = true;
    }
    if (v->isa != C1_ISA_LEVEL_C && c1_dw16_short_fits(g)) {
        const int64_t nb = (K + 7) / 8, bs = (R + 1) * 8;
        s->short_rows = true;
        s->wp = c1_alloc_floats((size_t)(nb * bs)); /* zeroed: lanes past K stay zero */
        if (!s->wp) {
            dw16_release(s);
            return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the packed weights of variant %s.", v->name);
        }
        for (int64_t j = 0; j < nb * 8; j++) { /* lane j of its block holds channel c1_dw_short_lane(g, ncw, j) */
            const int64_t k = c1_dw_short_lane(g, ncw, j);
            if (k >= K) continue; /* lanes past the channels stay zero */
            float *dst = s->wp + j / 8 * bs + j % 8;
            dst[0] = s->bias[k];
            for (int64_t r = 0; r < R; r++) dst[(r + 1) * 8] = widen(s->bf, ncw ? w16[k * R + r] : w16[r * K + k]);
        }
    } else if (ncw) {
        s->ncw_chunk = c1_dw16_ncw_chunk(g);
        if (s->ncw_chunk > 0) {
            s->plen = c1_dw16_phase_len(g, s->ncw_chunk);
            s->tap_off = malloc((size_t)R * sizeof *s->tap_off);
            if (!s->tap_off) {
                dw16_release(s);
                return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the tap offsets of variant %s.", v->name);
            }
            for (int64_t r = 0; r < R; r++) s->tap_off[r] = c1_dw16_tap_offset(g, r, s->plen);
            /* a multiplier at AVX512_BF16: the paired taps, in chunks whose pairs fit C1_DW16_PAIR_BUF lanes in
             * whole passes of 64 outputs */
            const int64_t R2 = (R + 1) / 2, pc = min64(s->ncw_chunk, C1_DW16_PAIR_BUF / R2 / 64 * 64);
            if (v->isa == C1_ISA_LEVEL_AVX512BF16 && M > 1 && R >= 2 && pc >= 64) {
                s->wpair = malloc((size_t)(K * R2) * sizeof *s->wpair);
                if (!s->wpair) {
                    dw16_release(s);
                    return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the paired weights of variant %s.",
                                   v->name);
                }
                for (int64_t k = 0; k < K; k++)
                    for (int64_t p = 0; p < R2; p++) {
                        const uint32_t odd = 2 * p + 1 < R ? w16[k * R + 2 * p + 1] : 0u;
                        s->wpair[k * R2 + p] = (uint32_t)w16[k * R + 2 * p] | odd << 16;
                    }
                s->pair_chunk = pc;
            }
        }
    }
    *state = s;
    return CONV1D_OK;
}

static conv1d_status dw16_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    (void)workspace;
    const uint16_t *x = x_arg;
    uint16_t *y = y_arg;
    const dw16_state *s = state;
    const c1_dw_geom *g = &s->g;
    const int64_t N = s->batch, OL = g->out_length, K = g->out_channels, L = g->length, R = g->kernel_size;
    /* A small layer runs on the calling thread: waking the team would cost more than the layer. */
    const bool team = (double)N * (double)OL * (double)K * (double)R >= C1_DW16_MIN_PARALLEL_FMAS;
    if (s->short_rows) {
        const bool ncw = s->layout == CONV1D_LAYOUT_NCW;
        const int64_t CB = C1_DW_SHORT_CHANNELS, ncb = (K + CB - 1) / CB;
        /* NCW work items take C1_DW_SHORT_BATCH batch elements, innermost in the kernel (depthwise16.h). */
        const int64_t NB = ncw ? C1_DW_SHORT_BATCH : 1, nnb = (N + NB - 1) / NB;
#pragma omp parallel for collapse(2) schedule(static) if (team)
        for (int64_t nb = 0; nb < nnb; nb++)
            for (int64_t cb = 0; cb < ncb; cb++)
                c1_dw16_short_avx2(g, s->bf, ncw, x, s->wp, y, nb * NB, min64(N, nb * NB + NB), cb * CB,
                                   min64(K, cb * CB + CB));
    } else if (s->layout == CONV1D_LAYOUT_NWC) {
        const int64_t PB = C1_DW_NWC_POS_BLOCK, CB = s->nwc_channel_block;
        const int64_t npb = (OL + PB - 1) / PB, ncb = (K + CB - 1) / CB;
#pragma omp parallel for collapse(3) schedule(static) if (team)
        for (int64_t n = 0; n < N; n++)
            for (int64_t pb = 0; pb < npb; pb++)
                for (int64_t cb = 0; cb < ncb; cb++) {
                    const int64_t o0 = pb * PB, o1 = min64(OL, o0 + PB), c0 = cb * CB, c1 = min64(K, c0 + CB);
                    if (s->dot)
                        c1_dw16_nwc_dot_avx512bf16(g, x, s->w, s->wdot, s->bias, y, n, o0, o1, c0, c1);
                    else if (s->pair_nwc)
                        c1_dw16_nwc_mult_dot_avx512bf16(g, x, s->wpair, s->bias, y, n, o0, o1, c0, c1);
                    else
                        s->nwc(g, s->bf, x, s->w, s->bias, y, n, o0, o1, c0, c1);
                }
    } else if (g->mult > 1) {
        /* work items: (batch element, input channel, group of its output rows, position block) */
        const int64_t C = g->in_channels, M = g->mult, JB = C1_DW16_NCW_MULT_ROWS, njb = (M + JB - 1) / JB;
        const int64_t PB = C1_DW16_NCW_POS_BLOCK, npb = (OL + PB - 1) / PB;
#pragma omp parallel for collapse(4) schedule(static) if (team)
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t jb = 0; jb < njb; jb++)
                    for (int64_t pb = 0; pb < npb; pb++) {
                        const int64_t k0 = c * M + jb * JB, nk = min64(M - jb * JB, JB);
                        ncw_mult_rows(s, k0, nk, x + (n * C + c) * L, y + (n * K + k0) * OL, pb * PB,
                                      min64(OL, pb * PB + PB));
                    }
    } else {
        const int64_t PB = C1_DW16_NCW_POS_BLOCK, npb = (OL + PB - 1) / PB;
#pragma omp parallel for collapse(3) schedule(static) if (team)
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++)
                for (int64_t pb = 0; pb < npb; pb++)
                    ncw_row(s, k, x + (n * K + k) * L, y + (n * K + k) * OL, pb * PB, min64(OL, pb * PB + PB));
    }
    return CONV1D_OK;
}

/* One table for both dtypes and every ISA: the variant's precision column picks the dtype, its isa column the
 * kernels. */
const c1_variant_ops c1_depthwise16_ops = {
    .supports = dw16_supports,
    .prepare = dw16_prepare,
    .run = dw16_run,
    .release = dw16_release,
};
