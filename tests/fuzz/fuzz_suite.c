/*
 * libFuzzer target: c1_suite_load on arbitrary file contents (it reads a path, so the input goes through an
 * anonymous memory file and its /proc/self/fd path).
 *
 * Properties: no crash or sanitizer report; a failure keeps the shapes the suite already had (two good
 * shapes are loaded first) and says why; a success adds only shapes that validate.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "suite.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0) {
        memfd = memfd_create("fuzz.suite", 0);
        if (memfd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
    }
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size) abort();

    c1_suite s = {0};
    conv1d_desc d;
    conv1d_desc_init(&d);
    d.length = 16, d.in_channels = 2, d.out_channels = 2, d.kernel_size = 3;
    if (c1_suite_add(&s, &d) != CONV1D_OK || c1_suite_add(&s, &d) != CONV1D_OK) abort();

    if (c1_suite_load(path, &s) != CONV1D_OK) {
        const char *msg = conv1d_last_error();
        if (!msg || !*msg || s.count != 2) abort();
    } else {
        if (s.count < 2) abort();
        for (size_t i = 0; i < s.count; i++)
            if (conv1d_desc_validate(&s.shapes[i]) != CONV1D_OK) abort();
    }
    c1_suite_free(&s);
    return 0;
}
