/* Comparing outputs with the reference, precision-class thresholds, and timing statistics. */
#include <math.h>
#include <stdlib.h>

#include "measure.h"

const char *c1_outcome_name(c1_outcome o)
{
    switch (o) {
#define C1_OUTCOME_CASE_(name, text) \
    case C1_OUTCOME_##name:          \
        return text;
        C1_OUTCOME_MAP(C1_OUTCOME_CASE_)
#undef C1_OUTCOME_CASE_
    }
    return "unknown";
}

/*
 * Thresholds per precision class, relative to the reference's scale. fp32: a correctly summed fp32
 * convolution over a few thousand terms lands near 1e-6 of max|ref| (Winograd F(6,3) about 5e-6), so
 * 1e-4 leaves room for long reductions while an off-by-one tap or position (an error of order 1) cannot
 * pass. tf32 (10-bit mantissa, unit roundoff 2^-11) and bf16 (7-bit, 2^-8) scale the same margin.
 */
c1_tolerance c1_precision_tolerance(c1_precision p)
{
    switch (p) {
    case C1_PREC_FP32: return (c1_tolerance){.rel_max = 1e-4, .rel_l2 = 2e-5};
    case C1_PREC_TF32: return (c1_tolerance){.rel_max = 1e-2, .rel_l2 = 2e-3};
    case C1_PREC_BF16: return (c1_tolerance){.rel_max = 5e-2, .rel_l2 = 1e-2};
    }
    return (c1_tolerance){0, 0};
}

c1_error c1_compare(const float *y, const double *ref, int64_t n)
{
    c1_error e = {.bad_index = -1};
    double max_ref = 0, max_diff = 0, sum_ref2 = 0, sum_diff2 = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            if (e.bad_index < 0) e.bad_index = i;
            continue;
        }
        const double diff = fabs((double)y[i] - ref[i]);
        max_ref = fmax(max_ref, fabs(ref[i]));
        max_diff = fmax(max_diff, diff);
        sum_ref2 += ref[i] * ref[i];
        sum_diff2 += diff * diff;
    }
    /* An all-zero reference cannot happen with non-zero random data; guard the division anyway. */
    e.rel_max = max_ref > 0 ? max_diff / max_ref : max_diff;
    e.rel_l2 = sum_ref2 > 0 ? sqrt(sum_diff2 / sum_ref2) : sqrt(sum_diff2);
    return e;
}

bool c1_error_ok(c1_error e, c1_tolerance t)
{
    return e.bad_index < 0 && e.rel_max <= t.rel_max && e.rel_l2 <= t.rel_l2;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between order statistics (numpy's default "linear" method). */
static double quantile(const double *sorted, int n, double q)
{
    const double pos = q * (n - 1);
    const int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

c1_stats c1_stats_compute(double *s, int n)
{
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    c1_stats st = {.n = n, .median = quantile(s, n, 0.5), .p10 = quantile(s, n, 0.1), .p90 = quantile(s, n, 0.9)};
    /* The median's 95% interval from the binomial(n, 1/2) order statistics: ranks n/2 -+ 0.98 sqrt(n). */
    const double half = 0.98 * sqrt((double)n);
    int lo = (int)floor(n / 2.0 - half), hi = (int)ceil(n / 2.0 + half);
    if (lo < 0) lo = 0;
    if (hi > n - 1) hi = n - 1;
    st.ci_lo = s[lo];
    st.ci_hi = s[hi];
    return st;
}
