/*
 * Convolution by FFT (FFTW 3, single precision) for long kernels, every field, both layouts.
 *
 *   fft_b<N>_<e|m>__<isa>     p0 = N: overlap-save blocks of an N-point transform (256, 1024, 4096)
 *   fft_whole_<e|m>__<isa>    p0 = 0: one transform over the whole sequence (Hyena's k = L)
 *                             p1 = planner rigor: 0 FFTW_ESTIMATE (e), 1 FFTW_MEASURE (m)
 *                             p2 = 0: OpenMP over tasks, FFTW single-threaded (FFTW's own threads are not used:
 *                                  the tasks already keep every core busy on layers of a few dozen channels)
 *   <isa>: the product kernels' (avx512, avx2); FFTW dispatches its own SIMD at run time.
 *
 * Direct convolution spends R multiply-adds per output and input channel; an N-point block spends about
 * 2 * 2.5 log2 N real flops per point for its transforms plus 8 flops per frequency and channel pair in the
 * product, so past a few dozen taps the FFT wins, by orders of magnitude at R in the thousands.
 *
 * Stride, dilation: fft.h's virtual channels. Each (input channel, active phase p) is a stride-1 sub-signal
 * u[m] = xpad[m*S + p] and every output is a stride-1 correlation y[o] = sum_{v, j} w_v[j] u_v[o + j] over
 * J = (R-1)*D/S + 1 sub-kernel taps, so only the outputs that exist are computed, and a dilated kernel is a
 * sub-kernel with zeros between its taps.
 *
 * Overlap-save: block b of an N-point transform yields the B = N - J + 1 outputs [b*B, b*B + B) from the N
 * sub-signal points starting at b*B: the circular correlation IFFT(FFT(u) . conj(FFT(w))) wraps only into the
 * last J - 1 points. Padding is the zeros the gather writes where a block reaches outside the input.
 *
 * prepare(): FFTW plans (one r2c and one c2r of N points, single precision, under the planner lock of
 * fft_wisdom.c, with the wisdom cache) and the transformed weights, conj(FFT(w_v)) / N, computed in double
 * precision (FFTW's double library) and rounded once, laid out for the product kernels. run() allocates
 * nothing: it calls fftwf_execute_dft_r2c / _c2r (new-array execution, thread-safe) on buffers in its
 * workspace, each 64-byte aligned like the arrays the plans were made on.
 *
 * run(): one OpenMP loop over tasks (rows, groups, part of a group's output channels); a row is one block of
 * one image. A task gathers the input of its groups' virtual channels, 16 channels at a time (one cache line of
 * an NWC row), transforms them into split spectra X[row][v], runs the product kernels (fft_kernels.inc) over
 * tiles of rows x output channels, transforms each output channel back and writes it, 16 channels at a time
 * (the bias is added to the zero frequency: a constant is that bin alone). Rows per task are sized so X and the
 * outputs of a task stay in half of L2, or, where a group's transformed weights dwarf its spectra (dense layers),
 * in an eighth of L3 with the team splitting output channels instead of rows; the weights of a tile are read
 * once for all rows of a task. NWC rows move through 8x8 transposes (c1_direct_avx2_transpose).
 *
 * Error: FFT round-off grows with log N and the square root of the channels summed; c1_fft_error_estimate holds
 * the measured error and supports() refuses a shape whose estimate passes a quarter of the fp32 threshold.
 */
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basics.h"
#include "check.h"
#include "direct.h"
#include "error.h"
#include "fft.h"
#include "variant.h"

#define WS_ALIGN 64
/* Sub-kernels shorter than this are the direct and Winograd families' (an FFT costs more than 8 taps). */
#define MIN_SPAN 8
/* Channels gathered (input) and written (output) together: one cache line of an NWC row. */
#define CH_BLOCK 16
/* Seconds FFTW_MEASURE may spend on one plan. */
#define MEASURE_LIMIT_S 0.5
/* The transformed weights of one state may take at most this much memory. */
#define MAX_WEIGHT_BYTES ((size_t)1 << 30)
/* The workspace of one state (all threads' slots) may take at most this much memory. */
#define MAX_WORKSPACE_BYTES ((size_t)2 << 30)
/* A whole-sequence transform beyond this many points is refused (memory, and the error grows). */
#define MAX_WHOLE_N ((int64_t)1 << 22)


