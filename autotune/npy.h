/*
 * Internal: NumPy .npy files. A strict reader for format versions 1.0, 2.0 and 3.0 and a version 1.0 writer
 * for C-order arrays, and the forms a tensor of each conv1d dtype takes in a file:
 *   f32   '<f4' (numpy.float32)
 *   f16   '<f2' (numpy.float16)
 *   bf16  ml_dtypes.bfloat16, which NumPy has no name of its own for: np.save writes such an array as '<V2'
 *         (two opaque bytes; np.load gives them back as void, to be viewed as bfloat16), while the descr
 *         'bfloat16' is what np.load turns into ml_dtypes.bfloat16 where ml_dtypes is imported; both are
 *         read. Or raw '<u2' bits (arr.view(np.uint16)), the dtype being said on the command line.
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

/* The descrs NumPy writes in this machine's byte order: float32, float16, uint16 (raw 16-bit patterns), and
 * an ml_dtypes.bfloat16 array as np.save writes it (void of two bytes). */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define C1_NPY_F32_DESCR ">f4"
#define C1_NPY_F16_DESCR ">f2"
#define C1_NPY_U16_DESCR ">u2"
#define C1_NPY_V2_DESCR ">V2"
#else
#define C1_NPY_F32_DESCR "<f4"
#define C1_NPY_F16_DESCR "<f2"
#define C1_NPY_U16_DESCR "<u2"
#define C1_NPY_V2_DESCR "<V2"
#endif
/* ml_dtypes' name of bfloat16, which np.load resolves to ml_dtypes.bfloat16 once ml_dtypes is imported. */
#define C1_NPY_BF16_DESCR "bfloat16"

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

/* Writes a C-order array of ndim dimensions (0..C1_NPY_MAX_DIMS) whose elements have the given descr (one
 * this reader knows, such as C1_NPY_F16_DESCR or C1_NPY_BF16_DESCR; else CONV1D_INVALID_ARGUMENT) as a
 * version 1.0 file. The file is written under a temporary name in the same directory and renamed into place,
 * so a failed write leaves no partial file at path (nor a stray temporary). data may be NULL when the array
 * is empty. */
conv1d_status c1_npy_write(const char *path, const char *descr, const void *data, int ndim, const int64_t *shape);

/* c1_npy_write with C1_NPY_F32_DESCR. */
conv1d_status c1_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape);

/* How a file's elements stand for the tensors of a conv1d dtype (the table at the top). */
typedef enum c1_npy_form {
    C1_NPY_NOT_DTYPE = 0, /* not a form of that dtype */
    C1_NPY_NATIVE,        /* the dtype's own NumPy type: '<f4', '<f2', or ml_dtypes' bfloat16 ('<V2', 'bfloat16') */
    C1_NPY_RAW_BITS       /* bf16 as raw '<u2' bits */
} c1_npy_form;

/* The form in which a (read) holds tensors of dtype t, from its descr; the order is not looked at. */
c1_npy_form c1_npy_form_of(const c1_npy *a, conv1d_dtype t);

/* The descr the writer gives tensors of dtype t in form f (C1_NPY_NATIVE for bf16: 'bfloat16', so that
 * np.load with ml_dtypes imported returns bfloat16); NULL for a form dtype t has not. */
const char *c1_npy_descr_of(conv1d_dtype t, c1_npy_form f);

/* The forms of dtype t in words, for messages: "<f2 (float16)", and so on. */
const char *c1_npy_forms_text(conv1d_dtype t);

/* "(2, 3)", "(5,)" or "()" into buf, like snprintf. */
size_t c1_npy_format_shape(char *buf, size_t size, int ndim, const int64_t *shape);

#endif
