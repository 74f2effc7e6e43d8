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

/* Marks the library's public functions: the shared library exports these and nothing else (it is built
 * with -fvisibility=hidden). */
#if defined(__GNUC__) || defined(__clang__)
#define CONV1D_API __attribute__((visibility("default")))
#else
#define CONV1D_API
#endif

#define CONV1D_VERSION_MAJOR 0
#define CONV1D_VERSION_MINOR 1
#define CONV1D_VERSION_PATCH 0
#define CONV1D_VERSION_NUMBER \
    (CONV1D_VERSION_MAJOR * 10000 + CONV1D_VERSION_MINOR * 100 + CONV1D_VERSION_PATCH)

/* The version the library was built as; compare with CONV1D_VERSION_NUMBER to detect a header/library
 * mismatch. Thread-safe. */
CONV1D_API unsigned conv1d_version_number(void);
/* "MAJOR.MINOR.PATCH", static storage. Thread-safe. */
CONV1D_API const char *conv1d_version_string(void);

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
CONV1D_API const char *conv1d_status_string(conv1d_status s);

/* The sentence behind the last failure of a library call on the calling thread ("" if none).
 * Valid until the next failing call on the same thread. Thread-safe (per-thread storage). */
CONV1D_API const char *conv1d_last_error(void);

typedef enum conv1d_layout {
    CONV1D_LAYOUT_NWC = 0, /* channels last: MAX's default */
    CONV1D_LAYOUT_NCW = 1  /* channels first: MAX's permute=True, PyTorch */
} conv1d_layout;

/* The element type of x, w, bias and y alike (MAX's dtype). The 16-bit types are accumulated in float32 and
 * rounded once, to nearest even, at the output, as MAX and PyTorch do on a CPU. */
typedef enum conv1d_dtype {
    CONV1D_F32 = 0,  /* float32 */
    CONV1D_BF16 = 1, /* bfloat16: float32's exponent, 7 mantissa bits (the raw 16 bits, as ml_dtypes stores it) */
    CONV1D_F16 = 2   /* IEEE 754 binary16 (NumPy's float16) */
} conv1d_dtype;

/* Bytes per element of a dtype (4 or 2); 0 for a value that is not a conv1d_dtype. Thread-safe. */
CONV1D_API size_t conv1d_dtype_size(conv1d_dtype t);
/* "f32", "bf16", "f16"; NULL for a value that is not a conv1d_dtype. Thread-safe. */
CONV1D_API const char *conv1d_dtype_name(conv1d_dtype t);

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
CONV1D_API void conv1d_desc_init(conv1d_desc *d);

/* CONV1D_OK if *d describes a valid convolution, else CONV1D_INVALID_ARGUMENT with a sentence naming the
 * field and value (conv1d_last_error). Checks: positive sizes, channels divisible by groups, non-negative
 * padding, a kernel that fits in the padded input, element counts whose byte sizes fit in 63 bits, and
 * known enum values. Thread-safe. */
CONV1D_API conv1d_status conv1d_desc_validate(const conv1d_desc *d);

/* new_length for *d, or -1 when *d is not valid (see conv1d_desc_validate). Thread-safe. */
CONV1D_API int64_t conv1d_output_length(const conv1d_desc *d);

/* Element counts of the four tensors of a valid *d (bias: out_channels, or 0 without bias). */
CONV1D_API int64_t conv1d_input_elems(const conv1d_desc *d);
CONV1D_API int64_t conv1d_weight_elems(const conv1d_desc *d);
CONV1D_API int64_t conv1d_output_elems(const conv1d_desc *d);

/*
 * Descriptors as text. conv1d_desc_parse accepts either
 *   - the canonical key=value form (MAX/PyTorch semantics), keys separated by ',' or spaces:
 *       batch=8,length=4096,in_channels=256,out_channels=256,kernel_size=3,stride=1,
 *       pad_left=1,pad_right=1,dilation=1,num_groups=1,bias=1,layout=nwc,dtype=bf16
 *     length, in_channels, out_channels and kernel_size are required; dtype is f32, bf16 or f16 (MAX's
 *     names float32, bfloat16 and float16 too) and is written only when it is not f32; the rest default as in
 *     conv1d_desc_init. Aliases: groups=, padding=P (both sides), has_bias=. Each key at most once.
 *   - a oneDNN benchdnn 1-D convolution descriptor, read as benchdnn reads it:
 *       g1mb8ic256iw4096oc256ow4096kw3sw1pw1dw0n"name"
 *     ('_' ignored; dw0 is dense; mb defaults to 2; the right padding follows from ow).
 * The layout is taken from the text (canonical form) or left as NWC (benchdnn); a benchdnn string sets
 * no bias (has_bias 0) and its name is not kept. On failure *d is
 * unchanged and the error names the offending token. Thread-safe.
 */