typedef struct fft_state {
    conv1d_desc d;
    const c1_fft_isa *isa;
    int vw, kt, max_tile;
    bool measured; /* plans made with FFTW_MEASURE */
    int64_t L, OL, S, P0, C, K, G, Cg, Kg;
    int64_t P, *phase; /* active phases (r*D % S for some tap r), ascending */
    int64_t J, N, F, Fp, B, nblocks, rows, Cv;
    int64_t Nst, Xst; /* strides of real rows (>= N) and of split spectra (>= 2*Fp) in the workspace */
    int64_t rpt, gpt, kpart, nrs, ngs, nkp, ntasks; /* blocking: rows, groups, output channels per task */
    float *w;    /* transformed weights: group g, output tile at local k0 of width kw: from ((g*Kg + k0)*Cv)*2*Fp */
    float *bias; /* K: the bias or zeros */
    fftwf_plan fwd, inv;
    size_t off_x, off_c, off_y, off_o, slot_floats, ws_bytes;
    int slots;
    char info[224];
} fft_state;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
static int ilog2(int64_t v) { return 63 - __builtin_clzll((unsigned long long)v); }

int64_t c1_fft_good_size(int64_t span)
{
    static const int64_t odd[] = {1, 3, 5, 9};
    int64_t best = INT64_MAX;
    if (span < 2) span = 2;
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        int64_t n = 2 * odd[i];
        while (n < span && n <= INT64_MAX / 2) n *= 2;
        if (n >= span && n < best) best = n;
    }
    return best;
}

/* --- error class ------------------------------------------------------------------------------------------ */

/* The family's error on uniform random data in [-1, 1) against the double reference, as a fraction of max|ref|
 * and of ||ref||_2 (the two agree within 20%: FFT round-off spreads evenly over the outputs), bounded from the
 * measurements in results/NOTES.md with a factor of 1.5-3 to spare:
 *   n-point transforms, one channel (k = L causal, 1K-64K taps): 1.8-2.3e-7, flat in n
 *   256 points, 16 / 64 / 256 / 1024 / 4096 / 16384 virtual channels summed: 1.8e-7 / 3.2e-7 / 4.0e-7 / 1.05e-6 /
 *   1.6e-6 / 3.7e-6, growing like their square root from a few hundred
 * tests/unit/test_fft.c fails if a measurement exceeds the estimate. */
double c1_fft_error_estimate(int64_t n, int64_t virtual_channels)
{
    const double lg = log2((double)(n > 256 ? n : 256));
    return 3e-7 * sqrt(lg / 8.0) * sqrt(fmax(1.0, (double)virtual_channels / 16.0));
}

/* --- geometry --------------------------------------------------------------------------------------------- */

typedef struct fft_geom {
    int64_t OL, J, N, P, Cv;
} fft_geom;

/* Sub-kernel span, active phases and the FFT size of variant v on d. */
static fft_geom geometry(const c1_variant *v, const conv1d_desc *d)
{
    fft_geom g = {.OL = conv1d_output_length(d)};
    const int64_t S = d->stride, D = d->dilation, R = d->kernel_size;
    g.J = (R - 1) * D / S + 1;
    /* Phases hit by some tap: r*D mod S cycles with period S / gcd(D, S). */
    int64_t a = D % S, b = S;
    while (a) {
        const int64_t t = b % a;
        b = a;
        a = t;
    }
    g.P = min64(R, S / b);
    g.Cv = d->in_channels / d->num_groups * g.P;
    g.N = v->params[0] > 0 ? v->params[0] : c1_fft_good_size(g.OL + g.J - 1);
    return g;
}

static const char *isa_name(const c1_variant *v) { return c1_isa_level_name(v->isa); }

