/*
 * Variants that misbehave on purpose, linked only into the test binaries (tests/unit/test_variants.inc):
 * the harness must report each with its outcome while other variants' results stay intact.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conv1d_ref.h"
#include "error.h"
#include "half.h"
#include "variant.h"

enum { BAD_CRASH, BAD_HANG, BAD_OFF_BY_ONE, BAD_NAN, BAD_UNWRITTEN, BAD_OOM, BAD_UNSUPPORTED };

typedef struct bad_state {
    conv1d_desc d;
    int kind;
    float *w, *b;
} bad_state;

static conv1d_status bad_supports(const c1_variant *v, const conv1d_desc *d)
{
    if (v->params[0] == BAD_UNSUPPORTED)
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s supports no shape at all.", v->name);
    return CONV1D_OK;
}

static void bad_release(void *state)
{
    bad_state *s = state;
    if (!s) return;
    free(s->w);
    free(s->b);
    free(s);
}

static conv1d_status bad_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                 const void *w_arg, const void *b_arg, void **state)
{
    const float *w = w_arg, *b = b_arg; /* f32 only: supports() refuses other dtypes */
    if (v->params[0] == BAD_OOM) return c1_fail(CONV1D_OUT_OF_MEMORY, "Variant %s always runs out of memory.", v->name);
    bad_state *s = calloc(1, sizeof *s);
    s->d = *d;
    s->kind = v->params[0];
    s->w = malloc((size_t)conv1d_weight_elems(d) * sizeof(float));
    memcpy(s->w, w, (size_t)conv1d_weight_elems(d) * sizeof(float));
    if (b) {
        s->b = malloc((size_t)d->out_channels * sizeof(float));
        memcpy(s->b, b, (size_t)d->out_channels * sizeof(float));
    }
    *state = s;
    return CONV1D_OK;
}

static size_t bad_workspace_bytes(const void *state)
{
    return (size_t)conv1d_output_elems(&((const bad_state *)state)->d) * sizeof(double);
}

static conv1d_status bad_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const float *x = x_arg;
    float *y = y_arg;
    const bad_state *s = state;
    const int64_t n = conv1d_output_elems(&s->d);
    double *acc = workspace;
    switch (s->kind) {
    case BAD_CRASH: raise(SIGSEGV); break;
    case BAD_HANG:
        for (;;) pause();
    default: break;
    }
    c1_ref_conv1d_f64(&s->d, x, s->w, s->b, acc);
    for (int64_t i = 0; i < n; i++) y[i] = (float)acc[i];
    if (s->kind == BAD_OFF_BY_ONE) /* every output one position late, as from a mis-set tile origin */
        for (int64_t i = n - 1; i > 0; i--) y[i] = y[i - 1];
    if (s->kind == BAD_NAN) y[n / 2] = NAN;
    if (s->kind == BAD_UNWRITTEN) y[n - 1] = NAN; /* the poison left in place */
    return CONV1D_OK;
}

const c1_variant_ops c1_test_bad_ops = {
    .supports = bad_supports,
    .prepare = bad_prepare,
    .workspace_bytes = bad_workspace_bytes,
    .run = bad_run,
    .release = bad_release,
};

/* ---- 16-bit variants that get the class's arithmetic wrong on purpose --------------------------------------
 * Each widens the inputs exactly and convolves them, but: BAD16_TRUNCATE rounds the fp32 sum toward zero
 * instead of to nearest (up to a whole ulp off), BAD16_NARROW_ACC rounds the running sum to the 16-bit type
 * after every product (a 16-bit accumulator). The harness's check must call both wrong. */
enum { BAD16_TRUNCATE, BAD16_NARROW_ACC };

typedef struct bad16_state {
    conv1d_desc d;
    int kind;
    float *w, *b;
} bad16_state;

static float from16(conv1d_dtype t, uint16_t h) { return t == CONV1D_BF16 ? c1_bf16_to_f32(h) : c1_f16_to_f32(h); }
static uint16_t to16(conv1d_dtype t, float f) { return t == CONV1D_BF16 ? c1_f32_to_bf16(f) : c1_f32_to_f16(f); }

static conv1d_status bad16_supports(const c1_variant *v, const conv1d_desc *d)
{
    return d->dtype == CONV1D_F32 ? c1_fail(CONV1D_UNSUPPORTED, "Variant %s takes 16-bit tensors.", v->name)
                                  : CONV1D_OK;
}

static void bad16_release(void *state)
{
    bad16_state *s = state;
    if (!s) return;
    free(s->w);
    free(s->b);
    free(s);
}

static conv1d_status bad16_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                   const void *w, const void *b, void **state)
{
    bad16_state *s = calloc(1, sizeof *s);
    const int64_t nw = conv1d_weight_elems(d);
    s->d = *d;
    s->kind = v->params[0];
    s->w = malloc((size_t)nw * sizeof(float));
    s->b = calloc((size_t)d->out_channels, sizeof(float));
    for (int64_t i = 0; i < nw; i++) s->w[i] = from16(d->dtype, ((const uint16_t *)w)[i]);
    for (int64_t k = 0; b && k < d->out_channels; k++) s->b[k] = from16(d->dtype, ((const uint16_t *)b)[k]);
    *state = s;
    return CONV1D_OK;
}

static conv1d_status bad16_run(const void *state, const void *xv, void *yv, void *workspace)
{
    (void)workspace;
    const bad16_state *s = state;
    const conv1d_desc *d = &s->d;
    const uint16_t *x = xv;
    uint16_t *y = yv;
    const bool nwc = d->layout == CONV1D_LAYOUT_NWC;
    const int64_t L = d->length, C = d->in_channels, K = d->out_channels, R = d->kernel_size;
    const int64_t cg = C / d->num_groups, kg = K / d->num_groups, O = conv1d_output_length(d);
    for (int64_t n = 0; n < d->batch; n++)
        for (int64_t k = 0; k < K; k++)
            for (int64_t o = 0; o < O; o++) {
                float acc = 0;
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t r = 0; r < R; r++) {
                        const int64_t i = o * d->stride + r * d->dilation - d->pad_left, ci = k / kg * cg + c;
                        if (i < 0 || i >= L) continue;
                        const float xv16 = from16(d->dtype, x[nwc ? (n * L + i) * C + ci : (n * C + ci) * L + i]);
                        const float wv = s->w[nwc ? (r * cg + c) * K + k : (k * cg + c) * R + r];
                        acc += xv16 * wv;
                        if (s->kind == BAD16_NARROW_ACC) acc = from16(d->dtype, to16(d->dtype, acc));
                    }
                acc += s->b[k];
                uint16_t out = to16(d->dtype, acc);
                if (s->kind == BAD16_TRUNCATE && from16(d->dtype, out) != acc &&
                    fabsf(from16(d->dtype, out)) > fabsf(acc))
                    out = (uint16_t)(out - 1); /* toward zero: the magnitude one ulp down */
                y[nwc ? (n * O + o) * K + k : (n * K + k) * O + o] = out;
            }
    return CONV1D_OK;
}

const c1_variant_ops c1_test_bad16_ops = {
    .supports = bad16_supports,
    .prepare = bad16_prepare,
    .run = bad16_run,
    .release = bad16_release,
};
