/*
 * Shared by the C tests of the CPU variant families (test_direct.c, test_winograd.c): one variant run once
 * on one descriptor the way the harness checks it, and its error against the double reference.
 * Include after test_util.h.
 */
#ifndef CONV1D_VARIANT_CHECK_H
#define CONV1D_VARIANT_CHECK_H

#include <stdio.h>
#include <string.h>

#include "conv1d_ref.h"
#include "variant.h"

/* The registered variants of `family` this CPU can run, of every precision class when all_classes, else the
 * fp32 ones (the 16-bit ones have tests of their own), up to max of them into out; each one left out for want
 * of its ISA is named. Returns how many. */
static inline size_t tu_family_variants_of(const char *family, bool all_classes, const c1_variant **out, size_t max)
{
    size_t count = 0, n = 0;
    const c1_variant *list = c1_variant_list(&count);
    for (size_t i = 0; i < count; i++) {
        const c1_variant *v = &list[i];
        if (strcmp(v->family, family) != 0 || (!all_classes && v->precision != C1_PREC_FP32)) continue;
        if (!c1_isa_available(v->isa) || (v->ops->available && !v->ops->available())) {
            print_message("skipping %s: not available here (ISA level %s%s)\n", v->name,
                          c1_isa_level_name(c1_isa_effective()), c1_isa_capped() ? ", capped by CONV1D_ISA" : "");
            continue;
        }
        if (n < max) out[n++] = v;
    }
    return n;
}

/* The fp32 variants of `family` this CPU can run (tu_family_variants_of). */
static inline size_t tu_family_variants(const char *family, const c1_variant **out, size_t max)
{
    return tu_family_variants_of(family, false, out, max);
}

/* Skips the calling test, saying why, when no variant of the family can run at this ISA level. */
#define TU_SKIP_WITHOUT_VARIANTS(n, family)                                                                  \
    do {                                                                                                     \
        if ((n) == 0) {                                                                                      \
            print_message("skipped: no %s variant runs at ISA level %s\n", family,                         \
                          c1_isa_level_name(c1_isa_effective()));                                             \
            skip();                                                                                          \
        }                                                                                                    \
    } while (0)

/* A dense stride-1 descriptor without padding or bias, batch 1, NWC: the start the family tests vary from. */
static inline conv1d_desc tu_base_desc(int64_t length, int64_t in_channels, int64_t out_channels, int64_t kernel_size)
{
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.length = length;
    d.in_channels = in_channels;
    d.out_channels = out_channels;
    d.kernel_size = kernel_size;
    return d;
}

/* Case q of the direct families' batch-rows tests (decode steps, where a row tile is MR images at one position):
 * batches 2, MR + 1 and 2MR + 3; output lengths 1, 2 and MR - 1; k3 over 7 input channels, padding none, causal at
 * dilation 2 (every position an edge) or one each side (with 32 output channels: whole blocks for the streaming
 * twins), stride 1 or 2; both layouts; groups of 4 -> nr + 1 channels on a third of them; forced channel blocks
 * (kc 3) and image blocks (1, MR + 1) in force[0] and force[1]. Returns 0 past the last case, -1 for a case with
 * no input length giving its outputs, else 1. */
static inline int tu_short_rows_case(int q, int64_t mr, int64_t nr, conv1d_desc *d, int64_t force[2])
{
    const int64_t batches[] = {2, mr + 1, 2 * mr + 3}, outs[] = {1, 2, mr - 1}, kcs[] = {0, 3}, obs[] = {0, 1, mr + 1};
    if (q >= 3 * 3 * 3 * 2) return 0;
    const int i = q / 18, j = q / 6 % 3, pad = q / 2 % 3, layout = q % 2, c = i + j + pad + layout, R = 3;
    force[0] = kcs[c % 2];
    force[1] = obs[(j + pad) % 3];
    *d = tu_base_desc(1, 7, pad == 2 ? 32 : 2 * nr + 3, R);
    d->batch = batches[i];
    d->stride = 1 + (i + j) % 2;
    d->dilation = pad == 1 ? 2 : 1;
    if (pad == 1) d->pad_left = d->dilation * (R - 1);
    if (pad == 2) d->pad_left = d->pad_right = 1;
    d->length = (outs[j] - 1) * d->stride + d->dilation * (R - 1) + 1 - d->pad_left - d->pad_right;
    if (d->length < 1) d->length = 1;
    d->has_bias = c & 1;
    d->layout = layout ? CONV1D_LAYOUT_NCW : CONV1D_LAYOUT_NWC;
    if (c % 3 == 1 && pad != 2) d->num_groups = 2, d->in_channels = 8, d->out_channels = 2 * nr + 2;
    return outs[j] >= 1 && conv1d_output_length(d) == outs[j] ? 1 : -1;
}

