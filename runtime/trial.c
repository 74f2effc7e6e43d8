/* The one trial engine (trial.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basics.h"
#include "conv1d_ref.h"
#include "error.h"
#include "half.h"
#include "trial.h"

void c1_trial_data_destroy(c1_trial_data *t)
{
    if (t->xf != t->x) free(t->xf);
    if (t->wf != t->w) free(t->wf);
    if (t->bf != t->b) free(t->bf);
    free(t->x);
    free(t->w);
    free(t->b);
    memset(t, 0, sizeof *t);
}

/* n random values into f (as c1_fill_random), rounded to dtype t and stored in raw (16-bit t), f then holding
 * the rounded values; for f32, raw is f and nothing is rounded. */
static void fill_random_in(conv1d_dtype t, float *f, void *raw, int64_t n, uint64_t *s)
{
    c1_fill_random(f, n, s);
    if (t == CONV1D_F32) return;
    uint16_t *h = raw;
    for (int64_t i = 0; i < n; i++) {
        h[i] = c1_f32_to_half(t, f[i]);
        f[i] = c1_half_to_f32(t, h[i]);
    }
}

conv1d_status c1_trial_data_create(const conv1d_desc *d, uint64_t seed, c1_trial_data *t)
{
    memset(t, 0, sizeof *t);
    t->d = *d;
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), nb = d->has_bias ? d->out_channels : 0;
    const bool narrow = d->dtype != CONV1D_F32;
    const size_t es = conv1d_dtype_size(d->dtype);
    t->xf = malloc((size_t)nx * sizeof(float));
    t->wf = malloc((size_t)nw * sizeof(float));
    t->bf = nb ? malloc((size_t)nb * sizeof(float)) : NULL;
    t->x = narrow ? malloc((size_t)nx * es) : t->xf;
    t->w = narrow ? malloc((size_t)nw * es) : t->wf;
    t->b = narrow && nb ? malloc((size_t)nb * es) : t->bf;
    if (!t->x || !t->w || !t->xf || !t->wf || (nb && (!t->b || !t->bf))) {
        c1_trial_data_destroy(t);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the test data (%lld input, %lld weight elements).",
                       (long long)nx, (long long)nw);
    }
    uint64_t s = seed;
    fill_random_in(d->dtype, t->xf, t->x, nx, &s);
    fill_random_in(d->dtype, t->wf, t->w, nw, &s);
    if (nb) fill_random_in(d->dtype, t->bf, t->b, nb, &s);
    return CONV1D_OK;
}

conv1d_status c1_trial_reference(const c1_trial_data *t, double *ref, double *absum)
{
    const conv1d_desc *d = &t->d;
    conv1d_status st = c1_ref_conv1d_f64(d, t->xf, t->wf, t->bf, ref);
    if (st != CONV1D_OK || d->dtype == CONV1D_F32) return st;
    const int64_t nx = conv1d_input_elems(d), nw = conv1d_weight_elems(d), nb = d->has_bias ? d->out_channels : 0;
    float *ax = malloc((size_t)(nx + nw + nb) * sizeof(float));
    if (!ax) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the magnitudes for the 16-bit bound.");
    float *aw = ax + nx, *ab = aw + nw;
    for (int64_t i = 0; i < nx; i++) ax[i] = t->xf[i] < 0 ? -t->xf[i] : t->xf[i];
    for (int64_t i = 0; i < nw; i++) aw[i] = t->wf[i] < 0 ? -t->wf[i] : t->wf[i];
    for (int64_t i = 0; i < nb; i++) ab[i] = t->bf[i] < 0 ? -t->bf[i] : t->bf[i];
    st = c1_ref_conv1d_f64(d, ax, aw, nb ? ab : NULL, absum);
    free(ax);
    return st;
}

conv1d_status c1_trial_check(const c1_variant *v, const void *state, const conv1d_desc *d, const void *x, void *y,
                             void *ws, const double *ref, const double *absum, c1_error *e, bool *ok)
{
    const int64_t ny = conv1d_output_elems(d);
    *ok = false;
    memset(y, 0xFF, (size_t)ny * conv1d_dtype_size(d->dtype)); /* NaN in every dtype: an unwritten output shows */
    const conv1d_status st = v->ops->run(state, x, y, ws);
    if (st != CONV1D_OK) return st;
    *ok = c1_trial_compare(v, d, y, ref, absum, e);
    return CONV1D_OK;
}

bool c1_trial_compare(const c1_variant *v, const conv1d_desc *d, const void *y, const double *ref,
                      const double *absum, c1_error *e)
{
    const int64_t ny = conv1d_output_elems(d);
    const int64_t terms = d->in_channels / d->num_groups * d->kernel_size + (d->has_bias ? 1 : 0);
    *e = d->dtype == CONV1D_F32 ? c1_compare(y, ref, ny) : c1_compare16(y, d->dtype, ref, absum, ny, terms);
    return c1_error_ok(*e, c1_precision_tolerance(v->precision));
}

void c1_trial_explain(const c1_variant *v, const conv1d_desc *d, const void *y, const double *ref, c1_error e,
                      char *buf, size_t size)
{
    const uint16_t *h = y;
    const float *f = y;
    const bool narrow = d->dtype != CONV1D_F32;
#define ELEM(i) (!narrow ? (double)f[i] : (double)c1_half_to_f32(d->dtype, h[i]))
    if (e.bad_index >= 0)
        snprintf(buf, size, "Output element %lld is %g (unwritten or not finite).", (long long)e.bad_index,
                 ELEM(e.bad_index));
    else if (e.outside > 0)
        snprintf(buf, size,
                 "%lld outputs beyond one %s rounding of an fp32 sum (element %lld: %g, reference %g; worst %.2f ulp).",
                 (long long)e.outside, conv1d_dtype_name(d->dtype), (long long)e.first_outside, ELEM(e.first_outside),
                 ref[e.first_outside], e.ulp_max);
    else
        snprintf(buf, size, "Error %.3g of max|ref| (relative L2 %.3g) exceeds the %s threshold %.1g.", e.rel_max,
                 e.rel_l2, c1_precision_name(v->precision), c1_precision_tolerance(v->precision).rel_max);
#undef ELEM
}

long c1_trial_calibrate(const c1_variant *v, const void *state, const void *x, void *y, void *ws, double min_s)
{
    long reps = 1;
    for (;; reps *= 2) {
        const double t0 = c1_now_s();
        for (long r = 0; r < reps; r++) v->ops->run(state, x, y, ws);
        if (c1_now_s() - t0 >= min_s || reps >= (1L << 20)) break;
    }
    return reps;
}

double c1_trial_sample_ms(const c1_variant *v, const void *state, const void *x, void *y, void *ws, long reps)
{
    const double t0 = c1_now_s();
    for (long r = 0; r < reps; r++) v->ops->run(state, x, y, ws);
    return (c1_now_s() - t0) / (double)reps * 1e3;
}
