/* Outcome names and timing statistics. */
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