CONV1D_API conv1d_status conv1d_desc_parse(const char *text, conv1d_desc *d);

/* Longest canonical text of any descriptor with non-negative fields, NUL included. */
#define CONV1D_DESC_TEXT_MAX 320

/* Writes the canonical form of *d into buf (always NUL-terminated when size > 0). Returns the length
 * the full text needs (excluding the NUL), like snprintf; CONV1D_DESC_TEXT_MAX bytes always suffice.
 * Two descriptors are the same convolution exactly when their canonical forms are equal. Thread-safe. */
CONV1D_API size_t conv1d_desc_format(const conv1d_desc *d, char *buf, size_t size);

/* Work and traffic of a valid *d: multiply-adds counted as 2 FLOPs; minimum bytes moved is every
 * tensor (input, weights, bias, output) read or written once, in its dtype's size. */
CONV1D_API double conv1d_desc_flops(const conv1d_desc *d);
CONV1D_API double conv1d_desc_min_bytes(const conv1d_desc *d);

/*
 * Plans: the tuned dispatcher.
 *
 *   conv1d_options o;  conv1d_options_init(&o);          (optional: NULL options mean the defaults)
 *   conv1d_plan *p;    conv1d_plan_create(&p, &desc, &o); chooses the implementation (see below)
 *   conv1d_plan_set_weights(p, w, bias);                   packs the weights once
 *   conv1d_execute(p, x, y);                               as often as needed, from any number of threads
 *   conv1d_plan_destroy(p);
 *
 * How conv1d_plan_create chooses, first match wins:
 *   1. the environment variable CONV1D_VARIANT=name forces that variant (an error if it is unknown or does
 *      not apply to the descriptor);
 *   2. the table compiled into the library by `make TUNED=tuned.c` (see `conv1d-tune export`): the exact
 *      shape, on the same machine fingerprint and library build;
 *   3. the results database (options.db_path, else $CONV1D_DB, else results/conv1d.db): the winner stored
 *      for this machine fingerprint and library build for the exact shape, device and the dtype's precision
 *      class (a bf16 plan only ever gets a bf16 variant, an f32 plan an fp32 one);
 *   4. the same database's tuned shapes nearest this one, of the same layout and kind (dense, grouped or
 *      depthwise; distance in runtime/lookup.h): the applicable variant whose times there were closest to
 *      each shape's best (weighted geometric mean), then the time models fitted from the database;
 *   5. built-in rules (runtime/lookup.h): depthwise kernels for depthwise shapes, Winograd tiles for wide
 *      stride-1 k=3/5/7 layers, AVX-512 or AVX2 direct tiles for other dense shapes, oneDNN for grouped ones
 *      (bf16 and f16 plans: the native 16-bit depthwise and direct kernels, then oneDNN of the class);
 *      CUDA plans: a cuda_depthwise or cuda_smem variant, then cuDNN, never a CPU variant;
 *   6. the reference implementation.
 * Steps 3-4 are skipped in CONV1D_MODE_ESTIMATE; CONV1D_MODE_MEASURE replaces steps 4-6 by a quick tune.
 * A missing, locked, corrupt or foreign database never makes plan creation fail: the choice falls through, and conv1d_plan_explain() says why. With CONV1D_VERBOSE=1
 * in the environment the decision is also written to stderr, one line per plan: the only output the
 * library ever produces.
 */

typedef enum conv1d_device {
    CONV1D_DEVICE_CPU = 0, /* x, y: host memory */
    CONV1D_DEVICE_CUDA = 1 /* x, y: CUDA device memory; needs a CUDA build with a CUDA variant */
} conv1d_device;

typedef enum conv1d_mode {
    CONV1D_MODE_DB = 0,      /* exported table, results database, then rules (the default) */
    CONV1D_MODE_MEASURE = 1, /* as CONV1D_MODE_DB, but a shape without an exact winner is tuned at plan
                                time (CPU only): the lookup's choice, the rules' choice, oneDNN, the
                                variants that did best on the tuned shapes nearby and in the time models,
                                and those that won other shapes on this machine are checked and timed (about
                                0.1 s each), and the fastest is stored in the database (created if
                                missing) for the next plan. A quick tune: `conv1d-tune sweep` is thorough */
    CONV1D_MODE_ESTIMATE = 2 /* exported table and rules only: never opens a database */
} conv1d_mode;

