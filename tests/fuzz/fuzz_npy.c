/*
 * libFuzzer target: c1_npy_parse, the in-memory .npy reader behind `conv1d-tune run`.
 *
 * Properties: no crash or sanitizer report on any bytes; a failure leaves no allocation and a message; a
 * success describes exactly the bytes it read (nbytes = product(shape) * itemsize, every dimension
 * non-negative, data non-NULL and fully readable).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    c1_npy a;
    memset(&a, 0xa5, sizeof a); /* the parser must not rely on a zeroed output */
    if (c1_npy_parse(data, size, "fuzz.npy", &a) != CONV1D_OK) {
        if (a.data != NULL) abort(); /* "On failure *out holds no allocation" */
        const char *msg = conv1d_last_error();
        if (!msg || !*msg) abort();
        c1_npy_free(&a);
        return 0;
    }
    if (a.ndim < 0 || a.ndim > C1_NPY_MAX_DIMS || !a.data || a.itemsize == 0) abort();
    size_t count = 1;
    for (int i = 0; i < a.ndim; i++) {
        if (a.shape[i] < 0) abort();
        if (__builtin_mul_overflow(count, (size_t)a.shape[i], &count)) abort();
    }
    size_t nbytes;
    if (__builtin_mul_overflow(count, a.itemsize, &nbytes) || nbytes != a.nbytes || nbytes > size) abort();
    /* Touch every byte so AddressSanitizer sees a short buffer. */
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < a.nbytes; i++) sum ^= ((const uint8_t *)a.data)[i];
    (void)sum;
    char shape[1024];
    c1_npy_format_shape(shape, sizeof shape, a.ndim, a.shape);
    c1_npy_free(&a);
    if (a.data != NULL) abort();
    return 0;
}
