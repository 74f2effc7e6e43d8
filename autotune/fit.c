/* Fitting the time models (fit.h, runtime/model.h): ridge regression of ln t on the model's features. */
#include "fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { F = C1_MODEL_FEATURES };

/* The prior the ridge pulls the slopes towards: half the log of the work, half the log of the bytes. */
static const double prior[F] = {0.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0};

/* Solves A x = b (F x F, A symmetric positive definite after the ridge) by Gaussian elimination with
 * partial pivoting; false when A is singular. */
static bool solve(double A[F][F], double b[F], double x[F])
{
    for (int c = 0; c < F; c++) {
        int p = c;
        for (int r = c + 1; r < F; r++)
            if (fabs(A[r][c]) > fabs(A[p][c])) p = r;
        if (fabs(A[p][c]) < 1e-12) return false;
        if (p != c) {
            for (int k = 0; k < F; k++) {
                double t = A[c][k];
                A[c][k] = A[p][k];
                A[p][k] = t;
            }
            double t = b[c];
            b[c] = b[p];
            b[p] = t;
        }
        for (int r = c + 1; r < F; r++) {
            const double f = A[r][c] / A[c][c];
            for (int k = c; k < F; k++) A[r][k] -= f * A[c][k];
            b[r] -= f * b[c];
        }
    }
    for (int r = F - 1; r >= 0; r--) {
        double s = b[r];
        for (int k = r + 1; k < F; k++) s -= A[r][k] * x[k];
        x[r] = s / A[r][r];
    }
    return true;
}

void c1_model_fit(const conv1d_desc *d, const double *ms, size_t n, c1_model *m)
{
    double A[F][F] = {{0}}, b[F] = {0}, f[F];
    for (size_t i = 0; i < n; i++) {
        c1_model_features(&d[i], f);
        const double y = log(ms[i]);
        for (int r = 0; r < F; r++) {
            for (int c = 0; c < F; c++) A[r][c] += f[r] * f[c];
            b[r] += f[r] * y;
        }
    }
    /* The ridge: every slope towards its prior; the intercept is free, but a tiny pull keeps a model of
     * one shape defined. */
    for (int r = 0; r < F; r++) {
        const double lambda = r == 0 ? 1e-9 : C1_FIT_RIDGE;
        A[r][r] += lambda;
        b[r] += lambda * prior[r];
    }
    if (!solve(A, b, m->coef))
        for (int r = 0; r < F; r++) m->coef[r] = NAN;
    double sse = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double e = log(c1_model_predict_ms(m, &d[i])) - log(ms[i]);
        sse += e * e;
    }
    m->samples = (int)n;
    m->rms = n ? sqrt(sse / (double)n) : 0.0;
}

static bool same_group(const c1_store_timing *a, const c1_store_timing *b)
{
    return strcmp(a->variant, b->variant) == 0 && strcmp(a->device, b->device) == 0 &&
           strcmp(a->precision, b->precision) == 0 && a->desc.layout == b->desc.layout &&
           c1_shape_kind_of(&a->desc) == c1_shape_kind_of(&b->desc);
}

static int by_group(const void *pa, const void *pb)
{
    const c1_store_timing *a = pa, *b = pb;
    int c = strcmp(a->variant, b->variant);
    if (!c) c = strcmp(a->device, b->device);
    if (!c) c = strcmp(a->precision, b->precision);
    if (!c) c = (int)a->desc.layout - (int)b->desc.layout;
    if (!c) c = (int)c1_shape_kind_of(&a->desc) - (int)c1_shape_kind_of(&b->desc);
    return c;
}

conv1d_status c1_fit_store(c1_store *s, int64_t hardware_id, int64_t build_id, size_t *n_models)
{
    if (n_models) *n_models = 0;
    c1_store_timing *t = NULL;
    size_t n = 0;
    conv1d_status rc = c1_store_load_timings(s, hardware_id, build_id, &t, &n);
    if (rc != CONV1D_OK) return rc;
    qsort(t, n, sizeof *t, by_group);
    c1_model *models = n ? malloc(n * sizeof *models) : NULL;
    conv1d_desc *d = n ? malloc(n * sizeof *d) : NULL;
    double *ms = n ? malloc(n * sizeof *ms) : NULL;
    if (n && (!models || !d || !ms)) {
        rc = c1_fail(CONV1D_OUT_OF_MEMORY, "Out of memory fitting the time models.");
        goto done;
    }
    size_t nm = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        for (; j < n && same_group(&t[i], &t[j]); j++) {
            d[j - i] = t[j].desc;
            ms[j - i] = t[j].median_ms;
        }
        c1_model *m = &models[nm];
        memset(m, 0, sizeof *m);
        snprintf(m->variant, sizeof m->variant, "%s", t[i].variant);
        snprintf(m->device, sizeof m->device, "%s", t[i].device);
        snprintf(m->precision, sizeof m->precision, "%s", t[i].precision);
        m->layout = t[i].desc.layout;
        m->kind = c1_shape_kind_of(&t[i].desc);
        c1_model_fit(d, ms, j - i, m);
        if (isfinite(m->coef[0])) nm++;
        i = j;
    }
    if ((rc = c1_store_begin(s)) == CONV1D_OK) {
        rc = c1_store_replace_models(s, hardware_id, build_id, models, nm);
        if (rc == CONV1D_OK)
            rc = c1_store_commit(s);
        else
            c1_store_rollback(s);
    }
    if (rc == CONV1D_OK && n_models) *n_models = nm;
done:
    free(t);
    free(models);
    free(d);
    free(ms);
    return rc;
}

conv1d_status c1_fit_store_all(c1_store *s, size_t *n_models)
{
    if (n_models) *n_models = 0;
    int64_t(*pairs)[2] = NULL;
    size_t n = 0;
    conv1d_status rc = c1_store_measured_pairs(s, &pairs, &n);
    for (size_t i = 0; rc == CONV1D_OK && i < n; i++) {
        size_t k = 0;
        rc = c1_fit_store(s, pairs[i][0], pairs[i][1], &k);
        if (n_models) *n_models += k;
    }
    free(pairs);
    return rc;
}
