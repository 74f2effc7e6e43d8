/* Internal: comparing an output with the double-precision reference, and each precision class's
 * thresholds. One checker for the tuner's harness and the library's plan-time measurement. */
#ifndef CONV1D_CHECK_H
#define CONV1D_CHECK_H

#include <stdbool.h>
#include <stdint.h>

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
} c1_error;

/* Compares n outputs with the reference; y may contain NaN/Inf (reported through bad_index). */
c1_error c1_compare(const float *y, const double *ref, int64_t n);
/* true when e is within tolerance t and nothing is NaN/Inf. */
bool c1_error_ok(c1_error e, c1_tolerance t);

#endif
