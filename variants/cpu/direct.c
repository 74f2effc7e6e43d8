/*
 * Blocked direct convolution, channels last (NWC) natively.
 *
 *   direct_<MR>x<NR>__<isa>      p0 = MR output positions, p1 = NR output channels per register tile
 *   direct_<MR>x<NR>_nt__<isa>   p2 = 1: the same with non-temporal stores of y (NWC, whole 16-channel blocks,
 *                                one input-channel block), for outputs that do not stay in cache anyway
 *
 * Weights are packed once at prepare as wp[g][kb][r][c][0:NR] (kb: blocks of NR output channels of group g,
 * zero-padded to a multiple of NR so kernels never mask weight loads; the store of the last block is masked).
 * A micro-kernel (direct.h) keeps an MR x NR output tile in registers and, per tap r and input channel c,
 * broadcasts x[n][o*stride - pad_left + r*dilation][g*Cg + c] against the NR packed weights.
 *
 * Blocking: input channels in blocks of kc so the (kb, kc) weight panel, R*kc*NR floats, stays in half of L2
 * (the kernel context's L2); the first kc block starts from the bias (or zeros), later ones add onto y. Output
 * positions in blocks of ob, sized so the input rows of a block fit in a quarter of L2. Each row tile walks
 * kbc output-channel blocks whose panels together fit in an eighth of L2 (all of them for few-channel layers,
 * whose y is then written in long runs; one for wide layers, where more measured up to 2x slower). ob, then
 * kbc, shrink until there are enough (batch, group, position block, channel-block chunk) tasks for the OpenMP
 * team; tasks are numbered with the channel-block chunk innermost, so a thread's consecutive tasks share input.
 *
 * Short rows of many images (decode steps): when it takes a quarter fewer kernel calls, a row tile is MR images at
 * one output position instead (batch_rows), the input rows a whole image apart; blocks of ob images, and the tap
 * range of a position's window is the same for every image, so edge positions run whole tiles too.
 *
 * Edges: only output positions whose window crosses the padding are special. They run one row at a time
 * through the same kernels with the tap range clamped to the input, so no padded copy of x is ever made.
 * When taps and channels are contiguous in both x and wp (one group, dilation 1, no kc split) the tap and
 * channel loops are fused into one longer channel loop, which matters for few-channel first layers.
 *
 * NCW: run() transposes x into the caller's workspace (NWC). With one input-channel block the AVX-512 kernels
 * transpose their finished tiles in registers and store them straight into y (16 positions per channel at a
 * time for 16-row tiles); otherwise they convolve into a second workspace region and each task transposes its
 * own block of it into y while still in cache. The transposes are part of the timed run; workspace_bytes
 * reports the room.
 *
 * Depthwise and other few-channels-per-group shapes go through the same path (correct, though a tile of NR
 * output channels then mostly computes padding); the depthwise family is the fast path for those.
 */
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <xmmintrin.h>

#include "direct.h"
#include "error.h"
#include "basics.h"
#include "variant.h"

#define WS_ALIGN 64


typedef struct direct_state {
    conv1d_desc d;
    const c1_direct_kernels *kern;
    int mr, nr;
    int64_t out_len, cg, kg; /* output positions, input and output channels per group */
    int64_t nkb;             /* NR-wide output-channel blocks per group */
    int64_t kc, ob;          /* input-channel block, row block (positions, or images with batch_rows) */
    bool batch_rows;         /* a row tile is MR images at one output position, not MR positions of one image */
    int64_t kbc;             /* output-channel blocks one task walks per row tile */
    bool stream;             /* non-temporal stores of full output blocks (p2 = 1) */
    bool ncw_store;          /* NCW: kernels store channels-first tiles into y, no NWC output in the workspace */
    c1_direct_transpose_fn transpose; /* NCW in and out */
    int64_t lo, hi;          /* output rows [lo, hi) have their whole window inside the input */
    float *wp;               /* packed weights [G][nkb][R][Cg][NR] */
    float *bias;             /* [G][nkb][NR]; zeros without bias and beyond each group's channels */
    size_t x_bytes, ws_bytes;
    char info[160];
} direct_state;

