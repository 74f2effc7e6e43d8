/*
 * Depthwise convolutions (num_groups == in_channels), one variant per ISA, each for both layouts:
 *
 *   depthwise__avx512, depthwise__avx2  vector kernels in depthwise_avx512.c / depthwise_avx2.c
 *   depthwise__c                        portable C for the baseline x86-64, auto-vectorised
 *   depthwise_nt__avx2      (p0 = 1)    the AVX2 multiplier kernels with streaming stores (first layers whose
 *                                       output leaves the cache; depthwise.h says where they apply): NWC's
 *                                       register form, and in NCW the phase split's four rows with rows grouped
 *                                       by their alignment
 *
 * NWC vectorises over channels: each output position accumulates its taps' input rows (contiguous channels)
 * times the taps' weight vectors. NCW vectorises over positions: each (batch, channel) row is a 1-D signal
 * convolved with its own taps. Padding is not materialised in the tensors: each output position's taps are
 * clamped to the input, so every tensor is read or written once.
 *
 * Short rows (decode steps: input and output lengths up to 32 in NCW, 8 in NWC, no channel multiplier) take one
 * kernel for both layouts and both SIMD variants, c1_dw_short_avx2: eight channels at a time with every position a
 * vector (NCW's eight rows transposed in registers), the bias and weights packed per block of eight channels at
 * prepare. There a row of NCW, or a clamped edge position of NWC, costs no call or loop of its own.
 *
 * Two AVX-512 paths copy small pieces where the FMAs, not the bytes, decide the time (depthwise.h): NCW rows with
 * 20-96 taps into a zero-padded aligned row buffer on the stack (taps built by valignd rather than line-splitting
 * loads), and NWC blocks with windows of 64-512 rows into a per-thread workspace buffer at a row stride that
 * spreads the window over the L1 sets.
 *
 * NCW at stride 3 or more, where a vector of outputs would read its inputs S floats apart, is also copied:
 * run() first splits every input row into its S phases (phase p holds x[S*j + p], zero outside the row) in
 * the workspace, a pass over x, and then each tap of each output is a unit-stride read of one phase
 * (depthwise.h). With a channel multiplier, as in a first layer (wav2vec2: 1 -> 512 channels, k 10, stride 5),
 * the split is made once per input row and read by every output channel of it.
 *
 * A channel multiplier (out_channels = m * in_channels) is supported by every variant in both layouts. In NCW a
 * row just reads input row k / m. In NWC a vector of output channels reads one input channel, broadcast, when m
 * is a multiple of the vector length (a first layer such as EnCodec's 1 -> 32), or the few it spans, spread over
 * the lanes by a permute (c1_dw_nwc_mult_avx512 and _avx2).
 *
 * Threads: one OpenMP loop over independent work items, NWC (batch, position block, channel block; sizes in
 * depthwise.h), NCW (batch, channel, position block). The state is read-only after prepare, so concurrent
 * runs are safe.
 */
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basics.h"
#include "depthwise.h"
#include "error.h"
#include "variant.h"


/* Below this many multiply-adds a run stays on the calling thread (tens of microseconds of work). */
#define C1_DW_MIN_PARALLEL_FMAS 65536.0

typedef void (*nwc_kernel)(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y,
                           int64_t n, int64_t o0, int64_t o1, int64_t c0, int64_t c1);
typedef void (*ncw_kernel)(const c1_dw_geom *g, const float *x, const float *w, float b, float *y, int64_t o0,
                           int64_t o1);

typedef struct dw_state {
    c1_dw_geom g;
    int64_t batch;
    conv1d_layout layout;
    nwc_kernel nwc;
    ncw_kernel ncw;
    int64_t nwc_channel_block;
    float *w;    /* the caller's weights, already in the order the kernels read */
    float *bias; /* out_channels values, zeros without bias, so no kernel tests for it */
    /* NCW at stride >= 3: each row split into S phases of plen floats; tap r of output o reads phase
     * tap_phase[r] at o + tap_off[r] */
    bool phases;
    int64_t plen, jlo;
    /* The rows of a phase-kernel call: k, k + row_period, ... (depthwise_nt__avx2's rows of one alignment; else 1);
     * w and bias then hold the rows in the order of the calls, four at a time. */
    int64_t row_period;
    int64_t tap_phase[C1_DW_PHASE_MAX_TAPS], tap_off[C1_DW_PHASE_MAX_TAPS];
    void (*phase_kernel)(const float *const *tap, const float *w, int64_t R, const float *b, float *const *y,
                         int nrows, int64_t o0, int64_t o1);
    /* NWC through per-thread buffers (depthwise.h): row stride buf_stride floats, weights packed per channel block
     * at that stride, buf_floats per thread for buf_threads threads */
    bool nwc_buffered;
    int64_t buf_stride, buf_floats, buf_threads;
    float *wbuf;
    /* Short rows (depthwise.h): the bias and weights packed per block of eight channels */
    bool short_rows;
    float *wp;
    size_t ws_bytes;
} dw_state;

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
/* Rounds toward minus infinity, for taps left of the row. */
static inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* --- portable kernels ------------------------------------------------------------------------------------ */

