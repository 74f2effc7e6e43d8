/*
 * Blocked direct convolution on 16-bit tensors (bf16, f16), channels last (NWC) natively, NCW through
 * transposes. The blocking mirrors direct.c (which see); what differs is where the 16 bits are handled.
 *
 *   direct_bf16_<MR>x<NR>__avx512bf16   native bf16: vdpbf16ps micro-kernels (direct16_avx512bf16.c) read the
 *                                       caller's bf16 input directly
 *   direct_<bf16|f16>_<MR>x<NR>__<avx2|avx512>
 *                                       conversion on load: fp32 FMA micro-kernels (direct16_avx2.c,
 *                                       direct16_avx512.c: direct.c's tiles with a 16-bit store) on blocks of
 *                                       the input widened into an fp32 scratch tile; for CPUs without
 *                                       AVX512_BF16, and for f16 on CPUs without AVX512_FP16 (Zen 4)
 *   p0 = MR output positions, p1 = NR output channels per register tile; the isa column picks the kind;
 *   p2 = 1 (_nt): y stored with non-temporal stores (NWC, whole 16-channel blocks), for outputs that do not stay
 *   in cache anyway: a first layer's cold output otherwise costs a read for every line written, which made
 *   the bf16 first layer no faster than fp32's streaming variant despite half the bytes.
 *
 * Both accumulate in fp32 from the bias (added in fp32) and round once to nearest even at the output.
 *
 * Native weights are packed at prepare in pairs of input channels, NR output channels per block: per tap
 * r and pair p, the 2*NR values w[k][2p][r], w[k][2p+1][r] interleaved over k, so one 32-bit broadcast of
 * the input pair meets one weight vector per 16 output channels; an odd channel count pairs its last channel
 * with a zero weight. When taps and channels are contiguous in the input (one group, dilation 1, one channel
 * block) the taps are packed as one flat run of R*Cg values instead, so the kernel's pair loop runs over tap
 * boundaries (first layers: Cg = 1 and 10 taps make 5 pairs, not 10 half-empty ones). An edge row starts that
 * run at tap r_lo, i.e. at value r_lo*Cg, which is odd for odd Cg and odd r_lo: a second packing shifted by
 * one value serves those rows.
 *
 * Conversion-on-load weights are the fp32 packing of direct.c, widened once at prepare. Each task widens the
 * input rows its position block reads (one input-channel block, only the positions inside the input) into a
 * per-thread scratch tile in the workspace, and keeps it for its next task when that reads the same block
 * (tasks are numbered with the output-channel chunk innermost and handed out in contiguous runs), so the
 * conversion costs one pass over what then stays in cache. The kernels round their fp32 sums in registers and
 * store 16 bits, as the native ones do: narrowing through an fp32 output tile in memory cost first layers (10
 * products per output) about 25% over fp32. Since the scratch tile holds only the group's channels, taps and
 * channels fuse into one loop whenever the dilation is 1 and one channel block covers the group, grouped
 * layers included.
 *
 * Short rows of many images (decode steps): tiles of MR images at one position (batch_rows), as in direct.c; the
 * conversion kind widens each image's window into the scratch tile, one image after another.
 *
 * Several input-channel blocks (wide layers, where the weight panel would not stay in L2): the partial sums
 * of the earlier blocks wait in the per-thread fp32 tile, never in y, so the output is rounded only once.
 *
 * NCW: the native kind transposes x (16 bits) into the workspace first; the conversion kind widens channel
 * rows of x and transposes them into its scratch tile. Both keep the task's outputs in the fp32 tile and
 * transpose, narrow and store them at the end of the task. The transposes are part of the timed run.
 *
 * Threads: the per-thread regions are sized for omp_get_max_threads() at prepare, and run() uses at most
 * that many threads.
 */
#include <emmintrin.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "direct16.h"
#include "error.h"
#include "basics.h"
#include "half.h"
#include "variant.h"

#define WS_ALIGN 64

