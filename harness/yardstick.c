/*
 * The yardsticks: a copy of the bytes a convolution must move at least (input read once, output written
 * once), timed through the same protocol as the variants (harness/measure.c), so "fraction of a copy"
 * compares like with like. Not convolutions: never checked. See measure.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "measure.h"

#ifdef C1_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "cuda_util.h"
#endif

typedef struct copy_state {
    size_t xb, yb;
} copy_state;

static conv1d_status copy_supports(const c1_variant *v, const conv1d_desc *d) { return CONV1D_OK; }

static conv1d_status copy_prepare(const c1_variant *v, const conv1d_desc *d, const c1_kernel_ctx *ctx,
                                  const void *w_arg, const void *b_arg, void **state)
{
    copy_state *s = malloc(sizeof *s);
    if (!s) return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the copy yardstick's state.");
    s->xb = (size_t)conv1d_input_elems(d) * conv1d_dtype_size(d->dtype); /* the bytes of any dtype */
    s->yb = (size_t)conv1d_output_elems(d) * conv1d_dtype_size(d->dtype);
    *state = s;
    return CONV1D_OK;
}

/* In 256 KiB chunks over all threads, as the kernels use all threads: memcpy of the common part, memset of
 * the rest of a longer output, a summing read of the rest of a longer input. */
static conv1d_status copy_run(const void *state, const void *x_arg, void *y_arg, void *workspace)
{
    const unsigned char *x = x_arg; /* bytes: the yardstick moves any dtype's */
    unsigned char *y = y_arg;
    const copy_state *s = state;
    const size_t common = s->xb < s->yb ? s->xb : s->yb, total = s->xb > s->yb ? s->xb : s->yb;
    const size_t chunk = 256 << 10;
    const int64_t chunks = (int64_t)((total + chunk - 1) / chunk);
    unsigned sink = 0;
#pragma omp parallel for schedule(static) reduction(+ : sink)
    for (int64_t c = 0; c < chunks; c++) {
        const size_t lo = (size_t)c * chunk, hi = lo + chunk < total ? lo + chunk : total;
        if (lo < common) memcpy((char *)y + lo, (const char *)x + lo, (hi < common ? hi : common) - lo);
        const size_t rest = lo > common ? lo : common;
        if (hi > rest && s->yb > s->xb) memset((char *)y + rest, 0, hi - rest);
        if (hi > rest && s->xb > s->yb)
            for (size_t i = rest / 2; i < hi / 2; i++) sink += ((const uint16_t *)(const void *)x)[i]; /* sizes are even */
    }
    if (sink == 12345u) y[0] = (unsigned char)sink; /* keeps the extra input reads */
    return CONV1D_OK;
}

static void copy_release(void *state) { free(state); }

static const c1_variant_ops copy_ops = {
    .supports = copy_supports, .prepare = copy_prepare, .run = copy_run, .release = copy_release};

const c1_variant c1_copy_baseline = {"copy", "baseline", C1_DEVICE_CPU, C1_PREC_FP32, C1_ISA_LEVEL_C, &copy_ops, {0}};

#ifdef C1_HAVE_CUDA
/* The GPU yardstick moves xb + yb bytes through DRAM like the CPU one: cudaMemcpyAsync of the common part
 * (read once, written once), cudaMemsetAsync of a longer output's rest (written once), and for a longer
 * input, half of its rest copied into the workspace (rest/2 read + rest/2 written = the rest's bytes), as the
 * copy engines cannot read without writing. */
static size_t copy_cuda_workspace(const void *state)
{
    const copy_state *s = state;
    return s->xb > s->yb ? ((s->xb - s->yb) / 2 + 255) / 256 * 256 : 0;
}

static conv1d_status copy_cuda_run_async(const void *state, const void *x, void *y, void *workspace, void *stream)
{
    const copy_state *s = state;
    cudaStream_t st = (cudaStream_t)stream;
    const size_t common = s->xb < s->yb ? s->xb : s->yb;
    C1_CUDA_TRY("copy", cudaMemcpyAsync(y, x, common, cudaMemcpyDeviceToDevice, st));
    if (s->yb > common) C1_CUDA_TRY("copy", cudaMemsetAsync((char *)y + common, 0, s->yb - common, st));
    if (s->xb > common) {
        const size_t half = (s->xb - common) / 2;
        if (half > 0 && workspace)
            C1_CUDA_TRY("copy", cudaMemcpyAsync(workspace, (const char *)x + common, half, cudaMemcpyDeviceToDevice,
                                                st));
    }
    return CONV1D_OK;
}

static conv1d_status copy_cuda_run(const void *state, const void *x, void *y, void *workspace)
{
    conv1d_status st = copy_cuda_run_async(state, x, y, workspace, NULL);
    if (st != CONV1D_OK) return st;
    C1_CUDA_TRY("copy", cudaStreamSynchronize(NULL));
    return CONV1D_OK;
}

static const c1_variant_ops copy_cuda_ops = {.available = c1_cuda_available,
                                             .supports = copy_supports,
                                             .prepare = copy_prepare,
                                             .workspace_bytes = copy_cuda_workspace,
                                             .run = copy_cuda_run,
                                             .release = copy_release,
                                             .run_async = copy_cuda_run_async};

static const c1_variant copy_baseline_cuda = {"copy", "baseline", C1_DEVICE_CUDA, C1_PREC_FP32, C1_ISA_LEVEL_C, &copy_cuda_ops, {0}};
#endif

const c1_variant *c1_copy_baseline_for(c1_device dev)
{
    if (dev == C1_DEVICE_CPU) return &c1_copy_baseline;
#ifdef C1_HAVE_CUDA
    if (dev == C1_DEVICE_CUDA) return &copy_baseline_cuda;
#endif
    return NULL;
}

bool c1_is_copy_baseline(const c1_variant *v)
{
#ifdef C1_HAVE_CUDA
    if (v == &copy_baseline_cuda) return true;
#endif
    return v == &c1_copy_baseline;
}
