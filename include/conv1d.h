/*
 * conv1d.h: the one public header of libconv1d.
 *
 * A 1-D convolution is described by a conv1d_desc with the semantics of MAX's max.nn.Conv1D:
 *
 *   NWC (default):  x (batch, length, in_channels)   w (kernel_size, in_channels/groups, out_channels)
 *                   y (batch, new_length, out_channels)
 *   NCW (PyTorch):  x (batch, in_channels, length)   w (out_channels, in_channels/groups, kernel_size)
 *                   y (batch, out_channels, new_length)
 *   bias (out_channels), added when has_bias is set.
 *
 *   new_length = floor((length + pad_left + pad_right - dilation*(kernel_size-1) - 1) / stride) + 1
 *
 * Errors: every function that can fail returns a conv1d_status; the one-sentence reason (what, which
 * field, which value) is kept per thread and returned by conv1d_last_error(). Nothing in the library
 * prints, exits or aborts.
 */
#ifndef CONV1D_H
#define CONV1D_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CONV1D_VERSION_MAJOR 0
#define CONV1D_VERSION_MINOR 1
#define CONV1D_VERSION_PATCH 0
#define CONV1D_VERSION_NUMBER \
    (CONV1D_VERSION_MAJOR * 10000 + CONV1D_VERSION_MINOR * 100 + CONV1D_VERSION_PATCH)

/* The version the library was built as; compare with CONV1D_VERSION_NUMBER to detect a header/library
 * mismatch. Thread-safe. */
unsigned conv1d_version_number(void);
/* "MAJOR.MINOR.PATCH", static storage. Thread-safe. */
const char *conv1d_version_string(void);

/* Status codes: X(NAME, number, meaning). Numbers are never reused or renumbered. */
#define CONV1D_STATUS_MAP(X)                                                                     \
    X(OK, 0, "success")                                                                          \
    X(INVALID_ARGUMENT, 1, "invalid argument")                                                   \
    X(UNSUPPORTED, 2, "not supported by this variant or build")                                  \
    X(OUT_OF_MEMORY, 3, "out of memory")                                                         \
    X(PARSE_ERROR, 4, "malformed text")                                                          \
    X(IO_ERROR, 5, "input/output error")                                                         \
    X(NOT_FOUND, 6, "not found")                                                                 \
    X(DEVICE_ERROR, 7, "device error")                                                           \
    X(DB_ERROR, 8, "results database error")                                                     \
    X(INTERNAL, 9, "internal error")

typedef enum conv1d_status {
#define CONV1D_STATUS_ENUM_(name, num, text) CONV1D_##name = num,
    CONV1D_STATUS_MAP(CONV1D_STATUS_ENUM_)
#undef CONV1D_STATUS_ENUM_
} conv1d_status;

/* The meaning of a status code ("unknown status" for any other value), static storage. Thread-safe. */
const char *conv1d_status_string(conv1d_status s);

/* The sentence behind the last failure of a library call on the calling thread ("" if none).
 * Valid until the next failing call on the same thread. Thread-safe (per-thread storage). */
const char *conv1d_last_error(void);

typedef enum conv1d_layout {
    CONV1D_LAYOUT_NWC = 0, /* channels last: MAX's default */
    CONV1D_LAYOUT_NCW = 1  /* channels first: MAX's permute=True, PyTorch */
} conv1d_layout;

typedef enum conv1d_dtype {
    CONV1D_F32 = 0
} conv1d_dtype;

typedef struct conv1d_desc {
    int64_t batch;
    int64_t length;       /* input positions */
    int64_t in_channels;
    int64_t out_channels;
    int64_t kernel_size;
    int64_t stride;
    int64_t pad_left;     /* zeros before the input; MAX's padding=int sets both sides */
    int64_t pad_right;    /* zeros after the input */
    int64_t dilation;     /* 1 = dense (PyTorch/MAX convention) */
    int64_t num_groups;
    int has_bias;         /* 0 or 1 */
    conv1d_layout layout;
    conv1d_dtype dtype;
} conv1d_desc;

/* Fills *d with the defaults: stride 1, dilation 1, one group, no padding, no bias, NWC, f32; the sizes
 * (batch 1, everything else 0) must be set by the caller. Thread-safe. */
void conv1d_desc_init(conv1d_desc *d);

/* CONV1D_OK if *d describes a valid convolution, else CONV1D_INVALID_ARGUMENT with a sentence naming the
 * field and value (conv1d_last_error). Checks: positive sizes, channels divisible by groups, non-negative
 * padding, a kernel that fits in the padded input, element counts whose byte sizes fit in 63 bits, and
 * known enum values. Thread-safe. */
conv1d_status conv1d_desc_validate(const conv1d_desc *d);

/* new_length for *d, or -1 when *d is not valid (see conv1d_desc_validate). Thread-safe. */
int64_t conv1d_output_length(const conv1d_desc *d);

/* Element counts of the four tensors of a valid *d (bias: out_channels, or 0 without bias). */
int64_t conv1d_input_elems(const conv1d_desc *d);
int64_t conv1d_weight_elems(const conv1d_desc *d);
int64_t conv1d_output_elems(const conv1d_desc *d);

/*
 * Descriptors as text. conv1d_desc_parse accepts either
 *   - the canonical key=value form (MAX/PyTorch semantics), keys separated by ',' or spaces:
 *       batch=8,length=4096,in_channels=256,out_channels=256,kernel_size=3,stride=1,
 *       pad_left=1,pad_right=1,dilation=1,num_groups=1,bias=1,layout=nwc
 *     length, in_channels, out_channels and kernel_size are required; the rest default as in
 *     conv1d_desc_init. Aliases: groups=, padding=P (both sides), has_bias=. Each key at most once.
 *   - a oneDNN benchdnn 1-D convolution descriptor, read as benchdnn reads it:
 *       g1mb8ic256iw4096oc256ow4096kw3sw1pw1dw0n"name"
 *     ('_' ignored; dw0 is dense; mb defaults to 2; the right padding follows from ow).
 * The layout is taken from the text (canonical form) or left as NWC (benchdnn); a benchdnn string sets
 * no bias (has_bias 0) and its name is not kept. On failure *d is
 * unchanged and the error names the offending token. Thread-safe.
 */
conv1d_status conv1d_desc_parse(const char *text, conv1d_desc *d);

/* Longest canonical text of any descriptor with non-negative fields, NUL included. */
#define CONV1D_DESC_TEXT_MAX 320

/* Writes the canonical form of *d into buf (always NUL-terminated when size > 0). Returns the length
 * the full text needs (excluding the NUL), like snprintf; CONV1D_DESC_TEXT_MAX bytes always suffice.
 * Two descriptors are the same convolution exactly when their canonical forms are equal. Thread-safe. */
size_t conv1d_desc_format(const conv1d_desc *d, char *buf, size_t size);

/* Work and traffic of a valid *d: multiply-adds counted as 2 FLOPs; minimum bytes moved is every
 * tensor (input, weights, bias, output) read or written once. */
double conv1d_desc_flops(const conv1d_desc *d);
double conv1d_desc_min_bytes(const conv1d_desc *d);

#ifdef __cplusplus
}
#endif

#endif /* CONV1D_H */