typedef struct d16_state {
    conv1d_desc d;
    bool native; /* vdpbf16ps kernels; otherwise fp32 FMA kernels on widened input */
    const c1_direct16_kernels *kern;
    c1_widen_fn widen;   /* conversion kind: input blocks to fp32 */
    c1_narrow_fn narrow; /* NCW: the fp32 output tile to y */
    int mr, nr;
    int64_t out_len, cg, kg; /* output positions, input and output channels per group */
    int64_t nkb;             /* NR-wide output-channel blocks per group */
    int64_t kc, ob, kbc;     /* input-channel block, row block, output-channel blocks per task */
    bool batch_rows;         /* rows are images at one output position (direct.c), not positions of one image */
    int64_t lo, hi;          /* output rows [lo, hi) have their whole window inside the input */
    int64_t span_pos;        /* input positions a position block reads at most */
    /* native */
    bool flat;         /* taps and channels packed as one run of R*Cg values */
    int64_t pc;        /* pairs per tap (per-tap packing) */
    int64_t npf;       /* pairs per NR block (flat packing) */
    uint16_t *wp16[2]; /* [G][nkb][R][pc][NR][2], or flat [nkb][npf][NR][2] starting at value 0 and value -1 */
    /* conversion on load */
    float *wp; /* [G][nkb][R][Cg][NR] */
    float *bias; /* [G][nkb][NR]; zeros without bias and beyond each group's channels */
    int nthreads;
    bool tile_acc; /* the per-thread fp32 output tile is used (NCW, several channel blocks) */
    bool stream;   /* non-temporal stores of y (p2 = 1) */
    size_t xt_bytes;         /* native NCW: x transposed to NWC, shared by the threads */
    size_t thread_bytes;     /* each thread's region: */
    size_t acc_off, yt_off;  /*   fp32 output tile [ob][kbc*NR], and its transpose (NCW) */
    size_t xs_off, xtmp_off; /*   widened input [span_pos][kc], and the widened NCW rows [kc][span_pos] */
    size_t ws_bytes;
    char info[200];
} d16_state;

/* --- helpers -------------------------------------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static size_t align_up(size_t n) { return (n + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN; }

static bool is_native(const c1_variant *v) { return v->isa == C1_ISA_LEVEL_AVX512BF16; }

static conv1d_dtype dtype_of(const c1_variant *v) { return v->precision == C1_PREC_F16 ? CONV1D_F16 : CONV1D_BF16; }

static float widen1(conv1d_dtype t, uint16_t h) { return c1_half_to_f32(t, h); }

/* Bytes of one weight value as the kernels read it: bf16 pairs natively, fp32 after conversion. */
static int64_t weight_bytes(const c1_variant *v) { return is_native(v) ? 2 : (int64_t)sizeof(float); }

/* Input channels per block: the (NR block, kc) weight panel fills at most half of L2; equal blocks rather than a
 * short last one; even for the native kind, so blocks start on a pair. */
static int64_t kc_for(const c1_variant *v, int64_t cg, int64_t kernel_size, const c1_kernel_ctx *ctx)
{
    const int64_t kc_max = max64(2, ctx->l2_bytes / 2 / (kernel_size * v->params[1] * weight_bytes(v)));
    const int64_t force = ctx->force_blocking[0];
    int64_t kc = force > 0 ? force : kc_max >= cg ? cg : ceil_div(cg, ceil_div(cg, kc_max));
    if (is_native(v) && kc < cg) kc += kc & 1;
    return min64(kc, cg);
}

static const c1_direct16_kernels *kernels_for(const c1_variant *v)
{
    switch (v->isa) {
    case C1_ISA_LEVEL_AVX512BF16: return c1_direct16_avx512bf16_kernels(v->params[0], v->params[1]);
    case C1_ISA_LEVEL_AVX512: return c1_direct16_avx512_kernels(v->params[0], v->params[1], dtype_of(v));
    case C1_ISA_LEVEL_AVX2: return c1_direct16_avx2_kernels(v->params[0], v->params[1], dtype_of(v));
    case C1_ISA_LEVEL_C:
    case C1_ISA_LEVEL_COUNT: break;
    }
    return NULL;
}