typedef struct conv1d_options {
    const char *db_path;  /* NULL: $CONV1D_DB if set and non-empty, else results/conv1d.db; only
                             CONV1D_MODE_MEASURE writes to it */
    int threads;          /* > 0: OpenMP threads used by each execute; 0: the caller's OpenMP default */
    conv1d_device device;
    conv1d_mode mode;
    void *cuda_stream;    /* CONV1D_DEVICE_CUDA: the cudaStream_t every execute of the plan enqueues its work
                             on and then synchronizes (NULL: the legacy default stream); the caller keeps the
                             stream alive as long as the plan. Ignored on the CPU */
} conv1d_options;

/* Fills *o with the defaults: db_path NULL, threads 0, CPU, CONV1D_MODE_DB, cuda_stream NULL.
 * CONV1D_INVALID_ARGUMENT when o is NULL. Thread-safe. */
CONV1D_API conv1d_status conv1d_options_init(conv1d_options *o);

/* A prepared convolution: the chosen variant, its packed weights and a pool of workspaces. Opaque. */
typedef struct conv1d_plan conv1d_plan;

/* Validates *d, chooses a variant (see above) and returns a new plan in *plan (NULL on failure). d and o
 * are read during the call only; o may be NULL (defaults) and db_path is not kept. Fails only for an
 * invalid descriptor or options, a forced variant that is unknown or does not apply, an unsupported
 * device or mode, or out of memory. Takes milliseconds (machine fingerprint once per process, database
 * lookup; CONV1D_MODE_MEASURE on an untuned shape: up to a few seconds). Thread-safe: plans may be created
 * concurrently. The caller owns the plan (conv1d_plan_destroy). */
CONV1D_API conv1d_status conv1d_plan_create(conv1d_plan **plan, const conv1d_desc *d, const conv1d_options *o);

/* Packs the weights (layout as in the descriptor) and bias (out_channels values, required when the descriptor
 * has_bias, else ignored; NULL ok without bias) into the plan, replacing any earlier ones, and
 * allocates the plan's workspaces. w and bias are host memory, read during the call only. Not thread-safe
 * on one plan: no conv1d_execute on this plan may run during the call. Elements are of the descriptor's dtype:
 * float, or the raw 16 bits of bfloat16/float16 (as uint16_t, NumPy's float16 or ml_dtypes' bfloat16 hold them). */
CONV1D_API conv1d_status conv1d_plan_set_weights(conv1d_plan *plan, const void *w, const void *bias);

/* y = conv1d(x, weights) [+ bias], x and y in the descriptor's layout and dtype (device memory for
 * CONV1D_DEVICE_CUDA); 16-bit plans accumulate in float32 and round each output once. Allocates nothing.
 * Thread-safe on one plan: concurrent calls each claim one of the plan's workspaces (one per core, at least one; lock-free); a call that finds all of them busy yields the
 * processor until one is free, so more concurrent callers than cores wait rather than allocate. Fails
 * (CONV1D_INVALID_ARGUMENT) before set_weights or with NULL pointers. y must not overlap x. On CUDA the
 * call returns when y is written (it synchronizes options.cuda_stream). */
CONV1D_API conv1d_status conv1d_execute(const conv1d_plan *plan, const void *x, void *y);

/* The chosen variant's stable name ("direct_8x48__avx512"), owned by the library; "" for NULL.
 * Thread-safe. */
CONV1D_API const char *conv1d_plan_variant(const conv1d_plan *plan);

/* One or two sentences saying why that variant was chosen ("exact winner from DB ...", "nearest tuned
 * shape ... at distance ...", "heuristic: depthwise", "DB unusable: <reason>; heuristic: ..."). Owned by
 * the plan, valid until it is destroyed; "" for NULL. Thread-safe. */
CONV1D_API const char *conv1d_plan_explain(const conv1d_plan *plan);

/* Frees the plan and everything it owns; NULL is a no-op. No execute on it may be running. */
CONV1D_API void conv1d_plan_destroy(conv1d_plan *plan);

#ifdef __cplusplus
}
#endif

#endif /* CONV1D_H */