/* 64-byte aligned NaNs, as a caller's large buffers usually are, so aligned and streaming paths are taken. */
static inline float *tu_nan_floats(int64_t n)
{
    float *y = aligned_alloc(64, ((size_t)(n > 0 ? n : 1) * sizeof *y + 63) / 64 * 64);
    assert_non_null(y);
    for (int64_t i = 0; i < n; i++) y[i] = NAN;
    return y;
}

/* Prepares v on d (which it must apply to) with kernel context ctx (NULL: this machine's; tests force a
 * family's blocking through it) and fresh weights, runs it on fresh x into a NaN-poisoned y with a
 * poisoned workspace at a misaligned address, fails on an unwritten or non-finite element, then reruns with
 * another workspace alignment and requires the same bits. Returns max|y - ref| / max|ref|; impl (may be
 * NULL) receives the variant's impl_info. */
static inline double tu_variant_error_ctx(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                          uint64_t *rng, char *impl, size_t impl_size)
{
    char text[CONV1D_DESC_TEXT_MAX];
    conv1d_desc_format(d, text, sizeof text);
    float *w = tu_random_floats(rng, conv1d_weight_elems(d));
    float *bias = d->has_bias ? tu_random_floats(rng, d->out_channels) : NULL;
    void *state = NULL;
    if (v->ops->prepare(v, d, ctx, w, bias, &state) != CONV1D_OK)
        fail_msg("%s prepare failed on %s: %s", v->name, text, conv1d_last_error());
    if (impl) snprintf(impl, impl_size, "%s", v->ops->impl_info ? v->ops->impl_info(state) : "");
    const size_t ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
    unsigned char *ws = malloc(ws_bytes + 8);
    assert_non_null(ws);
    memset(ws, 0xff, ws_bytes + 8);

    const int64_t ny = conv1d_output_elems(d);
    float *x = tu_random_floats(rng, conv1d_input_elems(d));
    float *y = tu_nan_floats(ny), *y2 = tu_nan_floats(ny);
    double *ref = malloc((size_t)ny * sizeof *ref);
    assert_non_null(ref);
    if (v->ops->run(state, x, y, ws + 4) != CONV1D_OK)
        fail_msg("%s run failed on %s: %s", v->name, text, conv1d_last_error());
    c1_ref_conv1d_f64(d, x, w, bias, ref);
    double max_ref = 0, max_err = 0;
    for (int64_t i = 0; i < ny; i++) {
        if (!isfinite(y[i]))
            fail_msg("%s left %g at %lld of %lld on %s", v->name, y[i], (long long)i, (long long)ny, text);
        max_ref = fmax(max_ref, fabs(ref[i]));
        max_err = fmax(max_err, fabs(y[i] - ref[i]));
    }
    memset(ws, 0xff, ws_bytes + 8);
    assert_int_equal(v->ops->run(state, x, y2, ws + 1), CONV1D_OK);
    assert_memory_equal(y, y2, (size_t)ny * sizeof *y);

    v->ops->release(state);
    free(w);
    free(bias);
    free(ws);
    free(x);
    free(y);
    free(y2);
    free(ref);
    return max_err / fmax(max_ref, 1e-30);
}

/* tu_variant_error_ctx with this machine's context. */
static inline double tu_variant_error(const c1_variant *v, const conv1d_desc *d, uint64_t *rng, char *impl,
                                      size_t impl_size)
{
    return tu_variant_error_ctx(v, d, NULL, rng, impl, impl_size);
}

#endif
