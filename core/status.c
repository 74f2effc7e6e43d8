/* Version, status strings and the per-thread error sentence. */
#include <stdarg.h>
#include <stdio.h>

#include "conv1d.h"
#include "error.h"

#define C1_STR2_(x) #x
#define C1_STR_(x) C1_STR2_(x)

unsigned conv1d_version_number(void) { return CONV1D_VERSION_NUMBER; }

const char *conv1d_version_string(void)
{
    return C1_STR_(CONV1D_VERSION_MAJOR) "." C1_STR_(CONV1D_VERSION_MINOR) "." C1_STR_(CONV1D_VERSION_PATCH);
}

const char *conv1d_status_string(conv1d_status s)
{
    switch (s) {
#define CONV1D_STATUS_CASE_(name, num, text) \
    case CONV1D_##name:                      \
        return text;
        CONV1D_STATUS_MAP(CONV1D_STATUS_CASE_)
#undef CONV1D_STATUS_CASE_
    }
    return "unknown status";
}

static _Thread_local char last_error[512];

const char *conv1d_last_error(void) { return last_error; }

void c1_clear_error(void) { last_error[0] = '\0'; }

conv1d_status c1_fail(conv1d_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}
