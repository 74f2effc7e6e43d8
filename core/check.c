/* Comparing outputs with the reference, and the thresholds of each precision class. */
#include <math.h>
#include <strings.h>

#include "check.h"
#include "half.h"

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
    /* The 16-bit classes are checked element by element (c1_compare16); these bound the same errors as a
     * fraction of max|ref|, for the summary columns: half a unit in the last place plus the accumulation. */
    case C1_PREC_BF16: return (c1_tolerance){.rel_max = 8e-3, .rel_l2 = 4e-3};
    case C1_PREC_F16: return (c1_tolerance){.rel_max = 1e-3, .rel_l2 = 5e-4};
    }
    return (c1_tolerance){0, 0};
}

/* The relative errors of a comparison, accumulated element by element. */
typedef struct sums {
    double max_ref, max_diff, sum_ref2, sum_diff2;
} sums;

static void sums_add(sums *s, double ref, double diff)
{
    s->max_ref = fmax(s->max_ref, fabs(ref));
    s->max_diff = fmax(s->max_diff, diff);
    s->sum_ref2 += ref * ref;
    s->sum_diff2 += diff * diff;
}

static void sums_finish(const sums *s, c1_error *e)
{
    /* An all-zero reference cannot happen with non-zero random data; guard the division anyway. */
    e->rel_max = s->max_ref > 0 ? s->max_diff / s->max_ref : s->max_diff;
    e->rel_l2 = s->sum_ref2 > 0 ? sqrt(s->sum_diff2 / s->sum_ref2) : sqrt(s->sum_diff2);
}

c1_error c1_compare(const float *y, const double *ref, int64_t n)
{
    c1_error e = {.bad_index = -1, .first_outside = -1};
    sums s = {0};
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            if (e.bad_index < 0) e.bad_index = i;
            continue;
        }
        sums_add(&s, ref[i], fabs((double)y[i] - ref[i]));
    }
    sums_finish(&s, &e);
    return e;
}

/* The spacing of dtype t's numbers at magnitude v (v >= 0): 2^(exponent - mantissa bits), no finer than
 * the type's smallest subnormal. */
static double ulp_of(conv1d_dtype t, double v)
{
    const int mant = t == CONV1D_BF16 ? 7 : 10, min_exp = t == CONV1D_BF16 ? -133 : -24;
    int e;
    frexp(v, &e); /* v = f 2^e, f in [0.5, 1) */
    const int k = e - 1 - mant;
    return ldexp(1.0, k > min_exp ? k : min_exp);
}

c1_error c1_compare16(const uint16_t *y, conv1d_dtype t, const double *ref, const double *absum, int64_t n,
                      int64_t terms)
{
    c1_error e = {.bad_index = -1, .first_outside = -1};
    const double gamma = 4.0 * sqrt((double)(terms > 0 ? terms : 1)) * 0x1p-24;
    sums sm = {0};
    for (int64_t i = 0; i < n; i++) {
        const double v = c1_half_to_f32(t, y[i]);
        if (!isfinite(v)) {
            if (e.bad_index < 0) e.bad_index = i;
            continue;
        }
        const double diff = fabs(v - ref[i]), acc = gamma * absum[i];
        const double ulp = ulp_of(t, fabs(ref[i]) + acc);
        if (diff > 0.5 * ulp + acc) {
            if (e.first_outside < 0) e.first_outside = i;
            e.outside++;
        }
        e.ulp_max = fmax(e.ulp_max, diff / ulp_of(t, fabs(ref[i])));
        sums_add(&sm, ref[i], diff);
    }
    sums_finish(&sm, &e);
    return e;
}

bool c1_error_ok(c1_error e, c1_tolerance t)
{
    return e.bad_index < 0 && e.outside == 0 && e.rel_max <= t.rel_max && e.rel_l2 <= t.rel_l2;
}

const char *c1_precision_name(c1_precision prec)
{
    switch (prec) {
    case C1_PREC_FP32: return "fp32";
    case C1_PREC_TF32: return "tf32";
    case C1_PREC_BF16: return "bf16";
    case C1_PREC_F16: return "f16";
    }
    return "unknown";
}

bool c1_precision_takes(c1_precision p, conv1d_dtype t)
{
    switch (p) {
    case C1_PREC_FP32:
    case C1_PREC_TF32: return t == CONV1D_F32;
    case C1_PREC_BF16: return t == CONV1D_BF16;
    case C1_PREC_F16: return t == CONV1D_F16;
    }
    return false;
}

bool c1_dtype_parse(const char *text, conv1d_dtype *t)
{
    static const struct {
        const char *a, *b;
        conv1d_dtype t;
    } names[] = {{"f32", "float32", CONV1D_F32}, {"bf16", "bfloat16", CONV1D_BF16}, {"f16", "float16", CONV1D_F16}};
    for (size_t i = 0; text && i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(text, names[i].a) == 0 || strcasecmp(text, names[i].b) == 0) {
            *t = names[i].t;
            return true;
        }
    return false;
}

c1_precision c1_precision_of_dtype(conv1d_dtype t)
{
    return t == CONV1D_BF16 ? C1_PREC_BF16 : t == CONV1D_F16 ? C1_PREC_F16 : C1_PREC_FP32;
}