/* NWC, any channel multiplier: output channels [k0, k1) of positions [o0, o1). The output row is the
 * accumulator; it stays in L1 while the taps are added, and the channel loop is what vectorises. */
static void nwc_c(const c1_dw_geom *g, const float *x, const float *w, const float *bias, float *y, int64_t n,
                  int64_t o0, int64_t o1, int64_t k0, int64_t k1)
{
    const int64_t C = g->in_channels, K = g->out_channels, M = g->mult;
    const float *xn = x + n * g->length * C;
    for (int64_t o = o0; o < o1; o++) {
        float *restrict yo = y + (n * g->out_length + o) * K;
        for (int64_t k = k0; k < k1; k++) yo[k] = bias[k];
        int64_t r0, r1;
        c1_dw_taps(g, o, &r0, &r1);
        for (int64_t r = r0; r < r1; r++) {
            const float *restrict xr = xn + (o * g->stride - g->pad_left + r * g->dilation) * C;
            const float *restrict wr = w + r * K;
            /* omp simd: -O2's cost model would not vectorise a loop of unknown trip count at all */
            if (M == 1) {
#pragma omp simd
                for (int64_t k = k0; k < k1; k++) yo[k] += xr[k] * wr[k];
            } else {
#pragma omp simd
                for (int64_t k = k0; k < k1; k++) yo[k] += xr[k / M] * wr[k];
            }
        }
    }
}

/* NCW: tap by tap over the row (c1_dw_ncw_row_taps), which the compiler vectorises over positions. */
static void ncw_c(const c1_dw_geom *g, const float *x, const float *w, float b, float *y, int64_t o0, int64_t o1)
{
    c1_dw_ncw_row_taps(g, x, w, b, y, o0, o1);
}

/* --- variant ops ------------------------------------------------------------------------------------------ */

static conv1d_status dw_supports(const c1_variant *v, const conv1d_desc *d)
{

    if (d->dtype != CONV1D_F32)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s supports only f32, got dtype %d.", v->name, (int)d->dtype);
    if (d->num_groups != d->in_channels)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s needs num_groups == in_channels, got %lld group%s for %lld "
                       "channels.", v->name, (long long)d->num_groups, d->num_groups == 1 ? "" : "s",
                       (long long)d->in_channels);
    if (v->params[0] == 1) {
        /* The streaming variant: only where it streams (depthwise.h), else it would time depthwise__avx2 again. */
        const int64_t mult = d->out_channels / d->in_channels;
        if (d->layout == CONV1D_LAYOUT_NCW) {
            const int64_t P = c1_dw_ncw_stream_period(conv1d_output_length(d));
            if (d->stride < 3 || mult % (4 * P) != 0 || d->kernel_size > C1_DW_MULT_REG_TAPS)
                return c1_fail(CONV1D_UNSUPPORTED,
                               "Variant %s needs in NCW a stride of at least 3, a channel multiplier that is a multiple "
                               "of %lld (four rows of one alignment at this output length) and at most %d taps, got "
                               "stride %lld, multiplier %lld, %lld taps.",
                               v->name, (long long)(4 * P), C1_DW_MULT_REG_TAPS, (long long)d->stride, (long long)mult,
                               (long long)d->kernel_size);
            return CONV1D_OK;
        }
        if (mult % 8 != 0 || d->out_channels % 16 != 0 || d->kernel_size > C1_DW_MULT_REG_TAPS)
            return c1_fail(CONV1D_UNSUPPORTED,
                           "Variant %s needs a channel multiplier that is a multiple of 8, output channels a multiple "
                           "of 16 and at most %d taps, got multiplier %lld, %lld output channels, %lld taps.",
                           v->name, C1_DW_MULT_REG_TAPS, (long long)mult, (long long)d->out_channels,
                           (long long)d->kernel_size);
    }
    return CONV1D_OK;
}