static conv1d_status fft_supports(const c1_variant *v, const conv1d_desc *d)
{
    if (d->dtype != CONV1D_F32)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s computes f32 only, got dtype %d.", v->name, (int)d->dtype);
    const fft_geom g = geometry(v, d);
    if (g.J < MIN_SPAN)
        return c1_fail(CONV1D_UNSUPPORTED,
                       "The FFT family takes kernels spanning at least %d positions of the stride-1 sub-signal "
                       "((kernel_size-1)*dilation/stride + 1), got %lld; shorter ones are the direct family's.",
                       MIN_SPAN, (long long)g.J);
    const int64_t need = g.OL + g.J - 1; /* sub-signal points behind all outputs */
    if (v->params[0] > 0) {
        if (g.J > g.N / 2)
            return c1_fail(CONV1D_UNSUPPORTED,
                           "Variant %s takes kernels spanning at most %lld sub-signal positions (half its %lld-point "
                           "block), got %lld.",
                           v->name, (long long)(g.N / 2), (long long)g.N, (long long)g.J);
        if (need <= g.N / 2)
            return c1_fail(CONV1D_UNSUPPORTED,
                           "Variant %s would leave most of its %lld-point block empty: the sequence needs %lld points; "
                           "a smaller block or the whole-sequence variant takes it.",
                           v->name, (long long)g.N, (long long)need);
    } else {
        if (g.N > MAX_WHOLE_N)
            return c1_fail(CONV1D_UNSUPPORTED,
                           "Variant %s would need a %lld-point transform, more than its limit of %lld.", v->name,
                           (long long)g.N, (long long)MAX_WHOLE_N);
        if (g.N > 4096 && g.J < g.N / 8)
            return c1_fail(CONV1D_UNSUPPORTED,
                           "Variant %s transforms whole sequences for kernels spanning at least an eighth of them; "
                           "%lld of %lld points is the blocked variants' case.",
                           v->name, (long long)g.J, (long long)g.N);
    }
    /* A quarter of the class's tighter threshold (rel_l2: the error is spread evenly, so it binds first). */
    const c1_tolerance tol = c1_precision_tolerance(C1_PREC_FP32);
    const double err = c1_fft_error_estimate(g.N, g.Cv), limit = fmin(tol.rel_max, tol.rel_l2) / 4;
    if (err > limit)
        return c1_fail(CONV1D_UNSUPPORTED,
                       "Variant %s would leave the fp32 error class here: estimated error %.2g of max|ref| with %lld-point "
                       "transforms over %lld channels, limit %.2g.",
                       v->name, err, (long long)g.N, (long long)g.Cv, limit);
    const double bytes = (double)d->out_channels * (double)g.Cv * (double)round_up(g.N / 2 + 1, 16) * 8.0;
    if (bytes > (double)MAX_WEIGHT_BYTES)
        return c1_fail(CONV1D_UNSUPPORTED,
                       "Variant %s would need %.0f MiB of transformed weights, more than its limit of %zu MiB.",
                       v->name, bytes / 1048576.0, MAX_WEIGHT_BYTES >> 20);
    return CONV1D_OK;
}

/* --- state ------------------------------------------------------------------------------------------------ */

static void fft_release(void *state)
{
    fft_state *s = state;
    if (!s) return;
    if (s->fwd || s->inv) {
        c1_fft_planner_lock();
        if (s->fwd) fftwf_destroy_plan(s->fwd);
        if (s->inv) fftwf_destroy_plan(s->inv);
        c1_fft_planner_unlock();
    }
    free(s->phase);
    free(s->w);
    free(s->bias);
    free(s);
}

/* Width of the output tile starting at local channel k0: kt, or the largest power of two left at the group's end. */
static int tile_width(const fft_state *s, int64_t k0)
{
    int w = s->kt;
    while (w > s->Kg - k0) w >>= 1;
    return w;
}

static void set_tasks(fft_state *s)
{
    s->nrs = ceil_div(s->rows, s->rpt);
    s->ngs = ceil_div(s->G, s->gpt);
    s->nkp = ceil_div(s->Kg, s->kpart);
    s->ntasks = s->nrs * s->ngs * s->nkp;
}