/* --- portable kernels ---------------------------------------------------------------------------------- */

/* M and NR are constants at every call site; the channel loops vectorize with the baseline ISA. */
static inline __attribute__((always_inline)) void tile_c(const c1_direct_tile *t, const int M, const int NR)
{
    float acc[C1_DIRECT_MAX_MR][16];
    for (int m = 0; m < M; m++)
        for (int j = 0; j < NR; j++)
            acc[m][j] = t->init ? t->init[j] : j < t->nvalid ? t->y[m * t->y_row + j] : 0.0f;
    const float *xr = t->x, *wr = t->w;
    for (int64_t r = 0; r < t->taps; r++, xr += t->x_tap, wr += t->w_tap) {
        const float *xc = xr, *wc = wr;
        for (int64_t c = 0; c < t->kc; c++, xc++, wc += NR)
            for (int m = 0; m < M; m++) {
                const float xv = xc[m * t->x_row];
#pragma omp simd
                for (int j = 0; j < NR; j++) acc[m][j] += xv * wc[j];
            }
    }
    for (int m = 0; m < M; m++)
        for (int j = 0; j < t->nvalid; j++) t->y[m * t->y_row + j] = acc[m][j];
}

static void c_1x8(const c1_direct_tile *t) { tile_c(t, 1, 8); }
static void c_2x8(const c1_direct_tile *t) { tile_c(t, 2, 8); }
static void c_3x8(const c1_direct_tile *t) { tile_c(t, 3, 8); }
static void c_4x8(const c1_direct_tile *t) { tile_c(t, 4, 8); }

static const c1_direct_kernels c_tables[] = {
    {4, 8, {c_1x8, c_2x8, c_3x8, c_4x8}},
};

static const c1_direct_kernels *kernels_for(c1_isa_level isa, int mr, int nr)
{
    switch (isa) {
    case C1_ISA_LEVEL_AVX512: return c1_direct_avx512_kernels(mr, nr);
    case C1_ISA_LEVEL_AVX2: return c1_direct_avx2_kernels(mr, nr);
    case C1_ISA_LEVEL_AVX512BF16: return NULL; /* the bf16 kernels have their own tables */
    case C1_ISA_LEVEL_C:
        for (size_t i = 0; i < sizeof c_tables / sizeof c_tables[0]; i++)
            if (c_tables[i].mr == mr && c_tables[i].nr == nr) return &c_tables[i];
        return NULL;
    case C1_ISA_LEVEL_COUNT: break;
    }
    return NULL;
}

static void transpose_c(const float *src, ptrdiff_t ss, float *dst, ptrdiff_t ds, int64_t rows, int64_t cols)
{
    enum { B = 8 };
    for (int64_t r0 = 0; r0 < rows; r0 += B)
        for (int64_t c0 = 0; c0 < cols; c0 += B) {
            const int64_t r1 = r0 + B < rows ? r0 + B : rows, c1 = c0 + B < cols ? c0 + B : cols;
            for (int64_t c = c0; c < c1; c++)
                for (int64_t r = r0; r < r1; r++) dst[c * ds + r] = src[r * ss + c];
        }
}

/* --- variant ops ---------------------------------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static size_t align_up(size_t n) { return (n + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN; }

/* Input channels per block: the (NR-block, kc) weight panel fills at most half of L2; equal blocks rather than
 * a short last one. */
static int64_t kc_for(int64_t cg, int64_t kernel_size, int nr, int64_t l2)
{
    const int64_t kc_max = max64(1, l2 / 2 / (kernel_size * nr * (int64_t)sizeof(float)));
    return kc_max >= cg ? cg : ceil_div(cg, ceil_div(cg, kc_max));
}

