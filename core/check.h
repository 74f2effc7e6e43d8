/* Internal: comparing an output with the double-precision reference, and each precision class's
 * thresholds. One checker for the tuner's harness and the library's plan-time measurement. */
#ifndef CONV1D_CHECK_H
#define CONV1D_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "conv1d.h"
#include "precision.h"

/* Error thresholds of a precision class, against max|ref| (rel_max) and ||ref||_2 (rel_l2). */
typedef struct c1_tolerance {
    double rel_max, rel_l2;
} c1_tolerance;
c1_tolerance c1_precision_tolerance(c1_precision p);

/* The result of comparing an output with the reference. */
typedef struct c1_error {
    double rel_max;     /* max|y - ref| / max|ref| */
    double rel_l2;      /* ||y - ref||_2 / ||ref||_2 */
    int64_t bad_index;  /* first NaN/Inf (unwritten: still the NaN poison) element, or -1 */
    int64_t outside;    /* 16-bit classes: elements beyond their own bound (c1_compare16); 0 for fp32 */
    int64_t first_outside; /* the first of them, or -1 */
    double ulp_max;     /* 16-bit classes: the largest error in units in the last place of the output type */
} c1_error;

/* Compares n outputs with the reference; y may contain NaN/Inf (reported through bad_index). */
c1_error c1_compare(const float *y, const double *ref, int64_t n);
/* 16-bit outputs (classes bf16 and f16, dtype t): element i passes when
 *     |y_i - ref_i| <= 1/2 ulp_t(|ref_i| + a_i) + a_i,   a_i = 4 sqrt(terms) 2^-24 absum_i,
 * that is, one rounding to nearest of an fp32 accumulation: ref is the double reference on the same 16-bit
 * inputs (widened exactly), absum the same reference run on |x|, |w| and |b| (the sum of the magnitudes of
 * the products), terms the products per output (in_channels/groups x kernel_size, plus one for a bias). A
 * missing rounding (truncation, up to a whole ulp) or a 16-bit accumulator does not pass. */
c1_error c1_compare16(const uint16_t *y, conv1d_dtype t, const double *ref, const double *absum, int64_t n,
                      int64_t terms);

/* true when e is within tolerance t, nothing is NaN/Inf and no element is beyond its own bound. */
bool c1_error_ok(c1_error e, c1_tolerance t);

#endif