static void choose_blocking(fft_state *s, const c1_kernel_ctx *ctx)
{
    const bool nwc = s->d.layout == CONV1D_LAYOUT_NWC;
    /* NWC: enough groups that a task reads and writes whole cache lines of a row. */
    s->gpt = nwc ? min64(s->G, max64(ceil_div(CH_BLOCK, s->Cg), ceil_div(CH_BLOCK, s->Kg))) : 1;
    const int64_t per_row =
        (s->gpt * s->Cv * s->Xst + (int64_t)s->kt * s->Xst + CH_BLOCK * s->Nst) * (int64_t)sizeof(float);
    /* A task's rows share each weight vector it loads: their spectra stay in half of L2, or, where a group's
     * transformed weights are much larger (dense layers: Kg * Cv * N/2 complex values), in up to an eighth of
     * L3, since streaming the weights once more costs more than reading spectra from L3. */
    const int64_t w_group = s->Kg * s->Cv * s->Fp * 8;
    const int64_t x_budget = max64(ctx->l2_bytes / 2, min64(ctx->l3_bytes / 8, w_group / 4));
    s->rpt = min64(s->rows, max64(1, min64(16, x_budget / per_row)));
    s->kpart = s->Kg;
    set_tasks(s);
    const int64_t want = 4 * (int64_t)omp_get_max_threads();
    /* More tasks for the team: split a group's output channels (each part transforms the group's input again)
     * where the weights dominate, else the rows (each set of rows reads the weights again). */
    while (s->ntasks < want) {
        const bool split_k = s->gpt == 1 && s->kpart >= 2 * s->kt;
        if (split_k && (s->rpt == 1 || w_group > 4 * per_row * s->rpt)) {
            s->kpart = round_up(ceil_div(s->kpart, 2), s->kt);
        } else if (s->rpt > 1) {
            s->rpt = ceil_div(s->rpt, 2);
        } else {
            break;
        }
        set_tasks(s);
    }
    const int64_t force_rpt = ctx->force_blocking[0], force_kparts = ctx->force_blocking[1];
    if (force_rpt > 0) s->rpt = min64(force_rpt, s->rows);
    if (force_kparts > 0 && s->gpt == 1) s->kpart = round_up(ceil_div(s->Kg, force_kparts), s->kt);
    set_tasks(s);
    /* The register tile: as many of the task's rows as fit (each weight vector loaded once for all of them),
     * the rest of the tile in output channels. kt divides the parts above, which are multiples of the widest. */
    int64_t mt = 1;
    while (mt * 2 <= min64(s->rpt, s->max_tile)) mt *= 2;
    while ((int64_t)s->kt * mt > s->max_tile) s->kt /= 2;
}

/* Transformed weights: for output k (global) of group g and virtual channel v = (c, p), conj(FFT_N(w_v)) / N in
 * the product kernels' layout. In double, one FFTW double plan shared by the threads (new-array execution). */
static conv1d_status transform_weights(fft_state *s, const float *w, fftw_plan dplan, const int64_t *phase_index)
{
    const conv1d_desc *d = &s->d;
    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    const int64_t R = d->kernel_size, D = d->dilation, S = s->S, N = s->N, F = s->F, Fp = s->Fp, P = s->P;
    const int64_t Cg = s->Cg, Kg = s->Kg, K = s->K, Cv = s->Cv, vw = s->vw;
    int failed = 0;
#pragma omp parallel
    {
        double *in = fftw_malloc((size_t)(P * N) * sizeof(double));
        fftw_complex *out = fftw_malloc((size_t)F * sizeof(fftw_complex));
        if (!in || !out) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < K; k++) {
            if (!in || !out) continue;
            const int64_t g = k / Kg, kl = k % Kg;
            /* The tile holding kl, and kl's place in it. */
            int64_t k0 = 0;
            int kw = 0;
            for (;; k0 += kw) {
                kw = tile_width(s, k0);
                if (kl < k0 + kw) break;
            }
            float *tile = s->w + ((g * Kg + k0) * Cv) * 2 * Fp;
            for (int64_t c = 0; c < Cg; c++) {
                memset(in, 0, (size_t)(P * N) * sizeof(double));
                for (int64_t r = 0; r < R; r++) {
                    const int64_t off = r * D;
                    const double val = nwc ? w[(r * Cg + c) * K + k] : w[(k * Cg + c) * R + r];
                    in[phase_index[off % S] * N + off / S] = val;
                }
                for (int64_t p = 0; p < P; p++) {
                    fftw_execute_dft_r2c(dplan, in + p * N, out);
                    const int64_t v = c * P + p;
                    for (int64_t f = 0; f < F; f++) {
                        float *dst = tile + (f / vw) * (Cv * kw * 2 * vw) + (v * kw + (kl - k0)) * 2 * vw + f % vw;
                        dst[0] = (float)(out[f][0] / (double)N);
                        dst[vw] = (float)(-out[f][1] / (double)N);
                    }
                }
            }
        }
        fftw_free(in);
        fftw_free(out);
    }
    return failed ? c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the buffers of the weights' transforms.")
                  : CONV1D_OK;
}

