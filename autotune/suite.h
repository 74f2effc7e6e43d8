/* Internal: suite files, one descriptor per line (canonical or benchdnn form), '#' starts a comment. */
#ifndef CONV1D_SUITE_H
#define CONV1D_SUITE_H

#include <stddef.h>

#include "conv1d.h"

#define C1_SUITE_MAX_LINE 4096
#define C1_SUITE_MAX_SHAPES 100000

typedef struct c1_suite {
    conv1d_desc *shapes;
    size_t count;
} c1_suite;

/* Appends the shapes of the file at `path` to *s (which starts zeroed). A malformed line fails the whole
 * file with "PATH:LINE: <reason>", and *s keeps what it had before the call. */
conv1d_status c1_suite_load(const char *path, c1_suite *s);
/* Appends one parsed descriptor. */
conv1d_status c1_suite_add(c1_suite *s, const conv1d_desc *d);
void c1_suite_free(c1_suite *s);

#endif