static void dw_release(void *state)
{
    dw_state *s = state;
    if (!s) return;
    free(s->w);
    free(s->wbuf);
    free(s->wp);
    free(s->bias);
    free(s);
}

/* Puts the rows of w (K x R) and bias in the order run_ncw_phases calls them, four rows row_period apart a call. */
static bool group_rows(dw_state *s)
{
    const int64_t K = s->g.out_channels, R = s->g.kernel_size, P = s->row_period;
    float *w = c1_alloc_floats((size_t)(K * R)), *bias = c1_alloc_floats((size_t)K);
    if (!w || !bias) {
        free(w);
        free(bias);
        return false;
    }
    for (int64_t i = 0; i < K; i++) {
        const int64_t kb = i / 4, k = kb / P * 4 * P + kb % P + i % 4 * P;
        memcpy(w + i * R, s->w + k * R, (size_t)R * sizeof(float));
        bias[i] = s->bias[k];
    }
    free(s->w);
    free(s->bias);
    s->w = w;
    s->bias = bias;
    return true;
}

static conv1d_status dw_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                const void *w_arg, const void *bias_arg, void **state)
{
    const float *w = w_arg, *bias = bias_arg; /* f32 only: supports() refuses other dtypes */
    const conv1d_status st = dw_supports(v, d);
    if (st != CONV1D_OK) return st;
    dw_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the state of variant %s.", v->name);
    const int64_t L = d->length, OL = conv1d_output_length(d), R = d->kernel_size, S = d->stride;
    const int64_t D = d->dilation, PL = d->pad_left, K = d->out_channels;
    c1_dw_geom *g = &s->g;
    *g = (c1_dw_geom){.length = L, .out_length = OL, .in_channels = d->in_channels, .out_channels = K,
                      .mult = K / d->in_channels, .kernel_size = R, .stride = S, .dilation = D, .pad_left = PL};
    const int64_t last = L - 1 + PL - (R - 1) * D; /* the largest o*S whose last tap is still inside */
    g->full_hi = last < 0 ? 0 : min64(OL, last / S + 1);
    g->full_lo = min64((PL + S - 1) / S, g->full_hi);
    s->batch = d->batch;
    s->nwc_channel_block = c1_dw_nwc_channel_block(K, R, g->mult > 1 ? 32 : 16);
    s->layout = d->layout;
    switch (v->isa) {
    case C1_ISA_LEVEL_AVX512:
        s->nwc = g->mult > 1 ? c1_dw_nwc_mult_avx512 : c1_dw_nwc_avx512;
        s->ncw = c1_dw_ncw_avx512;
        break;
    case C1_ISA_LEVEL_AVX2:
        s->nwc = v->params[0] == 1 ? c1_dw_nwc_mult_stream_avx2 : g->mult > 1 ? c1_dw_nwc_mult_avx2 : c1_dw_nwc_avx2;
        s->ncw = c1_dw_ncw_avx2;
        break;
    default: s->nwc = nwc_c; s->ncw = ncw_c; break;
    }
    const size_t wbytes = (size_t)conv1d_weight_elems(d) * sizeof(float);
    s->w = c1_alloc_floats((size_t)conv1d_weight_elems(d));
    s->bias = c1_alloc_floats((size_t)K);
    if (!s->w || !s->bias) {
        dw_release(s);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate %zu bytes for the weights of variant %s.",
                       wbytes + (size_t)K * sizeof(float), v->name);
    }
    memcpy(s->w, w, wbytes);
    if (d->has_bias) memcpy(s->bias, bias, (size_t)K * sizeof(float));
    if (v->isa == C1_ISA_LEVEL_AVX512 && d->layout == CONV1D_LAYOUT_NWC && g->mult == 1 && S == 1 &&
        R >= C1_DW_NWC_BUFFER_MIN_TAPS && (R - 1) * D >= C1_DW_NWC_BUFFER_MIN_SPAN &&
        (R - 1) * D <= C1_DW_NWC_BUFFER_MAX_SPAN) {
        const int64_t CB = C1_DW_NWC_BUFFER_CHANNELS, bs = c1_dw_nwc_buffer_stride(CB), ncb = (K + CB - 1) / CB;
        s->nwc_buffered = true;
        s->nwc_channel_block = CB;
        s->buf_stride = bs;
        s->buf_floats = (C1_DW_NWC_POS_BLOCK + (R - 1) * D) * bs;
        s->buf_threads = omp_get_max_threads();
        s->ws_bytes = (size_t)(s->buf_threads * s->buf_floats) * sizeof(float) + 64;
        s->wbuf = c1_alloc_floats((size_t)(ncb * R * bs));
        if (!s->wbuf) {
            dw_release(s);
            return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the packed weights of variant %s.", v->name);
        }
        /* Block b's tap r, channel j at wbuf[(b*R + r)*bs + j]. */
        for (int64_t k = 0; k < K; k++)
            for (int64_t r = 0; r < R; r++) s->wbuf[((k / CB) * R + r) * bs + k % CB] = s->w[r * K + k];
    }
    if (v->isa != C1_ISA_LEVEL_C && c1_dw_short_fits(g, d->layout == CONV1D_LAYOUT_NCW)) {
        const bool ncw = d->layout == CONV1D_LAYOUT_NCW;
        const int64_t nb = (K + 7) / 8, bs = (R + 1) * 8;
        s->short_rows = true;
        s->wp = c1_alloc_floats((size_t)(nb * bs));
        if (!s->wp) {
            dw_release(s);
            return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the packed weights of variant %s.", v->name);
        }
        memset(s->wp, 0, (size_t)(nb * bs) * sizeof(float));
        for (int64_t j = 0; j < nb * 8; j++) {
            const int64_t k = c1_dw_short_lane(g, ncw, j);
            if (k >= K) continue; /* lanes past the channels stay zero */
            float *dst = s->wp + j / 8 * bs + j % 8;
            dst[0] = s->bias[k];
            for (int64_t r = 0; r < R; r++) dst[(r + 1) * 8] = ncw ? s->w[k * R + r] : s->w[r * K + k];
        }
    } else if (d->layout == CONV1D_LAYOUT_NCW && S >= 3 && R <= C1_DW_PHASE_MAX_TAPS) {
        /* Tap r reads x[S*o + u], u = r*D - PL, which is phase u mod S at position o + floor(u / S). */
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (int64_t r = 0; r < R; r++) {
            const int64_t u = r * D - PL, off = floor_div(u, S);
            s->tap_phase[r] = u - off * S;
            s->tap_off[r] = off;
            lo = min64(lo, off);
            hi = max64(hi, off);
        }
        s->phases = true;
        s->jlo = lo;
        s->plen = OL + hi - lo;
        s->ws_bytes = (size_t)(d->batch * d->in_channels * S * s->plen) * sizeof(float) + 64;
        s->phase_kernel = v->isa == C1_ISA_LEVEL_AVX512 ? c1_dw_ncw_phase_taps_avx512
                          : v->params[0] == 1             ? c1_dw_ncw_phase_taps_stream_avx2
                          : v->isa == C1_ISA_LEVEL_AVX2   ? c1_dw_ncw_phase_taps_avx2
                                                      : c1_dw_ncw_phase_taps;
        s->row_period = v->params[0] == 1 ? c1_dw_ncw_stream_period(OL) : 1;
        if (s->row_period > 1 && !group_rows(s)) {
            dw_release(s);
            return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the weights of variant %s.", v->name);
        }
    }
    *state = s;
    return CONV1D_OK;
}