static conv1d_status d16_supports(const c1_variant *v, const conv1d_desc *d)
{
    const int mr = v->params[0], nr = v->params[1];
    if (!kernels_for(v))
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s has no %dx%d kernels in this build.", v->name, mr, nr);
    if (is_native(v) && v->precision != C1_PREC_BF16)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s: the AVX512_BF16 kernels compute bf16 only.", v->name);
    if (d->dtype != dtype_of(v) || (v->precision != C1_PREC_BF16 && v->precision != C1_PREC_F16))
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s computes %s tensors, got dtype %s.", v->name,
                       c1_precision_name(v->precision), conv1d_dtype_name(d->dtype));
    if (v->params[2] == 1) {
        /* Streaming stores pay off only when y is written once, whole 32-byte vectors at a time, straight into
         * the caller's y (every output is stored once here, after its last channel block). */
        const int64_t kg = d->out_channels / d->num_groups;
        if (d->layout != CONV1D_LAYOUT_NWC)
            return c1_fail(CONV1D_UNSUPPORTED, "Variant %s streams its output, so it takes NWC only.", v->name);
        if (d->out_channels % 16 != 0 || kg % 16 != 0)
            return c1_fail(CONV1D_UNSUPPORTED,
                           "Variant %s needs output channels per group a multiple of 16, got %lld.", v->name,
                           (long long)kg);
    }
    return CONV1D_OK;
}

static void d16_release(void *state)
{
    d16_state *s = state;
    if (!s) return;
    free(s->wp16[0]);
    free(s->wp16[1]);
    free(s->wp);
    free(s->bias);
    free(s);
}

/* Picks kc, kbc and ob as direct.c does (with this kind's element sizes; ctx's L2, or what ctx forces), the flat
 * packing, the interior rows and the workspace regions. */
static void choose_blocking(d16_state *s, const c1_variant *v, const c1_kernel_ctx *ctx)
{
    const conv1d_desc *d = &s->d;
    const int64_t R = d->kernel_size, l2 = ctx->l2_bytes;
    /* What a position block's input rows take in cache: the caller's bf16 rows, or the fp32 scratch tile. */
    const int64_t xbytes = s->native ? 2 : (int64_t)sizeof(float);

    s->kc = kc_for(v, s->cg, R, ctx);
    /* Short rows of many images: tiles of MR images at one position, as in direct.c. */
    const int64_t N = d->batch, OL = s->out_len, mr = s->mr, span = d->dilation * (R - 1);
    s->batch_rows = c1_direct_batch_rows(N, OL, mr);
    const int64_t rows = s->batch_rows ? N : OL, outer = s->batch_rows ? OL : N;
    const int64_t panel = R * s->kc * s->nr * weight_bytes(v);
    int64_t kbc = min64(s->nkb, max64(1, l2 / 8 / panel));
    kbc = ceil_div(s->nkb, ceil_div(s->nkb, kbc));

    /* A row's new input: stride positions along a row of positions, a whole window across images. */
    const int64_t row_in = s->batch_rows ? span + 1 : max64(d->stride, 1);
    int64_t ob = l2 / 4 / (row_in * s->kc * xbytes);
    ob = min64(max64(ob, mr), 16 * mr) / mr * mr;
    const int64_t threads = omp_get_max_threads(), bg = outer * d->num_groups;
    while (ob > mr && bg * ceil_div(s->nkb, kbc) * ceil_div(rows, ob) < 4 * threads)
        ob = max64(mr, ob / 2 / mr * mr);
    while (kbc > 1 && bg * ceil_div(s->nkb, kbc) * ceil_div(rows, ob) < 4 * threads) {
        int64_t chunks = ceil_div(s->nkb, kbc) + 1;
        while (ceil_div(s->nkb, chunks) >= kbc) chunks++;
        kbc = ceil_div(s->nkb, chunks);
    }
    s->kbc = ctx->force_blocking[2] > 0 ? min64(ctx->force_blocking[2], s->nkb) : kbc;
    s->ob = ctx->force_blocking[1] > 0 ? ctx->force_blocking[1] : ob;

    c1_direct_interior(d, s->out_len, &s->lo, &s->hi);
    /* Input positions one image's rows of a block read (all ob images' windows with batch_rows). */
    s->span_pos = s->batch_rows ? s->ob * min64(d->length, span + 1) : min64(d->length, (s->ob - 1) * d->stride + span + 1);
    s->flat = s->native && d->num_groups == 1 && d->dilation == 1 && s->kc == s->cg;

    const bool ncw = d->layout == CONV1D_LAYOUT_NCW;
    /* Sums wait in the tile across channel blocks, and NCW transposes the whole block at the end. */
    s->tile_acc = ncw || s->kc < s->cg;
    s->nthreads = (int)threads;
    const size_t tile = (size_t)(s->ob * s->kbc * s->nr) * sizeof(float);
    size_t off = 0;
    if (s->tile_acc) {
        s->acc_off = off;
        off += align_up(tile);
    }
    if (ncw) {
        s->yt_off = off;
        off += align_up(tile);
    }
    if (!s->native) {
        const size_t xs = (size_t)(s->span_pos * s->kc) * sizeof(float);
        s->xs_off = off;
        off += align_up(xs);
        if (ncw) {
            s->xtmp_off = off;
            off += align_up(xs);
        }
    }
    s->thread_bytes = off;
    s->xt_bytes = s->native && ncw ? align_up((size_t)conv1d_input_elems(d) * sizeof(uint16_t)) : 0;
    const size_t total = s->xt_bytes + (size_t)s->nthreads * s->thread_bytes;
    s->ws_bytes = total ? total + WS_ALIGN - 1 : 0;
}