static conv1d_status direct_supports(const c1_variant *v, const conv1d_desc *d)
{
    if (!kernels_for(v->isa, v->params[0], v->params[1]))
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s has no %dx%d kernels in this build.", v->name, v->params[0],
                       v->params[1]);
    if (d->dtype != CONV1D_F32)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s computes f32 only, got dtype %d.", v->name, (int)d->dtype);
    if (v->params[2] == 1) {
        /* Streaming stores pay off only when every output element is stored once, whole cache lines at a time,
         * straight into the caller's y. */
        const int64_t cg = d->in_channels / d->num_groups, kg = d->out_channels / d->num_groups;
        if (d->layout != CONV1D_LAYOUT_NWC)
            return c1_fail(CONV1D_UNSUPPORTED, "Variant %s streams its output, so it takes NWC only.", v->name);
        if (d->out_channels % 16 != 0 || (d->num_groups > 1 && kg % 16 != 0))
            return c1_fail(CONV1D_UNSUPPORTED,
                           "Variant %s needs output channels per group a multiple of 16, got %lld.", v->name,
                           (long long)kg);
        if (kc_for(cg, d->kernel_size, v->params[1], c1_kernel_ctx_machine()->l2_bytes) < cg)
            return c1_fail(CONV1D_UNSUPPORTED,
                           "Variant %s needs one input-channel block, but %lld channels x %lld taps exceed it.",
                           v->name, (long long)cg, (long long)d->kernel_size);
    }
    return CONV1D_OK;
}

static void direct_release(void *state)
{
    direct_state *s = state;
    if (!s) return;
    free(s->wp);
    free(s->bias);
    free(s);
}

/* Picks kc, kbc and ob (see the top of the file) from ctx's L2, or as ctx forces them, the NCW store, and the
 * interior rows. */
static void choose_blocking(direct_state *s, c1_isa_level isa, const c1_kernel_ctx *ctx)
{
    const conv1d_desc *d = &s->d;
    const int64_t R = d->kernel_size, l2 = ctx->l2_bytes;
    const int64_t force_kc = ctx->force_blocking[0], force_ob = ctx->force_blocking[1], force_kbc = ctx->force_blocking[2];

    s->kc = force_kc > 0 ? min64(force_kc, s->cg) : kc_for(s->cg, R, s->nr, l2);
    /* Short rows, many images (decode steps): tiles of MR images at one position when that takes a quarter fewer
     * kernel calls than tiles of positions, whose short rows leave most of MR empty and run every position whose
     * window crosses the padding one row at a time. */
    const int64_t N = d->batch, OL = s->out_len, mr = s->mr;
    s->batch_rows = c1_direct_batch_rows(N, OL, mr);
    const int64_t rows = s->batch_rows ? N : OL, outer = s->batch_rows ? OL : N;
    /* Transposed stores need the whole sum in registers, so one input-channel block, and a tile of positions. */
    s->ncw_store = d->layout == CONV1D_LAYOUT_NCW && isa == C1_ISA_LEVEL_AVX512 && s->kc == s->cg && !s->batch_rows;

    /* Output-channel blocks per row tile (see the top of the file): the row tile's input stays in L1 across
     * them, and y is written in longer runs, which is what few-channel layers are bound by. */
    const int64_t panel = R * s->kc * s->nr * (int64_t)sizeof(float);
    int64_t kbc = min64(s->nkb, max64(1, l2 / 8 / panel));
    kbc = ceil_div(s->nkb, ceil_div(s->nkb, kbc));
    /* Channels-first stores fill a channel's cache lines only over consecutive row tiles of that channel. */
    if (s->ncw_store) kbc = 1;

    /* A row's new input: stride rows of kc channels along a row of positions, a whole window across images. */
    const int64_t row_in = s->batch_rows ? R : max64(d->stride, 1);
    int64_t ob = l2 / 4 / (row_in * s->kc * (int64_t)sizeof(float));
    ob = min64(max64(ob, mr), 16 * mr) / mr * mr;
    const int64_t threads = omp_get_max_threads(), bg = outer * d->num_groups;
    while (ob > mr && bg * ceil_div(s->nkb, kbc) * ceil_div(rows, ob) < 4 * threads)
        ob = max64(mr, ob / 2 / mr * mr);
    while (kbc > 1 && bg * ceil_div(s->nkb, kbc) * ceil_div(rows, ob) < 4 * threads) {
        int64_t chunks = ceil_div(s->nkb, kbc) + 1;
        while (ceil_div(s->nkb, chunks) >= kbc) chunks++; /* ends at chunks = nkb, i.e. kbc 1, at the latest */
        kbc = ceil_div(s->nkb, chunks);
    }
    s->kbc = force_kbc > 0 ? min64(force_kbc, s->nkb) : kbc;
    s->ob = force_ob > 0 ? force_ob : ob;

    c1_direct_interior(d, s->out_len, &s->lo, &s->hi);
}

