/* Comparing outputs with the reference, and the thresholds of each precision class. */
#include <math.h>

#include "check.h"

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

const char *c1_precision_name(c1_precision prec)
{
    switch (prec) {
    case C1_PREC_FP32: return "fp32";
    case C1_PREC_TF32: return "tf32";
    case C1_PREC_BF16: return "bf16";
    }
    return "unknown";
}