/* w(k, c, r) of the caller's filter, raw 16 bits. NWC: w[r][c][k];  NCW: w[k][c][r]. */
static uint16_t weight_at(const conv1d_desc *d, const uint16_t *w, int64_t cg, int64_t k, int64_t c, int64_t r)
{
    return d->layout == CONV1D_LAYOUT_NWC ? w[(r * cg + c) * d->out_channels + k] : w[(k * cg + c) * d->kernel_size + r];
}

static void pack_native(d16_state *s, const uint16_t *w)
{
    const conv1d_desc *d = &s->d;
    const int64_t G = d->num_groups, R = d->kernel_size, Cg = s->cg, Kg = s->kg, nr = s->nr;
    if (s->flat) {
        /* Pair q of phase ph holds values 2q - ph and 2q + 1 - ph of the run f = r*Cg + c. */
        for (int ph = 0; ph < 2 && s->wp16[ph]; ph++)
            for (int64_t kb = 0; kb < s->nkb; kb++)
                for (int64_t q = 0; q < s->npf; q++)
                    for (int64_t j = 0; j < nr; j++)
                        for (int e = 0; e < 2; e++) {
                            const int64_t f = 2 * q + e - ph, k = kb * nr + j;
                            s->wp16[ph][((kb * s->npf + q) * nr + j) * 2 + e] =
                                f >= 0 && f < R * Cg && k < Kg ? weight_at(d, w, Cg, k, f % Cg, f / Cg) : 0;
                        }
        return;
    }
    for (int64_t g = 0; g < G; g++)
        for (int64_t kb = 0; kb < s->nkb; kb++)
            for (int64_t r = 0; r < R; r++)
                for (int64_t p = 0; p < s->pc; p++)
                    for (int64_t j = 0; j < nr; j++)
                        for (int e = 0; e < 2; e++) {
                            const int64_t c = 2 * p + e, k = kb * nr + j;
                            s->wp16[0][((((g * s->nkb + kb) * R + r) * s->pc + p) * nr + j) * 2 + e] =
                                c < Cg && k < Kg ? weight_at(d, w, Cg, g * Kg + k, c, r) : 0;
                        }
}

static void pack_widened(d16_state *s, const uint16_t *w)
{
    const conv1d_desc *d = &s->d;
    const int64_t G = d->num_groups, R = d->kernel_size, Cg = s->cg, Kg = s->kg, nr = s->nr;
    for (int64_t g = 0; g < G; g++)
        for (int64_t kb = 0; kb < s->nkb; kb++)
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < Cg; c++) {
                    float *dst = s->wp + (((g * s->nkb + kb) * R + r) * Cg + c) * nr;
                    for (int64_t j = 0; j < nr; j++) {
                        const int64_t k = kb * nr + j;
                        dst[j] = k < Kg ? widen1(d->dtype, weight_at(d, w, Cg, g * Kg + k, c, r)) : 0.0f;
                    }
                }
}