static conv1d_status direct_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                    const void *w_arg, const void *bias_arg, void **state)
{
    const float *w = w_arg, *bias = bias_arg; /* f32 only: supports() refuses other dtypes */
    conv1d_status st = direct_supports(v, d);
    if (st != CONV1D_OK) return st;
    direct_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate its state.", v->name);
    s->d = *d;
    s->mr = v->params[0];
    s->nr = v->params[1];
    s->kern = kernels_for(v->isa, s->mr, s->nr);
    const int64_t G = d->num_groups, K = d->out_channels, R = d->kernel_size, nr = s->nr;
    s->out_len = conv1d_output_length(d);
    s->cg = d->in_channels / G;
    s->kg = K / G;
    s->nkb = ceil_div(s->kg, nr);

    /* Padded sizes can exceed the (validated) tensor sizes by up to NR times. */
    size_t wp_elems = 0, b_elems = 0;
    if (__builtin_mul_overflow((size_t)(G * s->nkb * nr), (size_t)(R * s->cg), &wp_elems) ||
        wp_elems > SIZE_MAX / 2 / sizeof(float)) {
        direct_release(s);
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s: the packed weights would not fit in memory.", v->name);
    }
    b_elems = (size_t)(G * s->nkb * nr);
    s->wp = c1_alloc_floats(wp_elems);
    s->bias = c1_alloc_floats(b_elems);
    if (!s->wp || !s->bias) {
        direct_release(s);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate %zu bytes of packed weights.", v->name,
                       wp_elems * sizeof(float));
    }

    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    const int64_t Cg = s->cg, Kg = s->kg;
    for (int64_t g = 0; g < G; g++)
        for (int64_t kb = 0; kb < s->nkb; kb++) {
            for (int64_t j = 0; j < nr; j++) {
                const int64_t k = kb * nr + j;
                s->bias[(g * s->nkb + kb) * nr + j] = d->has_bias && k < Kg ? bias[g * Kg + k] : 0.0f;
            }
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < Cg; c++) {
                    float *dst = s->wp + (((g * s->nkb + kb) * R + r) * Cg + c) * nr;
                    for (int64_t j = 0; j < nr; j++) {
                        const int64_t k = kb * nr + j, ko = g * Kg + k;
                        /* NWC: w[r][c][k];  NCW: w[k][c][r] */
                        dst[j] = k >= Kg ? 0.0f : nwc ? w[(r * Cg + c) * K + ko] : w[(ko * Cg + c) * R + r];
                    }
                }
        }

    choose_blocking(s, v->isa, c1_kernel_ctx_or_machine(ctx));
    s->stream = v->params[2] == 1 && s->kc == s->cg;
    s->transpose = v->isa == C1_ISA_LEVEL_C ? transpose_c : c1_direct_avx2_transpose;
    if (!nwc) {
        s->x_bytes = align_up((size_t)conv1d_input_elems(d) * sizeof(float));
        s->ws_bytes = s->x_bytes + WS_ALIGN - 1;
        if (!s->ncw_store) s->ws_bytes += align_up((size_t)conv1d_output_elems(d) * sizeof(float));
    }
    snprintf(s->info, sizeof s->info,
             "%dx%d %s%s, kc %lld of %lld, %lld %s and %lld of %lld NR blocks per task%s", s->mr, s->nr,
             c1_isa_level_name(v->isa), s->stream ? " streaming" : "", (long long)s->kc, (long long)Cg, (long long)s->ob,
             s->batch_rows ? "images at one position" : "positions",
             (long long)s->kbc, (long long)s->nkb,
             nwc               ? ""
             : s->ncw_store    ? ", ncw: x transposed, y stored transposed"
                               : ", ncw transposed through the workspace");
    *state = s;
    return CONV1D_OK;
}

