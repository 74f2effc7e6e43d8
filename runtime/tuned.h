/*
 * Internal: the table of tuned winners compiled into the library. `conv1d-tune export -o tuned.c` writes
 * one for this machine and build; `make TUNED=tuned.c` compiles it in place of runtime/tuned_default.c
 * (the empty table), so a deployed binary dispatches to the tuned winners without any database.
 */
#ifndef CONV1D_TUNED_H
#define CONV1D_TUNED_H

#include <stddef.h>

#include "model.h"

typedef struct c1_tuned_entry {
    const char *shape_key; /* canonical descriptor text (conv1d_desc_format) */
    const char *device;    /* "cpu", "cuda" */
    const char *precision; /* "fp32", ... */
    const char *variant;   /* registry name */
} c1_tuned_entry;

/* The entries are only trusted on the machine fingerprint and library build they were measured with. */
extern const char c1_tuned_fingerprint[];
extern const char c1_tuned_build_signature[];
extern const c1_tuned_entry c1_tuned_table[];
extern const size_t c1_tuned_count;
/* The time models (model.h) of the same machine and build, for shapes the table does not hold. */
extern const c1_model c1_tuned_models[];
extern const size_t c1_tuned_model_count;

#endif