static conv1d_status d16_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                 const void *w_arg, const void *bias_arg, void **state)
{
    const uint16_t *w = w_arg, *bias = bias_arg; /* 16-bit only: supports() refuses other dtypes */
    conv1d_status st = d16_supports(v, d);
    if (st != CONV1D_OK) return st;
    d16_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate its state.", v->name);
    s->d = *d;
    s->native = is_native(v);
    s->mr = v->params[0];
    s->nr = v->params[1];
    s->stream = v->params[2] == 1;
    const bool bf16 = d->dtype == CONV1D_BF16;
    s->kern = kernels_for(v);
    if (s->native) {
        s->narrow = c1_direct16_avx512_narrow_bf16;
    } else if (v->isa == C1_ISA_LEVEL_AVX512) {
        s->widen = bf16 ? c1_direct16_avx512_widen_bf16 : c1_direct16_avx512_widen_f16;
        s->narrow = bf16 ? c1_direct16_avx512_narrow_bf16 : c1_direct16_avx512_narrow_f16;
    } else {
        s->widen = bf16 ? c1_direct16_avx2_widen_bf16 : c1_direct16_avx2_widen_f16;
        s->narrow = bf16 ? c1_direct16_avx2_narrow_bf16 : c1_direct16_avx2_narrow_f16;
    }
    const int64_t G = d->num_groups, K = d->out_channels, R = d->kernel_size, nr = s->nr;
    s->out_len = conv1d_output_length(d);
    s->cg = d->in_channels / G;
    s->kg = K / G;
    s->nkb = ceil_div(s->kg, nr);
    s->pc = ceil_div(s->cg, 2);
    choose_blocking(s, v, c1_kernel_ctx_or_machine(ctx));
    s->npf = R * s->cg / 2 + 1;

    /* Padded sizes can exceed the (validated) tensor sizes by up to NR times (and pairs twice over). */
    size_t wp_elems = 0;
    const size_t per_block = s->flat ? (size_t)(2 * s->npf) : s->native ? (size_t)(R * 2 * s->pc) : (size_t)(R * s->cg);
    if (__builtin_mul_overflow((size_t)(G * s->nkb * nr), per_block, &wp_elems) ||
        wp_elems > SIZE_MAX / 4 / sizeof(float)) {
        d16_release(s);
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s: the packed weights would not fit in memory.", v->name);
    }
    /* c1_alloc_floats: 64-byte aligned, as the kernels' weight loads need; 16-bit packings take half the floats. */
    bool ok = true;
    if (s->native) {
        s->wp16[0] = (uint16_t *)c1_alloc_floats((wp_elems + 1) / 2);
        ok = s->wp16[0] != NULL;
        if (s->flat && s->cg % 2) ok = ok && (s->wp16[1] = (uint16_t *)c1_alloc_floats((wp_elems + 1) / 2)) != NULL;
    } else
        ok = (s->wp = c1_alloc_floats(wp_elems)) != NULL;
    s->bias = c1_alloc_floats((size_t)(G * s->nkb * nr));
    if (!ok || !s->bias) {
        d16_release(s);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate %zu bytes of packed weights.", v->name,
                       wp_elems * (size_t)weight_bytes(v));
    }
    for (int64_t g = 0; g < G; g++)
        for (int64_t k = 0; k < s->kg; k++)
            s->bias[g * s->nkb * nr + k] = d->has_bias ? widen1(d->dtype, bias[g * s->kg + k]) : 0.0f;
    if (s->native)
        pack_native(s, w);
    else
        pack_widened(s, w);

    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    snprintf(s->info, sizeof s->info, "%dx%d %s %s%s, kc %lld of %lld, %lld %s and %lld of %lld NR blocks per task%s%s",
             s->mr, s->nr, s->native ? "vdpbf16ps" : "fp32 kernels on widened input", c1_isa_level_name(v->isa),
             s->stream ? " streaming" : "",
             (long long)s->kc, (long long)s->cg, (long long)s->ob, s->batch_rows ? "images at one position" : "positions",
             (long long)s->kbc, (long long)s->nkb,
             s->flat ? ", taps and channels as one run" : "",
             nwc ? "" : ", ncw: transposed in and out");
    *state = s;
    return CONV1D_OK;
}

static size_t d16_workspace_bytes(const void *state) { return ((const d16_state *)state)->ws_bytes; }

