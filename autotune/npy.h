/*
 * Internal: NumPy .npy files. A strict reader for format versions 1.0, 2.0 and 3.0 and a version 1.0 writer
 * for float32 C-order arrays.
 *
 * The reader accepts exactly what np.save writes: the magic, a version, a header length, and a header that
 * is the Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} (any key order and
 * whitespace, a trailing comma allowed) ending in a newline, followed by exactly product(shape) * itemsize
 * bytes. Anything else (unknown or missing keys, structured or object dtypes, negative or overflowing
 * dimensions, truncated or oversized data) fails with CONV1D_PARSE_ERROR, or CONV1D_IO_ERROR when the file
 * cannot be read, and a sentence naming the file. The dtype and order are reported as found, not
 * converted, so the caller can say what a file has and what it expected.
 *
 * All functions are thread-safe; errors go to conv1d_last_error() of the calling thread.
 */
#ifndef CONV1D_NPY_H
#define CONV1D_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "conv1d.h"

#define C1_NPY_MAX_DIMS 64 /* NumPy 2's limit */

/* The descr NumPy writes for float32 in this machine's byte order. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define C1_NPY_F32_DESCR ">f4"
#else
#define C1_NPY_F32_DESCR "<f4"
#endif

typedef struct c1_npy {
    char descr[32];      /* the dtype as written in the header, e.g. "<f4", "<f8", "|u1", "<M8[ns]" */
    int fortran_order;   /* 0: C order, 1: Fortran order */
    int ndim;            /* 0 for a scalar */
    int64_t shape[C1_NPY_MAX_DIMS];
    size_t itemsize;     /* bytes per element of descr */
    size_t nbytes;       /* product(shape) * itemsize */
    void *data;          /* nbytes bytes as stored in the file (never NULL after success); owned, c1_npy_free */
} c1_npy;

/* Reads the file at path into *out. On failure *out holds no allocation (c1_npy_free is still safe). */
conv1d_status c1_npy_read(const char *path, c1_npy *out);

/* The same from a whole file already in memory; name is used in messages only. */
conv1d_status c1_npy_parse(const void *bytes, size_t size, const char *name, c1_npy *out);

/* Frees what a read made and zeroes *a; NULL is a no-op. */
void c1_npy_free(c1_npy *a);

/* Writes a float32 C-order array of ndim dimensions (0..C1_NPY_MAX_DIMS) as a version 1.0 file. The file
 * is written under a temporary name in the same directory and renamed into place, so a failed write leaves
 * no partial file at path (nor a stray temporary). data may be NULL when the array is empty. */
conv1d_status c1_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape);

/* "(2, 3)", "(5,)" or "()" into buf, like snprintf. */
size_t c1_npy_format_shape(char *buf, size_t size, int ndim, const int64_t *shape);

#endif