static size_t direct_workspace_bytes(const void *state) { return ((const direct_state *)state)->ws_bytes; }

/* One kernel call; fuses the tap and channel loops when both are contiguous in x and wp. */
static void call_tile(const direct_state *s, c1_direct_tile *t, int rows)
{
    if (t->taps > 1 && t->x_tap == t->kc && t->w_tap == t->kc * s->nr) {
        t->kc *= t->taps;
        t->taps = 1;
    }
    s->kern->ukr[rows - 1](t);
}

void c1_direct_ncw_to_nwc(const conv1d_desc *d, const float *x, float *xt, c1_direct_transpose_fn transpose)
{
    const int64_t L = d->length, C = d->in_channels, cb = 64, lb = 256;
    const int64_t ncb = ceil_div(C, cb), nlb = ceil_div(L, lb);
#pragma omp parallel for collapse(3) schedule(static)
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t i = 0; i < ncb; i++)
            for (int64_t j = 0; j < nlb; j++)
                transpose(x + (n * C + i * cb) * L + j * lb, L, xt + (n * L + j * lb) * C + i * cb, C,
                          min64(cb, C - i * cb), min64(lb, L - j * lb));
}

/* The convolution on NWC tensors into y; with y_ncw, the AVX-512 kernels store transposed tiles straight into
 * y_ncw (one input-channel block) or each task transposes its own block of y, still in cache, into y_ncw.
 * A task is (outer index, group, block of ob rows, chunk of kbc output-channel blocks): rows are the positions of
 * image `outer`, or with batch_rows the images at position `outer`. */
