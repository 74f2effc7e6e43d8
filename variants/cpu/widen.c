/*
 * The conversion wrapper: a 16-bit (bf16 or f16) twin of an fp32 variant. widen.h says when it pays.
 *
 * A wrapper's name is its fp32 variant's with the dtype before the ISA suffix: winograd_f4r3_bf16__avx512
 * wraps winograd_f4r3__avx512, takes its family and ISA level, and computes bf16 tensors (precision column
 * BF16). prepare widens the weights and bias exactly and prepares the fp32 variant on the same shape in f32;
 * run widens x into the workspace, runs the fp32 variant, and rounds its output once into y. So what the
 * fp32 variant computes (its error included) is checked against the 16-bit class's bound like any native
 * kernel: a wrapped Winograd tile whose error exceeds one output rounding fails the check and never wins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "half.h"
#include "variant.h"
#include "widen.h"

#define WS_ALIGN 64
/* Elements converted per OpenMP work item: a few pages, so the threads split a tensor evenly. */
#define CHUNK 16384

typedef struct widen_state {
    const c1_variant *inner;
    void *inner_state;
    conv1d_desc d32;            /* the shape in f32, as the inner variant sees it */
    conv1d_dtype dtype;         /* the tensors' */
    size_t nx, ny, inner_ws;    /* elements, and the inner variant's workspace bytes */
    const c1_widen_isa *isa;
} widen_state;

static size_t round_up(size_t n) { return (n + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN; }

/* The 16-bit check (c1_compare16) allows each output half a unit in the last place plus 4 sqrt(terms) 2^-24 of its
 * sum of absolute terms: a direct sum's rounding. A Winograd tile's transforms round more (F(6,3) about 2.5x a
 * direct sum at 256 channels, F(3,7) about 10x), which that allowance covers only for longer sums: with one input
 * channel an f16 F(6,3) output landed 0.515 units from the reference. From 32 channels a group on, the allowance
 * is at least 2.7x the largest tile's error (winograd.c's table), and a layer that narrow gains nothing from
 * Winograd anyway. */
#define C1_WIDEN_WINOGRAD_MIN_CHANNELS 32

/* The fp32 variant a wrapper's name names ("x_bf16__isa" -> "x__isa"), or NULL. */
static const c1_variant *inner_of(const c1_variant *v)
{
    const char *sep = strstr(v->name, "__"), *tag = v->precision == C1_PREC_BF16 ? "_bf16" : "_f16";
    const size_t tl = strlen(tag);
    if (!sep || (size_t)(sep - v->name) <= tl || strncmp(sep - tl, tag, tl) != 0) return NULL;
    char name[96];
    const int n = snprintf(name, sizeof name, "%.*s%s", (int)(sep - v->name - tl), v->name, sep);
    if (n < 0 || (size_t)n >= sizeof name) return NULL;
    const c1_variant *in = c1_variant_find(name);
    return in && in->precision == C1_PREC_FP32 && in->device == C1_DEVICE_CPU ? in : NULL;
}

static conv1d_status widen_supports(const c1_variant *v, const conv1d_desc *d)
{
    const c1_variant *in = inner_of(v);
    if (!in) return c1_fail(CONV1D_INTERNAL, "Variant %s names no fp32 CPU variant to wrap.", v->name);
    if (d->dtype == CONV1D_F32)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s computes %s tensors, got f32.", v->name,
                       c1_precision_name(v->precision));
    const int64_t cg = d->in_channels / d->num_groups;
    if (strcmp(in->family, "winograd") == 0 && cg < C1_WIDEN_WINOGRAD_MIN_CHANNELS)
        return c1_fail(CONV1D_UNSUPPORTED,
                       "Variant %s needs at least %d input channels a group, got %lld: below that Winograd's transforms "
                       "round more than the 16-bit check allows a sum of so few terms.",
                       v->name, C1_WIDEN_WINOGRAD_MIN_CHANNELS, (long long)cg);
    conv1d_desc d32 = *d;
    d32.dtype = CONV1D_F32;
    return c1_variant_applies(in, &d32);
}

