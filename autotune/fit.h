/* Internal: fitting the time models of runtime/model.h from the measurements of a results database. */
#ifndef CONV1D_FIT_H
#define CONV1D_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

/* Ridge strength: how many shapes' worth of evidence the prior (ln t = ln GFLOP/2 + ln MB/2 + c0) is
 * worth for each slope. */
#define C1_FIT_RIDGE 1.0

/* Fits m->coef, m->samples and m->rms to the n (descriptor, median ms) samples; the other fields are the
 * caller's. n may be small: the prior keeps the fit defined. */
void c1_model_fit(const conv1d_desc *d, const double *ms, size_t n, c1_model *m);

/* Refits every model of this machine and build from its ok measurements, one per (variant, device,
 * precision, layout, kind) with at least one shape, and replaces the stored ones in one transaction.
 * *n_models (may be NULL) gets how many were stored. */
conv1d_status c1_fit_store(c1_store *s, int64_t hardware_id, int64_t build_id, size_t *n_models);

/* c1_fit_store for every machine and build the database has measurements of (after a merge). */
conv1d_status c1_fit_store_all(c1_store *s, size_t *n_models);

#endif