/* The plans, under the planner lock; FFTW_MEASURE plans read and update the wisdom cache. */
static conv1d_status make_plans(fft_state *s, const c1_variant *v, const c1_kernel_ctx *ctx, fftw_plan *dplan)
{
    float *a = c1_alloc_floats((size_t)s->Nst), *c = c1_alloc_floats((size_t)(2 * s->Fp));
    double *da = fftw_malloc((size_t)s->N * sizeof(double));
    fftw_complex *dc = fftw_malloc((size_t)s->F * sizeof(fftw_complex));
    conv1d_status st = CONV1D_OK;
    if (!a || !c || !da || !dc) {
        st = c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate the planner's arrays.", v->name);
        goto done;
    }
    const bool measure = v->params[1] == 1 && !ctx->fft_estimate;
    const int n = (int)s->N;
    c1_fft_planner_lock();
    if (measure) c1_fft_wisdom_load_locked();
    const unsigned flags = measure ? FFTW_MEASURE : FFTW_ESTIMATE;
    s->measured = measure;
    /* Measuring is bounded (FFTW falls back to estimates past it), so a first plan of a large transform without
     * wisdom costs seconds, not minutes; the limit is planner state, set and reset under the lock. */
    if (measure) fftwf_set_timelimit(MEASURE_LIMIT_S);
    s->fwd = fftwf_plan_dft_r2c_1d(n, a, (fftwf_complex *)c, flags);
    s->inv = fftwf_plan_dft_c2r_1d(n, (fftwf_complex *)c, a, flags);
    /* FFTW does not fail a plan it has a solver for; if it ever did, the estimate plan is the fallback. */
    if (!s->fwd) s->fwd = fftwf_plan_dft_r2c_1d(n, a, (fftwf_complex *)c, FFTW_ESTIMATE);
    if (!s->inv) s->inv = fftwf_plan_dft_c2r_1d(n, (fftwf_complex *)c, a, FFTW_ESTIMATE);
    if (measure) fftwf_set_timelimit(FFTW_NO_TIMELIMIT);
    *dplan = fftw_plan_dft_r2c_1d(n, da, dc, FFTW_ESTIMATE | FFTW_UNALIGNED);
    if (measure) c1_fft_wisdom_save_locked();
    c1_fft_planner_unlock();
    if (!s->fwd || !s->inv || !*dplan)
        st = c1_fail(CONV1D_INTERNAL, "Variant %s: FFTW made no plan for %lld points.", v->name, (long long)s->N);
done:
    free(a);
    free(c);
    fftw_free(da);
    fftw_free(dc);
    return st;
}