/* dst[j*ds + i] = src[i*ss + j] for an 8x8 block of 16-bit values: three rounds of SSE2 interleaves. */
static void transpose8x8_u16(const uint16_t *src, ptrdiff_t ss, uint16_t *dst, ptrdiff_t ds)
{
    __m128i a[8], b[8], c[8];
    for (int i = 0; i < 8; i++) a[i] = _mm_loadu_si128((const __m128i *)(src + i * ss));
    for (int i = 0; i < 4; i++) {
        b[2 * i] = _mm_unpacklo_epi16(a[2 * i], a[2 * i + 1]);
        b[2 * i + 1] = _mm_unpackhi_epi16(a[2 * i], a[2 * i + 1]);
    }
    /* b[2i] holds columns 0-3 of rows 2i, 2i+1 as pairs; b[2i+1] columns 4-7. */
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 2; i++) {
            c[4 * h + 2 * i] = _mm_unpacklo_epi32(b[4 * h + i], b[4 * h + i + 2]);
            c[4 * h + 2 * i + 1] = _mm_unpackhi_epi32(b[4 * h + i], b[4 * h + i + 2]);
        }
    /* c[4h + k] holds columns 2k, 2k+1 of rows 4h..4h+3. */
    for (int k = 0; k < 4; k++) {
        _mm_storeu_si128((__m128i *)(dst + 2 * k * ds), _mm_unpacklo_epi64(c[k], c[4 + k]));
        _mm_storeu_si128((__m128i *)(dst + (2 * k + 1) * ds), _mm_unpackhi_epi64(c[k], c[4 + k]));
    }
}

/* x (NCW, 16 bits) into xt (NWC), in cache-sized blocks over the team, 8x8 blocks in registers. */
static void ncw_to_nwc16(const conv1d_desc *d, const uint16_t *x, uint16_t *xt)
{
    const int64_t L = d->length, C = d->in_channels, cb = 32, lb = 128;
    const int64_t ncb = ceil_div(C, cb), nlb = ceil_div(L, lb);
#pragma omp parallel for collapse(3) schedule(static)
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t i = 0; i < ncb; i++)
            for (int64_t j = 0; j < nlb; j++) {
                const int64_t c0 = i * cb, c1 = min64(C, c0 + cb), l0 = j * lb, l1 = min64(L, l0 + lb);
                const int64_t c8 = c0 + (c1 - c0) / 8 * 8, l8 = l0 + (l1 - l0) / 8 * 8;
                const uint16_t *xn = x + n * C * L;
                uint16_t *tn = xt + n * L * C;
                for (int64_t c = c0; c < c8; c += 8)
                    for (int64_t l = l0; l < l8; l += 8) transpose8x8_u16(xn + c * L + l, L, tn + l * C + c, C);
                for (int64_t l = l0; l < l1; l++)
                    for (int64_t c = l < l8 ? c8 : c0; c < c1; c++) tn[l * C + c] = xn[c * L + l];
            }
}

/* The conversion kind's scratch tile: input positions [p0, p0 + np), channels [c0, c0 + kcb) of group g of
 * image n, widened to xs[pos][c]. */
static void widen_block(const d16_state *s, const uint16_t *x, int64_t n, int64_t g, int64_t c0, int64_t kcb,
                        int64_t p0, int64_t np, float *xs, float *xtmp)
{
    const conv1d_desc *d = &s->d;
    const int64_t L = d->length, C = d->in_channels, ci = g * s->cg + c0;
    if (d->layout == CONV1D_LAYOUT_NCW) {
        for (int64_t c = 0; c < kcb; c++) s->widen(x + (n * C + ci + c) * L + p0, xtmp + c * np, np);
        c1_direct_avx2_transpose(xtmp, np, xs, kcb, kcb, np);
    } else if (kcb == C) {
        s->widen(x + (n * L + p0) * C, xs, np * C);
    } else {
        for (int64_t p = 0; p < np; p++) s->widen(x + (n * L + p0 + p) * C + ci, xs + p * kcb, kcb);
    }
}

/* A task is (outer index, group, block of ob rows, chunk of kbc output-channel blocks): rows are the positions of
 * image `outer`, or with batch_rows the images at position `outer` (direct.c). */