static void widen_release(void *state)
{
    widen_state *s = state;
    if (!s) return;
    if (s->inner_state) s->inner->ops->release(s->inner_state);
    free(s);
}

static void to_f32(const widen_state *s, const uint16_t *in, float *out, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < (n + CHUNK - 1) / CHUNK; c++) {
        const size_t lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        (s->dtype == CONV1D_BF16 ? s->isa->bf16_to_f32 : s->isa->f16_to_f32)(in + lo, out + lo, len);
    }
}

static void from_f32(const widen_state *s, const float *in, uint16_t *out, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < (n + CHUNK - 1) / CHUNK; c++) {
        const size_t lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        (s->dtype == CONV1D_BF16 ? s->isa->f32_to_bf16 : s->isa->f32_to_f16)(in + lo, out + lo, len);
    }
}

static conv1d_status widen_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                   const void *w, const void *bias, void **state)
{
    widen_state *s = calloc(1, sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the state of %s.", v->name);
    s->inner = inner_of(v);
    s->d32 = *d;
    s->d32.dtype = CONV1D_F32;
    s->dtype = d->dtype;
    s->nx = (size_t)conv1d_input_elems(d);
    s->ny = (size_t)conv1d_output_elems(d);
    s->isa = v->isa >= C1_ISA_LEVEL_AVX512 ? &c1_widen_avx512 : &c1_widen_avx2;
    const size_t nw = (size_t)conv1d_weight_elems(d), nb = d->has_bias ? (size_t)d->out_channels : 0;
    float *wf = malloc((nw + nb) * sizeof(float));
    if (!s->inner || !wf) {
        const bool named = s->inner != NULL;
        free(wf);
        widen_release(s);
        return named ? c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate %zu widened weights for %s.", nw + nb, v->name)
                     : c1_fail(CONV1D_INTERNAL, "Variant %s names no fp32 CPU variant to wrap.", v->name);
    }
    for (size_t i = 0; i < nw; i++)
        wf[i] = c1_half_to_f32(d->dtype, ((const uint16_t *)w)[i]);
    for (size_t i = 0; i < nb; i++)
        wf[nw + i] = c1_half_to_f32(d->dtype, ((const uint16_t *)bias)[i]);
    const conv1d_status st = s->inner->ops->prepare(s->inner, &s->d32, ctx, wf, nb ? wf + nw : NULL, &s->inner_state);
    free(wf);
    if (st != CONV1D_OK) {
        widen_release(s);
        return st;
    }
    s->inner_ws = s->inner->ops->workspace_bytes ? s->inner->ops->workspace_bytes(s->inner_state) : 0;
    *state = s;
    return CONV1D_OK;
}

/* The widened input, the fp32 output and the inner variant's workspace, each 64-byte aligned from the first
 * aligned address of the caller's workspace (which need not be aligned). */
static size_t widen_workspace_bytes(const void *state)
{
    const widen_state *s = state;
    return WS_ALIGN + round_up(s->nx * sizeof(float)) + round_up(s->ny * sizeof(float)) + s->inner_ws;
}

static conv1d_status widen_run(const void *state, const void *x, void *y, void *workspace)
{
    const widen_state *s = state;
    float *x32 = (float *)(((uintptr_t)workspace + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN);
    float *y32 = (float *)((char *)x32 + round_up(s->nx * sizeof(float)));
    void *inner_ws = s->inner_ws ? (char *)y32 + round_up(s->ny * sizeof(float)) : NULL;
    to_f32(s, x, x32, s->nx);
    const conv1d_status st = s->inner->ops->run(s->inner_state, x32, y32, inner_ws);
    if (st != CONV1D_OK) return st;
    from_f32(s, y32, y, s->ny);
    return CONV1D_OK;
}

static const char *widen_impl_info(const void *state)
{
    const widen_state *s = state;
    return s->inner->ops->impl_info ? s->inner->ops->impl_info(s->inner_state) : NULL;
}

const c1_variant_ops c1_widen_ops = {
    .supports = widen_supports,
    .prepare = widen_prepare,
    .workspace_bytes = widen_workspace_bytes,
    .run = widen_run,
    .release = widen_release,
    .impl_info = widen_impl_info,
};