static conv1d_status fft_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                 const void *w_arg, const void *bias_arg, void **state)
{
    const float *w = w_arg, *bias = bias_arg; /* f32 only: supports() refuses other dtypes */
    conv1d_status st = fft_supports(v, d);
    if (st != CONV1D_OK) return st;
    fft_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate its state.", v->name);
    const fft_geom g = geometry(v, d);
    s->d = *d;
    s->isa = v->isa == C1_ISA_LEVEL_AVX512 ? &c1_fft_avx512 : &c1_fft_avx2;
    s->vw = s->isa->vw;
    s->max_tile = s->isa->max_tile;
    s->L = d->length;
    s->OL = g.OL;
    s->S = d->stride;
    s->P0 = d->pad_left;
    s->C = d->in_channels;
    s->K = d->out_channels;
    s->G = d->num_groups;
    s->Cg = s->C / s->G;
    s->Kg = s->K / s->G;
    s->J = g.J;
    s->N = g.N;
    s->P = g.P;
    s->Cv = g.Cv;
    s->F = s->N / 2 + 1;
    s->Fp = round_up(s->F, 16);
    /* Rows and spectra of a task are walked 16 at a time (gather, scatter) or one after another (products): a
     * line's padding keeps strides off multiples of 4 KiB, which would put all of them in one set of L1. */
    s->Nst = round_up(s->N, 16) + 16;
    s->Xst = 2 * s->Fp + 16;
    s->B = s->N - s->J + 1;
    s->nblocks = ceil_div(s->OL, s->B);
    s->rows = d->batch * s->nblocks;
    s->kt = 1;
    while (s->kt * 2 <= min64(s->max_tile, s->Kg)) s->kt *= 2;

    /* Active phases, ascending, and the index of each phase value (only at prepare: S is at most the span). */
    int64_t *phase_index = malloc((size_t)s->S * sizeof *phase_index);
    s->phase = malloc((size_t)s->P * sizeof *s->phase);
    const size_t w_floats = (size_t)s->K * (size_t)s->Cv * (size_t)(2 * s->Fp);
    s->w = c1_alloc_floats(w_floats);
    s->bias = c1_alloc_floats((size_t)s->K);
    if (!phase_index || !s->phase || !s->w || !s->bias) {
        free(phase_index);
        fft_release(s);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s: could not allocate %zu bytes of transformed weights.",
                       v->name, w_floats * sizeof(float));
    }
    for (int64_t p = 0; p < s->S; p++) phase_index[p] = -1;
    for (int64_t r = 0; r < d->kernel_size; r++) phase_index[r * d->dilation % s->S] = 0;
    int64_t np = 0;
    for (int64_t p = 0; p < s->S; p++)
        if (phase_index[p] != -1) {
            s->phase[np] = p;
            phase_index[p] = np++;
        }
    if (d->has_bias) memcpy(s->bias, bias, (size_t)s->K * sizeof(float));

    choose_blocking(s, c1_kernel_ctx_or_machine(ctx));
    fftw_plan dplan = NULL;
    st = make_plans(s, v, c1_kernel_ctx_or_machine(ctx), &dplan);
    if (st == CONV1D_OK) st = transform_weights(s, w, dplan, phase_index);
    if (dplan) {
        c1_fft_planner_lock();
        fftw_destroy_plan(dplan);
        c1_fft_planner_unlock();
    }
    free(phase_index);
    if (st != CONV1D_OK) {
        fft_release(s);
        return st;
    }

    s->off_x = 0;
    s->off_c = s->off_x + (size_t)(s->rpt * s->gpt * s->Cv * s->Xst);
    s->off_y = s->off_c + (size_t)(2 * s->Fp);
    s->off_o = s->off_y + (size_t)(s->rpt * s->kt * s->Xst);
    const size_t in_floats = (size_t)(CH_BLOCK * s->P * s->Nst);
    s->slot_floats = s->off_o + (size_t)(s->rpt * CH_BLOCK * s->Nst) + in_floats;
    s->slots = omp_get_max_threads();
    s->ws_bytes = (size_t)s->slots * s->slot_floats * sizeof(float) + WS_ALIGN - 1;
    if (s->ws_bytes > MAX_WORKSPACE_BYTES) {
        const double mib = (double)s->ws_bytes / 1048576.0;
        fft_release(s);
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s would need a %.0f MiB workspace, more than its limit of %zu MiB.",
                       v->name, mib, MAX_WORKSPACE_BYTES >> 20);
    }
    snprintf(s->info, sizeof s->info,
             "%lld-point FFTW %s transforms, %lld outputs a block x %lld blocks, %lld virtual channels a group, "
             "%lld rows x %lld groups x %lld output channels a task, %s",
             (long long)s->N, s->measured ? "MEASURE" : "ESTIMATE", (long long)s->B, (long long)s->nblocks,
             (long long)s->Cv, (long long)s->rpt, (long long)s->gpt, (long long)s->kpart, isa_name(v));
    *state = s;
    return CONV1D_OK;
}

static size_t fft_workspace_bytes(const void *state) { return ((const fft_state *)state)->ws_bytes; }

/* --- run -------------------------------------------------------------------------------------------------- */

