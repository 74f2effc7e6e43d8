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

static conv1d_status bad_prepare(const c1_variant *v, const conv1d_desc *d, const void *w_arg, const void *b_arg,
                                 void **state)
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