static size_t dw_workspace_bytes(const void *state) { return ((const dw_state *)state)->ws_bytes; }

/* NCW at stride >= 3 through the phase split (see the top of the file). */
static void run_ncw_phases(const dw_state *s, const float *x, float *y, float *xp, bool team)
{
    const c1_dw_geom *g = &s->g;
    const int64_t N = s->batch, C = g->in_channels, K = g->out_channels, M = g->mult, L = g->length;
    const int64_t S = g->stride, R = g->kernel_size, OL = g->out_length, plen = s->plen, jlo = s->jlo;
#pragma omp parallel for collapse(2) schedule(static) if (team)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            const float *xr = x + (n * C + c) * L;
            float *dst = xp + (n * C + c) * S * plen;
            for (int64_t p = 0; p < S; p++, dst += plen)
                for (int64_t j = 0; j < plen; j++) {
                    const int64_t i = S * (j + jlo) + p;
                    dst[j] = i >= 0 && i < L ? xr[i] : 0.0f;
                }
        }
    /* Up to four output channels of one input channel per task, so each loaded input vector feeds four rows: k, k + P,
     * k + 2P, k + 3P for the kb-th task (P = row_period), whose weights and bias are w and bias's kb-th four. */
    const int64_t rows = M % 4 == 0 ? 4 : 1, nkb = K / rows, P = s->row_period;
    const int64_t PB = C1_DW_NCW_POS_BLOCK, npb = (OL + PB - 1) / PB;
