/*
 * Internal: the variant interface. Every implementation (reference, direct, depthwise, Winograd, oneDNN,
 * CUDA, cuDNN) is one or more c1_variant entries, listed once in variants/variants.inc.
 *
 * Life of a variant on one descriptor:
 *   available()            once per process: CUDA device present, library loaded (the CPU ISA level is
 *                          the registry's check, from the isa column, before this is asked)
 *   supports(v, d)         cheap, pure: CONV1D_OK, or CONV1D_UNSUPPORTED with the reason in
 *                          conv1d_last_error() ("Winograd F(4,3) needs kernel_size 3, got 5.")
 *   prepare(v, d, ctx, w, b, &state)
 *                          once: packs/transforms the weights, creates primitives, sizes the workspace;
 *                          the caller keeps w and b only for the duration of the call; what the variant
 *                          knows of the machine (cache sizes) comes from ctx (core/kernel_ctx.h; NULL:
 *                          this machine's), and so does any blocking a test forces
 *   workspace_bytes(state) scratch memory run() needs (0 for none); the caller owns it, so one prepared
 *                          state can serve several threads, each with its own workspace
 *   run(state, x, y, ws)   the convolution; allocates nothing; x, y in d's layout (device pointers for
 *                          CUDA variants); safe to call concurrently on one state with distinct ws;
 *                          a CUDA variant's run() returns once y is written
 *   run_async(state, x, y, ws, stream)
 *                          CUDA variants only: enqueues the same work on a cudaStream_t (NULL: the legacy
 *                          default stream) and returns without waiting; launch errors are reported, errors
 *                          of the kernel itself surface at the caller's next synchronisation
 *   release(state)         frees what prepare made; NULL is a no-op
 *
 * Memory spaces: prepare's w and bias are always host memory (CUDA variants upload them); for CUDA
 * variants x, y and the workspace are device memory.
 */
#ifndef CONV1D_VARIANT_H
#define CONV1D_VARIANT_H

#include <stdbool.h>
#include <stddef.h>

#include "conv1d.h"
#include "isa.h"
#include "kernel_ctx.h"
#include "precision.h"

typedef enum c1_device {
    C1_DEVICE_CPU = 0,
    C1_DEVICE_CUDA = 1
} c1_device;


/* Up to four integer parameters of a family's parameter point (register tile, Winograd m, algorithm). */
#define C1_MAX_PARAMS 4

typedef struct c1_variant c1_variant;

typedef struct c1_variant_ops {
    bool (*available)(void); /* NULL: always available (beyond the ISA level, which the registry checks) */
    conv1d_status (*supports)(const c1_variant *v, const conv1d_desc *d);
    /* w, bias, x and y hold elements of d->dtype (float, or the raw 16 bits of bf16/f16): a variant's
     * supports() admits only the dtypes of its precision class, so each casts to the type it computes. */
    conv1d_status (*prepare)(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx, const void *w,
                             const void *bias, void **state);
    size_t (*workspace_bytes)(const void *state); /* NULL: no workspace */
    conv1d_status (*run)(const void *state, const void *x, void *y, void *workspace);
    void (*release)(void *state);
    /* CUDA variants: run() without the final wait, on the given cudaStream_t; NULL for CPU variants. */
    conv1d_status (*run_async)(const void *state, const void *x, void *y, void *workspace, void *stream);
    /* Which implementation a library chose for this state (oneDNN impl_info, cuDNN algorithm); NULL op
     * or NULL result: nothing to say. Owned by the state. */
    const char *(*impl_info)(const void *state);
} c1_variant_ops;

struct c1_variant {
    const char *name;   /* stable DB key: <family>_<params>__<isa>, e.g. direct_6x32__avx512 */
    const char *family; /* ref, direct, depthwise, winograd, onednn, cuda_tiled, ... */
    c1_device device;
    c1_precision precision;
    c1_isa_level isa; /* the CPU ISA level its code needs (variants.inc's ISA column) */
    const c1_variant_ops *ops;
    int params[C1_MAX_PARAMS];
};

/* The registry, expanded from variants/variants.inc; entry 0 is the reference. */
const c1_variant *c1_variant_list(size_t *count);
/* The variant with this exact name, or NULL. */
const c1_variant *c1_variant_find(const char *name);
/* ISA level available && available() && supports(): CONV1D_OK, or the status and sentence of the first failing test. */
conv1d_status c1_variant_applies(const c1_variant *v, const conv1d_desc *d);

const char *c1_device_name(c1_device dev);       /* "cpu", "cuda" */

#endif
