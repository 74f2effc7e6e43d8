/*
 * Internal: the sweep's domain logic, apart from its command line (cli_sweep.c): one shape on one device,
 * measured and recorded.
 */
#ifndef CONV1D_SWEEP_H
#define CONV1D_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "measure.h"
#include "store.h"
#include "tuner.h"

/* What every shape of one sweep shares. */
typedef struct c1_sweep_ctx {
    c1_store store;                    /* open, with this sweep's hardware, build and run rows */
    int64_t hardware_id, build_id, run_id;
    c1_measure_opts opts;
    c1_strategy strategy;
    double budget_s;                   /* timing seconds per shape and device */
    bool force;                        /* measure again shapes already finished */
    uint64_t seed;                     /* each shape's data seed is mixed from it and the shape's key */
    volatile int *stop;                /* set by a signal handler: end the search early (NULL: never) */
} c1_sweep_ctx;

/* d on device: skipped (*skipped) when finished for this machine and build unless x->force; else every
 * candidate of the device (c1_device_candidates) measured by x->strategy, then every measurement and each
 * precision class's winner and peer stored in one transaction. *summary: one line saying what won.
 * CONV1D_OK also when stopped early (nothing stored then). */
conv1d_status c1_sweep_shape(c1_sweep_ctx *x, const conv1d_desc *d, c1_device device, char *summary, size_t size,
                             bool *skipped);

#endif