static void run_tasks(const d16_state *s, const uint16_t *x, uint16_t *y, char *ws)
{
    const conv1d_desc *d = &s->d;
    const int64_t L = d->length, C = d->in_channels, K = d->out_channels, R = d->kernel_size, G = d->num_groups;
    const int64_t stride = d->stride, dil = d->dilation, pl = d->pad_left, OL = s->out_len, N = d->batch;
    const int64_t Cg = s->cg, Kg = s->kg, nr = s->nr, mr = s->mr, nkb = s->nkb, kc = s->kc, ob = s->ob;
    const bool batch_rows = s->batch_rows;
    const int64_t nrows = batch_rows ? N : OL, nouter = batch_rows ? OL : N;
    const int64_t kbc = s->kbc, nkt = ceil_div(nkb, kbc), nob = ceil_div(nrows, ob), ncb = ceil_div(Cg, kc);
    const int64_t ntasks = nouter * G * nob * nkt, arow = kbc * nr, span = dil * (R - 1);
    const bool ncw = d->layout == CONV1D_LAYOUT_NCW;
    const bool stream = s->stream && (uintptr_t)y % 32 == 0;

    /* No more threads than the workspace has regions for. */
    const int team = omp_get_max_threads() < s->nthreads ? omp_get_max_threads() : s->nthreads;
#pragma omp parallel num_threads(team)
    {
        char *tws = ws + (size_t)omp_get_thread_num() * s->thread_bytes;
        float *acc = (float *)(tws + s->acc_off), *yt = (float *)(tws + s->yt_off);
        float *xs = (float *)(tws + s->xs_off), *xtmp = (float *)(tws + s->xtmp_off);
        int64_t held = -1; /* conversion kind: the (outer, group, row block, channel block) xs holds */
#pragma omp for schedule(static)
        for (int64_t task = 0; task < ntasks; task++) {
            const int64_t kt = task % nkt, b = task / nkt % nob, g = task / nkt / nob % G, a = task / nkt / nob / G;
            const int64_t u_begin = b * ob, u_end = min64(nrows, u_begin + ob);
            const int64_t kb_begin = kt * kbc, kb_end = min64(nkb, kb_begin + kbc);
            const int64_t k0 = kb_begin * nr, ncols = min64(Kg, kb_end * nr) - k0;
            /* The output positions of the block, and the input positions [p0, p1) one image of it reads. */
            const int64_t o_first = batch_rows ? a : u_begin, o_last = batch_rows ? a : u_end - 1;
            const int64_t p0 = max64(0, o_first * stride - pl);
            const int64_t p1 = max64(p0, min64(L, o_last * stride - pl + span + 1));
            for (int64_t cb = 0; cb < ncb; cb++) {
                const int64_t c0 = cb * kc, kcb = min64(kc, Cg - c0);
                const bool last = cb == ncb - 1;
                if (!s->native) {
                    const int64_t key = ((a * G + g) * nob + b) * ncb + cb;
                    if (key != held) {
                        if (batch_rows) /* each image's window, one after another */
                            for (int64_t n = u_begin; n < u_end; n++)
                                widen_block(s, x, n, g, c0, kcb, p0, p1 - p0, xs + (n - u_begin) * (p1 - p0) * kcb, xtmp);
                        else
                            widen_block(s, x, a, g, c0, kcb, p0, p1 - p0, xs, xtmp);
                    }
                    held = key;
                }
                for (int64_t u = u_begin, rows; u < u_end; u += rows) {
                    const int64_t n = batch_rows ? u : a, o = batch_rows ? a : u;
                    const int64_t i0 = o * stride - pl;
                    int64_t r_lo, r_hi;
                    c1_direct_tap_range(d, s->lo, s->hi, o, &r_lo, &r_hi);
                    rows = c1_direct_tile_rows(batch_rows, s->lo, s->hi, o, mr, u_end - u);
                    const bool any = r_hi > r_lo;
                    const uint16_t *xn = x + n * L * C + g * Cg;
                    float *at = s->tile_acc ? acc + (u - u_begin) * arow : NULL;
                    for (int64_t kb = kb_begin; kb < kb_end; kb++) {
                        c1_direct16_tile t = {
                            .init = cb == 0 ? s->bias + (g * nkb + kb) * nr : NULL,
                            .acc = at ? at + (kb - kb_begin) * nr : NULL,
                            .acc_row = arow,
                            .y = last && !ncw ? y + (n * OL + o) * K + g * Kg + kb * nr : NULL,
                            .y_row = batch_rows ? OL * K : K,
                            .nvalid = (int)min64(nr, Kg - kb * nr),
                        };
                        t.stream = stream && last && t.nvalid == nr;
                        if (!s->native) {
                            const float *xu = batch_rows ? xs + (u - u_begin) * (p1 - p0) * kcb : xs;
                            t.x = any ? xu + (i0 + r_lo * dil - p0) * kcb : xu;
                            t.w = s->wp + (((g * nkb + kb) * R + r_lo) * Cg + c0) * nr;
                            t.x_row = batch_rows ? (p1 - p0) * kcb : stride * kcb;
                            t.x_tap = dil * kcb;
                            t.w_tap = Cg * nr;
                            t.taps = r_hi - r_lo;
                            t.kc = kcb;
                            /* Taps and channels contiguous in both xs and wp: one longer channel loop. */
                            if (t.taps > 1 && t.x_tap == t.kc && t.w_tap == t.kc * nr) {
                                t.kc *= t.taps;
                                t.taps = 1;
                            }
                        } else if (s->flat) {
                            /* One run of the values r_lo*Cg .. r_hi*Cg - 1, from the packing whose pairs start
                             * where the run does. */
                            const int64_t f = r_lo * Cg, ph = f & 1;
                            t.x = any ? xn + (i0 + r_lo) * C : xn;
                            t.w = s->wp16[ph] + (kb * s->npf + (f + ph) / 2) * 2 * nr;
                            t.x_row = batch_rows ? L * C : stride * C;
                            t.taps = any ? 1 : 0;
                            t.kc = (r_hi - r_lo) * Cg;
                        } else {
                            t.x = any ? xn + (i0 + r_lo * dil) * C + c0 : xn;
                            t.w = s->wp16[0] + ((((g * nkb + kb) * R + r_lo) * s->pc) + c0 / 2) * 2 * nr;
                            t.x_row = batch_rows ? L * C : stride * C;
                            t.x_tap = dil * C;
                            t.w_tap = s->pc * 2 * nr;
                            t.taps = r_hi - r_lo;
                            t.kc = kcb;
                        }
                        s->kern->ukr[rows - 1](&t);
                    }
                }
            }
            /* Non-temporal stores are weakly ordered: make them visible before the team's barrier. */
            if (stream) _mm_sfence();
            if (ncw && !batch_rows) {
                const int64_t nr_ = u_end - u_begin;
                c1_direct_avx2_transpose(acc, arow, yt, nr_, nr_, ncols);
                for (int64_t k = 0; k < ncols; k++)
                    s->narrow(yt + k * nr_, y + (a * K + g * Kg + k0 + k) * OL + u_begin, nr_);
            } else if (ncw) {
                /* Each image's channels at position a: narrowed in a row, then a column of y. */
                uint16_t *h = (uint16_t *)yt;
                for (int64_t n = u_begin; n < u_end; n++) {
                    s->narrow(acc + (n - u_begin) * arow, h, ncols);
                    for (int64_t k = 0; k < ncols; k++) y[(n * K + g * Kg + k0 + k) * OL + a] = h[k];
                }
            }
        }
    }
}

static conv1d_status d16_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const d16_state *s = state;
    const uint16_t *x = x_arg;
    char *ws = (char *)(((uintptr_t)workspace + WS_ALIGN - 1) & ~(uintptr_t)(WS_ALIGN - 1));
    if (s->xt_bytes) {
        uint16_t *xt = (uint16_t *)ws;
        ncw_to_nwc16(&s->d, x, xt);
        x = xt;
        ws += s->xt_bytes;
    }
    run_tasks(s, x, y_arg, ws);
    return CONV1D_OK;
}

static const char *d16_impl_info(const void *state) { return ((const d16_state *)state)->info; }

/* One table for every ISA and both 16-bit types: the variant's isa column picks the kind (AVX512_BF16: native;
 * AVX2, AVX-512: conversion on load), its precision column the type. */
const c1_variant_ops c1_direct16_ops = {
    .supports = d16_supports,
    .prepare = d16_prepare,
    .workspace_bytes = d16_workspace_bytes,
    .run = d16_run,
    .release = d16_release,
    .impl_info = d16_impl_info,
};