static void run_nwc(const direct_state *s, const float *x, float *y, float *y_ncw)
{
    const conv1d_desc *d = &s->d;
    const int64_t L = d->length, C = d->in_channels, K = d->out_channels, R = d->kernel_size, G = d->num_groups;
    const int64_t stride = d->stride, dil = d->dilation, pl = d->pad_left, OL = s->out_len, N = d->batch;
    const int64_t Cg = s->cg, Kg = s->kg, nr = s->nr, mr = s->mr, nkb = s->nkb, kc = s->kc, ob = s->ob;
    const bool batch_rows = s->batch_rows;
    const int64_t nrows = batch_rows ? N : OL, nouter = batch_rows ? OL : N;
    const int64_t kbc = s->kbc, nkt = ceil_div(nkb, kbc), nob = ceil_div(nrows, ob), ncb = ceil_div(Cg, kc);
    const int64_t ntasks = nouter * G * nob * nkt;
    const bool stream = s->stream && (uintptr_t)y % 64 == 0;
    const bool ncw_store = y_ncw && s->ncw_store;

#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < ntasks; task++) {
        const int64_t kt = task % nkt, b = task / nkt % nob, g = task / nkt / nob % G, a = task / nkt / nob / G;
        const int64_t u_begin = b * ob, u_end = min64(nrows, u_begin + ob);
        const int64_t kb_begin = kt * kbc, kb_end = min64(nkb, kb_begin + kbc);
        for (int64_t cb = 0; cb < ncb; cb++) {
            const int64_t c0 = cb * kc;
            c1_direct_tile t = {
                .x_row = batch_rows ? L * C : stride * C,
                .x_tap = dil * C,
                .w_tap = Cg * nr,
                .y_row = ncw_store ? OL : batch_rows ? OL * K : K,
                .ncw = ncw_store,
            };
            for (int64_t u = u_begin, rows; u < u_end; u += rows) {
                const int64_t n = batch_rows ? u : a, o = batch_rows ? a : u;
                int64_t r_lo, r_hi;
                c1_direct_tap_range(d, s->lo, s->hi, o, &r_lo, &r_hi);
                rows = c1_direct_tile_rows(batch_rows, s->lo, s->hi, o, mr, u_end - u);
                const float *xn = x + n * L * C + g * Cg;
                const float *xt = r_hi > r_lo ? xn + (o * stride - pl + r_lo * dil) * C + c0 : xn;
                for (int64_t kb = kb_begin; kb < kb_end; kb++) {
                    t.x = xt;
                    t.w = s->wp + (((g * nkb + kb) * R + r_lo) * Cg + c0) * nr;
                    t.init = cb == 0 ? s->bias + (g * nkb + kb) * nr : NULL;
                    t.y = ncw_store ? y_ncw + (n * K + g * Kg + kb * nr) * OL + o : y + (n * OL + o) * K + g * Kg + kb * nr;
                    t.taps = r_hi - r_lo;
                    t.kc = min64(kc, Cg - c0);
                    t.nvalid = (int)min64(nr, Kg - kb * nr);
                    t.stream = stream && t.nvalid == nr;
                    call_tile(s, &t, (int)rows);
                }
            }
        }
        /* Non-temporal stores are weakly ordered: make them visible before the team's barrier. */
        if (stream) _mm_sfence();
        if (y_ncw && !ncw_store) {
            const int64_t k0 = g * Kg + kb_begin * nr, k1 = g * Kg + min64(Kg, kb_end * nr);
            if (!batch_rows) {
                s->transpose(y + (a * OL + u_begin) * K + k0, K, y_ncw + (a * K + k0) * OL + u_begin, OL,
                             u_end - u_begin, k1 - k0);
            } else {
                for (int64_t n = u_begin; n < u_end; n++)
                    for (int64_t k = k0; k < k1; k++) y_ncw[(n * K + k) * OL + a] = y[(n * OL + a) * K + k];
            }
        }
    }
}

static conv1d_status direct_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const float *x = x_arg;
    float *y = y_arg;
    const direct_state *s = state;
    const conv1d_desc *d = &s->d;
    if (d->layout == CONV1D_LAYOUT_NWC) {
        run_nwc(s, x, y, NULL);
        return CONV1D_OK;
    }
    char *ws = (char *)(((uintptr_t)workspace + WS_ALIGN - 1) & ~(uintptr_t)(WS_ALIGN - 1));
    float *xt = (float *)ws, *yt = (float *)(ws + s->x_bytes);
    c1_direct_ncw_to_nwc(d, x, xt, s->transpose);
    run_nwc(s, xt, yt, y);
    return CONV1D_OK;
}

static const char *direct_impl_info(const void *state) { return ((const direct_state *)state)->info; }

/* One table for every ISA: the variant's isa column picks the kernels (the AVX-512 level includes AVX2, whose
 * NCW transposes every SIMD variant uses). */
const c1_variant_ops c1_direct_ops = {
    .supports = direct_supports,
    .prepare = direct_prepare,
    .workspace_bytes = direct_workspace_bytes,
    .run = direct_run,
    .release = direct_release,
    .impl_info = direct_impl_info,
};