/* Input channels [ca, cb) of image n, block b, into in[(c - ca)*P + p][t] = xpad[(b*B + t)*S + phase p]. */
static void gather(const fft_state *s, const float *x, int64_t n, int64_t b, int64_t ca, int64_t cb, float *in)
{
    const int64_t L = s->L, C = s->C, S = s->S, P = s->P, N = s->N, Nst = s->Nst, first = b * s->B;
    const bool nwc = s->d.layout == CONV1D_LAYOUT_NWC;
    for (int64_t p = 0; p < P; p++) {
        const int64_t ph = s->phase[p] - s->P0; /* input position of t is (first + t)*S + ph */
        /* t in [tlo, thi) reads inside the input: (first + t)*S + ph in [0, L - 1] */
        const int64_t tlo = min64(N, max64(0, floor_div(-ph + S - 1, S) - first));
        const int64_t thi = max64(tlo, min64(N, floor_div(L - 1 - ph, S) - first + 1));
        for (int64_t c = ca; c < cb; c++) {
            float *buf = in + ((c - ca) * P + p) * Nst;
            if (tlo > 0) memset(buf, 0, (size_t)tlo * sizeof(float));
            if (thi < N) memset(buf + thi, 0, (size_t)(N - thi) * sizeof(float));
        }
        if (nwc) {
            /* 8 x 8 blocks: eight rows' loads in flight at once, rows C floats apart crossing pages */
            if (thi > tlo)
                c1_direct_avx2_transpose(x + (n * L + (first + tlo) * S + ph) * C + ca, S * C, in + p * Nst + tlo, P * Nst,
                                         thi - tlo, cb - ca);
        } else {
            for (int64_t c = ca; c < cb; c++) {
                const float *xc = x + (n * C + c) * L + ph;
                float *buf = in + ((c - ca) * P + p) * Nst;
                if (S == 1) {
                    if (thi > tlo) memcpy(buf + tlo, xc + first + tlo, (size_t)(thi - tlo) * sizeof(float));
                } else {
                    for (int64_t t = tlo; t < thi; t++) buf[t] = xc[(first + t) * S];
                }
            }
        }
    }
}

/* Output channels [k0, k0 + nk) of rows [r0, r0 + nr) from out[i][kk][t] (the bias already in) into y. */
static void scatter(const fft_state *s, const float *out, float *y, int64_t r0, int64_t nr, int64_t k0, int64_t nk)
{
    const int64_t K = s->K, OL = s->OL, Nst = s->Nst;
    for (int64_t i = 0; i < nr; i++) {
        const int64_t n = (r0 + i) / s->nblocks, o0 = (r0 + i) % s->nblocks * s->B, no = min64(s->B, OL - o0);
        const float *oi = out + i * CH_BLOCK * Nst;
        if (s->d.layout == CONV1D_LAYOUT_NWC)
            c1_direct_avx2_transpose(oi, Nst, y + (n * OL + o0) * K + k0, K, nk, no);
        else
            for (int64_t kk = 0; kk < nk; kk++)
                memcpy(y + (n * K + k0 + kk) * OL + o0, oi + kk * Nst, (size_t)no * sizeof(float));
    }
}

