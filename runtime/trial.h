/*
 * Internal: one trial engine. The steps every measurement of a variant takes on a shape, in the calling
 * process: test data in the shape's dtype, the double reference, prepare, one run on a poisoned output and
 * its check in the variant's precision class, and timed runs. The tuner's harness performs them inside a
 * forked child (harness/measure.c: a crash or hang becomes an outcome, threads pinned, buffers rotated
 * beyond the caches) and CONV1D_MODE_MEASURE in the caller's process (runtime/plan_measure.c: a few proven
 * candidates), so both check the same data the same way, and a variant wrong for one is wrong for the other.
 */
#ifndef CONV1D_TRIAL_H
#define CONV1D_TRIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "conv1d.h"
#include "variant.h"

/* Test data of one shape. For the 16-bit dtypes the random values are rounded to the dtype first, so x, w,
 * b and their float copies hold the same numbers and the reference is exact on what a variant reads: the
 * check then sees only the variant's accumulation and its output rounding. */
typedef struct c1_trial_data {
    conv1d_desc d;
    void *x, *w, *b;     /* elements of d.dtype, as variants take them; b is NULL without bias */
    float *xf, *wf, *bf; /* the same values as float (widened exactly); the same pointers as x, w, b for f32 */
} c1_trial_data;

/* Seeded random data for d (never zero, in [-1, 1)). CONV1D_OUT_OF_MEMORY (t left empty) if it cannot. */
conv1d_status c1_trial_data_create(const conv1d_desc *d, uint64_t seed, c1_trial_data *t);
void c1_trial_data_destroy(c1_trial_data *t);

/* The double reference of t into ref (output elements), and for 16-bit dtypes the same convolution on the
 * magnitudes into absum (c1_compare16's bound; absum unused and may be NULL for f32). Uses OpenMP. */
conv1d_status c1_trial_reference(const c1_trial_data *t, double *ref, double *absum);

/* Compares an output y of d (d.dtype elements, host memory) with ref (and absum) in v's precision class: true
 * when it passes; *e holds the comparison. */
bool c1_trial_compare(const c1_variant *v, const conv1d_desc *d, const void *y, const double *ref,
                      const double *absum, c1_error *e);

/* A checked run: y (output elements of d.dtype) poisoned with NaN, one run of v's prepared state on x, the
 * output compared with ref (and absum) in v's precision class. CONV1D_OK when the run returned OK (*e then
 * holds the comparison and *ok whether it passes); the run's own status otherwise. */
conv1d_status c1_trial_check(const c1_variant *v, const void *state, const conv1d_desc *d, const void *x, void *y,
                             void *ws, const double *ref, const double *absum, c1_error *e, bool *ok);

/* One sentence saying why a checked output of d failed (the first NaN, the elements beyond one rounding, or
 * the error against the class's threshold), into buf. */
void c1_trial_explain(const c1_variant *v, const conv1d_desc *d, const void *y, const double *ref, c1_error e,
                      char *buf, size_t size);

/* Runs per sample so that one sample of v lasts at least min_s (doubling from 1, at most 2^20). */
long c1_trial_calibrate(const c1_variant *v, const void *state, const void *x, void *y, void *ws, double min_s);

/* Milliseconds per run of reps back-to-back runs. */
double c1_trial_sample_ms(const c1_variant *v, const void *state, const void *x, void *y, void *ws, long reps);

#endif
