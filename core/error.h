/* Internal: the per-thread error sentence behind conv1d_last_error(). */
#ifndef CONV1D_RUNTIME_ERROR_H
#define CONV1D_RUNTIME_ERROR_H

#include "conv1d.h"

/* Formats the sentence for the calling thread and returns `status`, so a failure is one line:
 *     return c1_fail(CONV1D_INVALID_ARGUMENT, "stride must be positive, got %lld.", (long long)s); */
conv1d_status c1_fail(conv1d_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the calling thread's sentence. */
void c1_clear_error(void);

#endif