#pragma omp parallel for collapse(3) schedule(static) if (team)
    for (int64_t n = 0; n < N; n++)
        for (int64_t kb = 0; kb < nkb; kb++)
            for (int64_t pb = 0; pb < npb; pb++) {
                const int64_t k = kb / P * rows * P + kb % P;
                const float *tap[C1_DW_PHASE_MAX_TAPS];
                float *yr[4];
                const float *row = xp + (n * C + k / M) * S * plen;
                for (int64_t r = 0; r < R; r++) tap[r] = row + s->tap_phase[r] * plen + s->tap_off[r] - jlo;
                for (int64_t j = 0; j < rows; j++) yr[j] = y + (n * K + k + j * P) * OL;
                s->phase_kernel(tap, s->w + kb * rows * R, R, s->bias + kb * rows, yr, (int)rows, pb * PB,
                                min64(OL, pb * PB + PB));
            }
}

static conv1d_status dw_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const float *x = x_arg;
    float *y = y_arg;
    const dw_state *s = state;
    const c1_dw_geom *g = &s->g;
    const int64_t N = s->batch, OL = g->out_length, K = g->out_channels;
    /* A small layer runs on the calling thread: waking the team would cost more than the layer. */
    const bool team = (double)N * (double)OL * (double)K * (double)g->kernel_size >= C1_DW_MIN_PARALLEL_FMAS;
    if (s->short_rows) {
        const bool ncw = s->layout == CONV1D_LAYOUT_NCW;
        const int64_t CB = C1_DW_SHORT_CHANNELS, ncb = (K + CB - 1) / CB;
        /* NCW work items take C1_DW_SHORT_BATCH batch elements, innermost in the kernel (depthwise.h). */
        const int64_t NB = ncw ? C1_DW_SHORT_BATCH : 1, nnb = (N + NB - 1) / NB;
#pragma omp parallel for collapse(2) schedule(static) if (team)
        for (int64_t nb = 0; nb < nnb; nb++)
            for (int64_t cb = 0; cb < ncb; cb++)
                c1_dw_short_avx2(g, ncw, x, s->wp, y, nb * NB, min64(N, nb * NB + NB), cb * CB,
                                 min64(K, cb * CB + CB));
    } else if (s->layout == CONV1D_LAYOUT_NWC) {
        const int64_t PB = C1_DW_NWC_POS_BLOCK, CB = s->nwc_channel_block;
        const int64_t npb = (OL + PB - 1) / PB, ncb = (K + CB - 1) / CB;
        float *bufs = (float *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
#pragma omp parallel for collapse(3) schedule(static) if (team)
        for (int64_t n = 0; n < N; n++)
            for (int64_t pb = 0; pb < npb; pb++)
                for (int64_t cb = 0; cb < ncb; cb++) {
                    const int64_t o0 = pb * PB, o1 = min64(OL, pb * PB + PB), c0 = cb * CB, c1 = min64(K, c0 + CB);
                    const int t = omp_get_thread_num();
                    if (s->nwc_buffered && t < s->buf_threads)
                        c1_dw_nwc_buffered_avx512(g, x, s->wbuf + cb * g->kernel_size * s->buf_stride, s->buf_stride,
                                                  s->bias, y, n, o0, o1, c0, c1, bufs + t * s->buf_floats);
                    else
                        s->nwc(g, x, s->w, s->bias, y, n, o0, o1, c0, c1);
                }
    } else if (s->phases) {
        run_ncw_phases(s, x, y, (float *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63), team);
    } else {
        const int64_t PB = C1_DW_NCW_POS_BLOCK, npb = (OL + PB - 1) / PB;
        const int64_t L = g->length, C = g->in_channels, R = g->kernel_size, M = g->mult;
#pragma omp parallel for collapse(3) schedule(static) if (team)
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++)
                for (int64_t pb = 0; pb < npb; pb++)
                    s->ncw(g, x + (n * C + k / M) * L, s->w + k * R, s->bias[k], y + (n * K + k) * OL, pb * PB,
                           min64(OL, pb * PB + PB));
    }
    return CONV1D_OK;
}

/* One table for every ISA: the variant's isa column picks the row kernels. */
const c1_variant_ops c1_depthwise_ops = {
    .supports = dw_supports,
    .prepare = dw_prepare,
    .workspace_bytes = dw_workspace_bytes,
    .run = dw_run,
    .release = dw_release,
};
