/*
 * Shared by the C tests of 16-bit variants: one variant run once on one descriptor of dtype bf16 or f16 the
 * way the harness checks it (inputs that are the dtype's own numbers, the double reference on exactly them,
 * a 0xFFFF-poisoned output, c1_compare16's per-element bound), then rerun with another workspace alignment
 * for the same bits. Include after test_util.h.
 */
#ifndef CONV1D_VARIANT_CHECK16_H
#define CONV1D_VARIANT_CHECK16_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "conv1d_ref.h"
#include "half.h"
#include "variant.h"

/* n random values of dtype t: raw bits into h, the same numbers as float into f. */
static inline void tu_random16(uint64_t *rng, conv1d_dtype t, int64_t n, uint16_t *h, float *f)
{
    for (int64_t i = 0; i < n; i++) {
        const float v = tu_value(rng);
        h[i] = t == CONV1D_BF16 ? c1_f32_to_bf16(v) : c1_f32_to_f16(v);
        f[i] = t == CONV1D_BF16 ? c1_bf16_to_f32(h[i]) : c1_f16_to_f32(h[i]);
    }
}

/* Fails the test unless v passes the 16-bit check on d; returns the largest error in ulps of the output. */
static inline double tu_variant_ulps16(const c1_variant *v, const conv1d_desc *d, uint64_t *rng)
{
    char text[CONV1D_DESC_TEXT_MAX];
    conv1d_desc_format(d, text, sizeof text);
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), ny = conv1d_output_elems(d);
    const int64_t nb = d->has_bias ? d->out_channels : 0;
    uint16_t *xh = malloc((size_t)(nx + nw + nb + 2 * ny) * sizeof(uint16_t));
    float *xf = malloc((size_t)(nx + nw + nb) * sizeof(float) * 2);
    double *ref = malloc((size_t)ny * 2 * sizeof(double));
    assert_true(xh && xf && ref);
    uint16_t *wh = xh + nx, *bh = wh + nw, *y = bh + nb, *y2 = y + ny;
    float *wf = xf + nx, *bf = wf + nw, *ax = bf + nb, *aw = ax + nx, *ab = aw + nw;
    double *absum = ref + ny;
    tu_random16(rng, d->dtype, nx, xh, xf);
    tu_random16(rng, d->dtype, nw, wh, wf);
    tu_random16(rng, d->dtype, nb, bh, bf);
    for (int64_t i = 0; i < nx + nw + nb; i++) ax[i] = fabsf(xf[i]);
    c1_ref_conv1d_f64(d, xf, wf, nb ? bf : NULL, ref);
    c1_ref_conv1d_f64(d, ax, aw, nb ? ab : NULL, absum);

    void *state = NULL;
    if (v->ops->prepare(v, d, NULL, wh, nb ? bh : NULL, &state) != CONV1D_OK)
        fail_msg("%s prepare failed on %s: %s", v->name, text, conv1d_last_error());
    const size_t ws_bytes = v->ops->workspace_bytes ? v->ops->workspace_bytes(state) : 0;
    unsigned char *ws = malloc(ws_bytes + 8);
    assert_non_null(ws);
    memset(ws, 0xff, ws_bytes + 8);
    memset(y, 0xff, (size_t)ny * 2 * sizeof(uint16_t));
    if (v->ops->run(state, xh, y, ws + 4) != CONV1D_OK)
        fail_msg("%s run failed on %s: %s", v->name, text, conv1d_last_error());
    const int64_t terms = d->in_channels / d->num_groups * d->kernel_size + (nb ? 1 : 0);
    const c1_error e = c1_compare16(y, d->dtype, ref, absum, ny, terms);
    if (e.bad_index >= 0) fail_msg("%s left output %lld unwritten or not finite on %s", v->name, (long long)e.bad_index, text);
    if (e.outside > 0) {
        const int64_t i = e.first_outside;
        const double got = d->dtype == CONV1D_BF16 ? c1_bf16_to_f32(y[i]) : c1_f16_to_f32(y[i]);
        fail_msg("%s: %lld outputs beyond one rounding on %s (element %lld: %.8g, reference %.8g, worst %.2f ulp)",
                 v->name, (long long)e.outside, text, (long long)i, got, ref[i], e.ulp_max);
    }
    memset(ws, 0xff, ws_bytes + 8);
    assert_int_equal(v->ops->run(state, xh, y2, ws + 1), CONV1D_OK);
    assert_memory_equal(y, y2, (size_t)ny * sizeof *y);
    v->ops->release(state);
    free(ws);
    free(xh);
    free(xf);
    free(ref);
    return e.ulp_max;
}

#endif