/* One task: rows [r0, r1), groups [g0, g1), and of a single group only its output channels [ka, kb). */
static void run_task(const fft_state *s, const float *x, float *y, float *slot, int64_t r0, int64_t r1, int64_t g0,
                     int64_t g1, int64_t ka, int64_t kb)
{
    const int64_t nr = r1 - r0, Cv = s->Cv, Cvt = (g1 - g0) * Cv, Fp = s->Fp, F = s->F, P = s->P, Nst = s->Nst;
    const int64_t Xst = s->Xst;
    const int64_t kt = s->kt, vw = s->vw;
    float *X = slot + s->off_x, *ct = slot + s->off_c, *Y = slot + s->off_y, *ob = slot + s->off_o;
    float *in = ob + nr * CH_BLOCK * Nst; /* after the rows' output buffers of this task */
    const c1_fft_isa *isa = s->isa;

    /* 1. Spectra of every virtual channel of the task's groups, per row. */
    const int64_t c_lo = g0 * s->Cg, c_hi = g1 * s->Cg;
    for (int64_t i = 0; i < nr; i++) {
        const int64_t n = (r0 + i) / s->nblocks, b = (r0 + i) % s->nblocks;
        for (int64_t ca = c_lo; ca < c_hi; ca += CH_BLOCK) {
            const int64_t cb = min64(c_hi, ca + CH_BLOCK);
            gather(s, x, n, b, ca, cb, in);
            for (int64_t j = 0; j < (cb - ca) * P; j++) {
                fftwf_execute_dft_r2c(s->fwd, in + j * Nst, (fftwf_complex *)ct);
                float *xv = X + (i * Cvt + (ca - c_lo) * P + j) * Xst;
                isa->split(ct, xv, xv + Fp, F, Fp);
            }
        }
    }

    /* 2. Products, inverse transforms, and the outputs CH_BLOCK channels at a time. */
    c1_fft_prod_args a = {.x_row = Cvt * Xst, .x_v = Xst, .plane_im = Fp, .cv = Cv, .nchunks = Fp / vw,
                          .y_row = kt * Xst, .y_k = Xst};
    int64_t kflush = g0 * s->Kg + (g1 - g0 > 1 ? 0 : ka), nbuf = 0;
    for (int64_t g = g0; g < g1; g++) {
        const int64_t k_from = g1 - g0 > 1 ? 0 : ka, k_to = g1 - g0 > 1 ? s->Kg : kb;
        for (int64_t k0 = k_from, kw; k0 < k_to; k0 += kw) {
            kw = tile_width(s, k0);
            const int64_t kglob = g * s->Kg + k0;
            if (nbuf + kw > CH_BLOCK) {
                scatter(s, ob, y, r0, nr, kflush, nbuf);
                kflush = kglob;
                nbuf = 0;
            }
            a.w = s->w + kglob * Cv * 2 * Fp;
            a.w_chunk = Cv * kw * 2 * vw;
            for (int64_t m0 = 0, mt; m0 < nr; m0 += mt) {
                mt = 1;
                while (mt * 2 <= min64(nr - m0, s->max_tile / kw)) mt *= 2;
                a.x = X + (m0 * Cvt + (g - g0) * Cv) * Xst;
                a.y = Y + m0 * a.y_row;
                isa->prod[ilog2(mt)][ilog2(kw)](&a);
            }
            for (int64_t i = 0; i < nr; i++)
                for (int64_t kk = 0; kk < kw; kk++) {
                    const float *yv = Y + i * a.y_row + kk * a.y_k;
                    isa->join(yv, yv + Fp, ct, F);
                    ct[0] += s->bias[kglob + kk]; /* a constant is the zero frequency alone, times N unscaled */
                    fftwf_execute_dft_c2r(s->inv, (fftwf_complex *)ct, ob + (i * CH_BLOCK + nbuf + kk) * Nst);
                }
            nbuf += kw;
        }
    }
    if (nbuf) scatter(s, ob, y, r0, nr, kflush, nbuf);
}

static conv1d_status fft_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const float *x = x_arg;
    float *y = y_arg;
    const fft_state *s = state;
    char *ws = (char *)(((uintptr_t)workspace + WS_ALIGN - 1) & ~(uintptr_t)(WS_ALIGN - 1));
    const int nthreads = (int)min64(min64(omp_get_max_threads(), s->slots), s->ntasks);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (int64_t task = 0; task < s->ntasks; task++) {
        const int64_t kp = task % s->nkp, gs = task / s->nkp % s->ngs, rs = task / s->nkp / s->ngs;
        const int64_t r0 = rs * s->rpt, r1 = min64(s->rows, r0 + s->rpt);
        const int64_t g0 = gs * s->gpt, g1 = min64(s->G, g0 + s->gpt);
        const int64_t ka = kp * s->kpart, kb = min64(s->Kg, ka + s->kpart);
        float *slot = (float *)(ws + (size_t)omp_get_thread_num() * s->slot_floats * sizeof(float));
        run_task(s, x, y, slot, r0, r1, g0, g1, ka, kb);
    }
    return CONV1D_OK;
}

static const char *fft_impl_info(const void *state) { return ((const fft_state *)state)->info; }

/* One table for both ISA levels: the variant's isa column picks the product kernels (FFTW picks its own). */
const c1_variant_ops c1_fft_ops = {
    .supports = fft_supports,
    .prepare = fft_prepare,
    .workspace_bytes = fft_workspace_bytes,
    .run = fft_run,
    .release = fft_release,
    .impl_info = fft_impl_info,
};
