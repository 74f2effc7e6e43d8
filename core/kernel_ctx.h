/*
 * kernel_ctx.h: what a kernel may know of the machine, and what its caller forces, when it prepares.
 *
 * prepare() receives a context (as BLIS's kernels receive a cntx): the ISA level in effect and the cache
 * sizes it blocks for, so a variant never asks the runtime about the machine, and the blocking a test must
 * force to reach a tiling's edges is a parameter of that one prepare instead of a process-wide setting in
 * the shipped library. NULL means this machine's context with nothing forced (c1_kernel_ctx_machine()).
 */
#ifndef CONV1D_CORE_KERNEL_CTX_H
#define CONV1D_CORE_KERNEL_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "isa.h"

typedef struct c1_kernel_ctx {
    c1_isa_level isa;                      /* the effective level: a variant's own is at most this */
    int64_t l1d_bytes, l2_bytes, l3_bytes; /* one instance of each cache level, never 0 */
    /* Forced blocking, for tests (0: the family's own choice): direct {kc, ob, kbc} (input channels per
     * block, output positions per block (images per block where a tile holds images), output-channel blocks
     * per task), winograd {tiles per block, in whole tile rows of dilation tiles: at least one row},
     * fft {rows per task, output-channel parts}. */
    int64_t force_blocking[3];
    bool fft_estimate; /* FFT plans by FFTW_ESTIMATE even for the measuring variants (quick tests) */
} c1_kernel_ctx;

/* This machine's context: the effective ISA level (CONV1D_ISA applied) and cache sizes, nothing forced.
 * Discovered once per process; thread-safe; never NULL. */
const c1_kernel_ctx *c1_kernel_ctx_machine(void);

/* ctx, or this machine's for NULL. */
static inline const c1_kernel_ctx *c1_kernel_ctx_or_machine(const c1_kernel_ctx *ctx)
{
    return ctx ? ctx : c1_kernel_ctx_machine();
}

#endif
